package transform

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// parseTime parses the timestamp shapes seen in AWS and application logs.
// A time that parses to Go's zero time (0001-01-01T00:00:00Z, what some
// producers write for "unset") comes back one nanosecond later: it stays a
// time the record gave, which the decoder refuses as implausible, rather
// than looking like no time at all.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return given(t), true
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return given(t), true
		}
	}
	return epochText(s)
}

func given(t time.Time) time.Time {
	t = t.UTC()
	if t.IsZero() {
		return t.Add(time.Nanosecond)
	}
	return t
}

var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-0700",
	"2006-01-02 15:04:05.999999999",
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	time.RFC850,
	time.ANSIC,
}

// epochTime reads a number as seconds, milliseconds, microseconds or
// nanoseconds since the epoch, by magnitude.
func epochTime(n float64) (time.Time, bool) {
	switch {
	case n <= 0:
		return time.Time{}, false
	case n < 1e11:
		sec := math.Floor(n)
		return time.Unix(int64(sec), int64((n-sec)*1e9)).UTC(), true
	case n < 1e14:
		return time.UnixMilli(int64(n)).UTC(), true
	case n < 1e17:
		return time.UnixMicro(int64(n)).UTC(), true
	case n < 9.2e18:
		return time.Unix(0, int64(n)).UTC(), true
	}
	return time.Time{}, false
}

// timeValue parses a raw JSON time value (string or epoch number).
func timeValue(raw []byte) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		return parseTime(str(raw))
	}
	return epochText(string(raw))
}

// epochText reads epoch seconds/ms/us/ns text; integers exactly.
func epochText(s string) (time.Time, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case i <= 0:
			return time.Time{}, false
		case i < 1e11:
			return time.Unix(i, 0).UTC(), true
		case i < 1e14:
			return time.UnixMilli(i).UTC(), true
		case i < 1e17:
			return time.UnixMicro(i).UTC(), true
		}
		return time.Unix(0, i).UTC(), true
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return epochTime(n)
}
