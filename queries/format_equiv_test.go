package queries

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// awkward are values of every type a result carries, with the text that
// trips writers: quotes, separators, newlines, control characters, invalid
// UTF-8, U+2028, leading spaces, NaN and infinities, far times.
func awkward() []any {
	tz := time.FixedZone("x", -7*3600)
	return []any{
		nil, "", "plain", `say "hi"`, "a,b", "line\nbreak", "cr\rlf\r\n", "tab\there", " lead", "\u00a0nbsp lead",
		`\.`, `\`, `back\slash`, "ctl \x00\x01\x08\x0c\x1f\x7f end", "<a href='x'>&amp;</a>", "a -> b",
		"ünïcødé 日本 🚀", "sep \u2028 \u2029", "bad \xff\xfe utf8", "\xc3", "\t\n",
		int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 42, int32(-7), int16(300), int8(-8),
		uint64(math.MaxUint64), uint32(7), uint16(65535), uint8(255),
		true, false,
		0.0, math.Copysign(0, -1), 0.75, -123.456, 1e-7, 1e-6, 1e20, 1e21, 123456789012345678901234.0, 5e-324,
		math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 1.0 / 3,
		float32(0.1), float32(1e-7), float32(3e21), float32(-2.5),
		time.Time{}, time.Date(2025, 10, 20, 10, 3, 0, 0, time.UTC), time.Date(2025, 10, 20, 10, 3, 4, 123456789, tz),
		time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		[]byte("bytes \"q\""), []byte{0xff, 0x00, 'a'}, []byte{},
		[]string(nil), []string{}, []string{"checkout", "api"}, []string{`q"uote`, "new\nline", ""},
		[]any(nil), []any{}, []any{int64(1), "two", nil, 3.5, math.NaN(), time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), []any{"nested", true}},
		map[string]any(nil), map[string]any{}, map[string]any{"b": int64(2), "a": "x\"y", "z": nil, "t": time.Time{}, "n": map[string]any{"k": []any{1.5}}, "<&>": "html"},
		map[string]float64{"p95": 0.5, "a<b": 1e-9},
		big.NewInt(0).Lsh(big.NewInt(1), 100),
		duckdb.Interval{Days: 1, Months: 2, Micros: 3},
		duckdb.UUID{1, 2, 3},
		struct{ A int }{A: 1},
	}
}

// TestWriteMatchesReference writes the awkward values in every format with
// the writers and with the reference (the writers before part 9) and wants
// the same bytes: one value per row, then all of them in one wide row.
func TestWriteMatchesReference(t *testing.T) {
	vals := awkward()
	tb := Table{Columns: []string{"v", `we"ird, "name`, "x\ny"}}
	for i, v := range vals {
		tb.Rows = append(tb.Rows, []any{v, fmt.Sprint(i), vals[(i+7)%len(vals)]})
	}
	wide := Table{Rows: [][]any{vals, vals}}
	for i := range vals {
		wide.Columns = append(wide.Columns, fmt.Sprintf("c%d", i))
	}
	empty := Table{Columns: []string{"a", "b"}}
	cut := tb
	cut.Truncated, cut.TruncatedBy = true, CapBytes
	for _, format := range []string{"table", "csv", "json"} {
		for name, tt := range map[string]Table{"rows": tb, "wide": wide, "empty": empty, "cut": cut} {
			var got, want bytes.Buffer
			gerr := Write(&got, tt, format)
			werr := refWrite(&want, tt, format)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s %s: error %v, reference %v", format, name, gerr, werr)
			}
			if got.String() != want.String() {
				t.Errorf("%s %s: output differs from the reference\n got %q\nwant %q", format, name, got.String(), want.String())
			}
		}
	}
}

// TestWriteJSONErrorsMatchReference: values JSON cannot hold fail the row
// with the reference's message.
func TestWriteJSONErrorsMatchReference(t *testing.T) {
	for _, v := range []any{float32(math.NaN()), []any{float32(math.Inf(1))}, map[string]float64{"x": math.NaN()}, map[string]any{"k": float32(math.NaN())}} {
		tb := Table{Columns: []string{"v"}, Rows: [][]any{{"ok"}, {v}}}
		var got, want bytes.Buffer
		gerr := Write(&got, tb, "json")
		werr := refWrite(&want, tb, "json")
		if gerr == nil || werr == nil || gerr.Error() != werr.Error() {
			t.Errorf("%#v: error %v, reference %v", v, gerr, werr)
		}
	}
}

// FuzzWriteString: any string is written as the reference writes it, in
// every format.
func FuzzWriteString(f *testing.F) {
	for _, v := range awkward() {
		if s, ok := v.(string); ok {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		tb := Table{Columns: []string{s}, Rows: [][]any{{s, []byte(s), []string{s, s}, map[string]any{s: s}}}}
		tb.Columns = append(tb.Columns, "b", "l", "m")
		for _, format := range []string{"table", "csv", "json"} {
			var got, want bytes.Buffer
			gerr := Write(&got, tb, format)
			werr := refWrite(&want, tb, format)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || got.String() != want.String() {
				t.Fatalf("%s %q:\n got %q %v\nwant %q %v", format, s, got.String(), gerr, want.String(), werr)
			}
		}
	})
}

// FuzzWriteFloat: any float is written as the reference writes it.
func FuzzWriteFloat(f *testing.F) {
	for _, x := range []float64{0, 1e-7, 1e21, 0.1, math.MaxFloat64, 5e-324} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		tb := Table{Columns: []string{"f64", "f32"}, Rows: [][]any{{x, float32(x)}}}
		for _, format := range []string{"table", "csv", "json"} {
			var got, want bytes.Buffer
			gerr := Write(&got, tb, format)
			werr := refWrite(&want, tb, format)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || got.String() != want.String() {
				t.Fatalf("%s %v:\n got %q %v\nwant %q %v", format, x, got.String(), gerr, want.String(), werr)
			}
		}
	})
}

// seriesShaped is a result shaped like the series named query: n rows of
// service, region, minute, errors, events.
func seriesShaped(n int) Table {
	t := Table{Columns: []string{"service", "region", "minute", "errors", "events"}, Rows: make([][]any, n)}
	services := []string{"checkout", "payments-api", "search", "auth", "inventory", "cart", "shipping"}
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1"}
	start := time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)
	for i := range t.Rows {
		t.Rows[i] = []any{services[i%len(services)], regions[(i/7)%len(regions)], start.Add(time.Duration(i/21) * time.Minute), int64(i % 13), int64(1000 + i%997)}
	}
	return t
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkWrite writes a 400k-row series-shaped result in each format;
// "ref" is the writers before issue 19 part 9.
func BenchmarkWrite(b *testing.B) {
	tb := seriesShaped(400_000)
	for _, format := range []string{"json", "csv", "table"} {
		for _, impl := range []string{"new", "ref"} {
			b.Run(format+"/"+impl, func(b *testing.B) {
				b.ReportAllocs()
				var size int64
				for b.Loop() {
					w := &countWriter{}
					var err error
					if impl == "new" {
						err = Write(w, tb, format)
					} else {
						err = refWrite(w, tb, format)
					}
					if err != nil {
						b.Fatal(err)
					}
					size = w.n
				}
				b.SetBytes(size)
			})
		}
	}
}
