package transform

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestLimitsAndPolicies(t *testing.T) {
	bomb := gzipBytes(t, append(append([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[],"pad":"`), bytes.Repeat([]byte("A"), 8<<20)...), `"}`...))
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65)
	okDepth := strings.Repeat(`{"a":`, 60) + "1" + strings.Repeat("}", 60)
	invalid := []byte(`{"service":"api","level":"error","message":"bad ` + "\xff\xfe" + ` bytes"}`)
	tests := []struct {
		name   string
		mod    func(*Config)
		format Format
		in     []byte
		events int
		reason string // of the only dead letter, "" for none
	}{
		{"oversize", func(c *Config) { c.MaxMessageBytes = 100 }, FormatAuto, bytes.Repeat([]byte("x"), 200), 0, ReasonTooLarge},
		{"gzip bomb (size)", func(c *Config) { c.MaxDecompressedBytes = 1 << 20; c.MaxDecompressionRatio = 1 << 20 }, FormatCloudWatch, bomb, 0, ReasonDecompressLimit},
		{"gzip bomb (ratio)", nil, FormatAuto, bomb, 0, ReasonDecompressLimit},
		{"within limits", nil, FormatCloudWatch, gzipBytes(t, []byte(cwPayload("/g/x", cwEvent("1", "ok")))), 1, ""},
		{"deep array", nil, FormatAuto, []byte(deep), 0, ReasonTooDeep},
		{"deep object", nil, FormatApp, []byte(deepObj), 0, ReasonTooDeep},
		{"depth at the limit", nil, FormatApp, []byte(okDepth), 1, ""},
		{"deep JSON inside a log event", nil, FormatCloudWatch, []byte(cwPayload("/g/x", cwEvent("1", deep))), 1, ""},
		{"deep invokingEvent", nil, FormatAWSEvents, []byte(`{"invokingEvent":` + strconvQuote(deep) + `,"configRuleName":"r"}`), 0, ReasonTooDeep},
		{"invalid utf-8 replaced", nil, FormatApp, invalid, 1, ""},
		{"invalid utf-8 rejected", func(c *Config) { c.InvalidUTF8 = "reject" }, FormatApp, invalid, 0, ReasonInvalidUTF8},
		{"invalid utf-8 inside gzip rejected", func(c *Config) { c.InvalidUTF8 = "reject" }, FormatAuto, gzipBytes(t, invalid), 0, ReasonInvalidUTF8},
		{"truncated", nil, FormatAuto, []byte(`{"Records":[{"eventVersion":"1.08","eventSource":"ec2.amazonaws.com"`), 0, ReasonInvalidJSON},
		{"trailing garbage", nil, FormatApp, []byte(`{"service":"a"} }`), 1, ReasonInvalidJSON},
		{"empty", nil, FormatAuto, nil, 0, ReasonEmpty},
		{"whitespace", nil, FormatCloudTrail, []byte("\n\t "), 0, ReasonEmpty},
		{"corrupt gzip", nil, FormatAuto, append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 30)...), 0, ReasonDecompress},
		{"bad base64", nil, FormatAuto, []byte("QUJD$$$$RUZH"), 0, ReasonInvalidJSON},
		{"base64 of garbage", nil, FormatCloudWatch, []byte(base64.StdEncoding.EncodeToString([]byte("hello world, not json"))), 0, ReasonInvalidJSON},
		{"unknown format", nil, Format("xml"), []byte(`{}`), 0, ReasonUnknownFormat},
		{"text that looks like a zlib header", nil, FormatAuto, []byte("x^ marks the spot"), 0, ReasonInvalidJSON},
		{"text starting with x and a space", nil, FormatApp, []byte("x = 1"), 0, ReasonInvalidJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestDecoder(t, tc.mod)
			r := decode(t, d, tc.format, tc.in)
			if len(r.Events) != tc.events {
				t.Fatalf("%d events, want %d; dead %+v", len(r.Events), tc.events, r.DeadLetters)
			}
			switch {
			case tc.reason == "" && len(r.DeadLetters) != 0:
				t.Fatalf("unexpected dead letters %+v", r.DeadLetters)
			case tc.reason != "" && (len(r.DeadLetters) != 1 || r.DeadLetters[0].Reason != tc.reason):
				t.Fatalf("dead letters %+v, want one %s", r.DeadLetters, tc.reason)
			}
		})
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestInvalidUTF8Replaced(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatApp, []byte(`{"service":"api","message":"bad `+"\xff"+` bytes","extra":"`+"\xc3"+`"}`))
	if len(r.Events) != 1 || r.Events[0].Message != "bad \uFFFD bytes" || !utf8.ValidString(r.Events[0].Attributes) {
		t.Fatalf("%+v", r.Events)
	}
}

func TestDeadLetterKeepsTheRecordAsReceived(t *testing.T) {
	d := newTestDecoder(t, nil)
	in := []byte(base64.StdEncoding.EncodeToString([]byte("hello world, not json")))
	r := decode(t, d, FormatCloudWatch, in)
	if len(r.DeadLetters) != 1 || string(r.DeadLetters[0].Raw) != string(in) {
		t.Fatalf("%+v", r.DeadLetters)
	}
}

func TestLoneSurrogatesReplaced(t *testing.T) {
	d := newTestDecoder(t, nil)
	r := decode(t, d, FormatApp, []byte(`{"service":"a","x":"\ud800 and \uDC00","ok":"\ud83d\ude00","esc":"\\ud800"}`))
	if len(r.Events) != 1 {
		t.Fatalf("%+v", r)
	}
	if want := `{"x":"\ufffd and \ufffd","ok":"\ud83d\ude00","esc":"\\ud800"}`; r.Events[0].Attributes != want {
		t.Fatalf("attributes %s, want %s", r.Events[0].Attributes, want)
	}
}

func TestDeadLetterRawCappedWithLineage(t *testing.T) {
	d := newTestDecoder(t, func(c *Config) { c.MaxMessageBytes = 100; c.DeadLetterMaxRawBytes = 10 })
	var r Result
	in := Input{Format: FormatApp, Value: bytes.Repeat([]byte("y"), 150), Lineage: Lineage{Topic: "app", Partition: 3, Offset: 99}}
	d.Decode(in, observedAt, &r)
	dl := r.DeadLetters[0]
	if len(dl.Raw) != 10 || dl.RawSize != 150 || dl.Topic != "app" || dl.Partition != 3 || dl.Offset != 99 || dl.Format != FormatApp ||
		!strings.Contains(dl.Message, "max_message_bytes") {
		t.Fatalf("%+v", dl)
	}
	// Decode must not retain in.Value: mutate it and check the dead letter.
	in.Value[0] = 'z'
	if dl.Raw[0] != 'y' {
		t.Fatal("dead letter aliases the input")
	}
}

// A record without a time takes its Kafka message's or file's; with
// neither it is a dead letter, never stamped with the moment of decoding.
func TestEventTimeFallback(t *testing.T) {
	d := newTestDecoder(t, nil)
	var r Result
	kafkaTime := time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))
	d.Decode(Input{Format: FormatApp, Value: []byte(`{"service":"a"}`), Time: kafkaTime}, observedAt, &r)
	d.Decode(Input{Format: FormatApp, Value: []byte(`{"service":"a"}`)}, observedAt, &r)
	if len(r.Events) != 1 || !r.Events[0].Time.Equal(kafkaTime) || r.Events[0].Time.Location() != time.UTC {
		t.Fatalf("events %+v", r.Events)
	}
	if len(r.DeadLetters) != 1 || r.DeadLetters[0].Reason != ReasonMissingField || !strings.Contains(r.DeadLetters[0].Message, "no time") {
		t.Fatalf("a record with no time and an input with none: %+v", r.DeadLetters)
	}
}

// Times before 1970 (0001-01-01 included: "unset" for many producers) or
// further ahead than transform.max_future_skew are dead letters with the
// reason implausible_time, in every format; times inside the skew pass, and
// AWS Health scheduled changes may be announced up to a year ahead.
func TestImplausibleTimes(t *testing.T) {
	d := newTestDecoder(t, nil) // max_future_skew 1h
	ct := func(id, when string) string {
		return `{"eventVersion":"1.08","eventTime":"` + when + `","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","eventID":"` + id + `"}`
	}
	soon := observedAt.Add(30 * time.Minute).Format(time.RFC3339)
	late := observedAt.Add(2 * time.Hour).Format(time.RFC3339)
	cases := []struct {
		name   string
		format Format
		rec    string
		dead   bool
	}{
		{"cloudtrail 0001", FormatCloudTrail, ct("zero", "0001-01-01T00:00:00Z"), true},
		{"cloudtrail 1969", FormatCloudTrail, ct("old", "1969-12-31T23:59:59Z"), true},
		{"cloudtrail 9999", FormatCloudTrail, ct("far", "9999-12-31T23:59:59Z"), true},
		{"cloudtrail 2099", FormatCloudTrail, ct("y2099", "2099-01-01T00:00:00Z"), true},
		{"cloudtrail 2h ahead", FormatCloudTrail, ct("late", late), true},
		{"cloudtrail 30m ahead", FormatCloudTrail, ct("soon", soon), false},
		{"cloudtrail epoch", FormatCloudTrail, ct("epoch", "1970-01-01T00:00:00Z"), false},
		{"app 2099", FormatApp, `{"time":"2099-05-01T00:00:00Z","service":"a","level":"error"}`, true},
		{"app 0001", FormatApp, `{"time":"0001-01-01T00:00:00Z","service":"a","level":"error"}`, true},
		{"app epoch ms far ahead", FormatApp, `{"time":4102444800000,"service":"a","level":"error"}`, true},
		{"cloudwatch 2099", FormatCloudWatch, `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/a","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":4102444800000,"message":"ERROR boom"}]}`, true},
		{"health scheduled change in 3 months", FormatAWSEvents, `{"version":"0","id":"h1","detail-type":"AWS Health Event","source":"aws.health","account":"1","time":"` + observedAt.Format(time.RFC3339) + `","region":"us-east-1","resources":[],"detail":{"service":"EC2","eventTypeCode":"AWS_EC2_MAINTENANCE_SCHEDULED","eventTypeCategory":"scheduledChange","startTime":"` + observedAt.AddDate(0, 3, 0).Format(time.RFC1123) + `"}}`, false},
		{"health issue in 3 months", FormatAWSEvents, `{"version":"0","id":"h2","detail-type":"AWS Health Event","source":"aws.health","account":"1","time":"` + observedAt.Format(time.RFC3339) + `","region":"us-east-1","resources":[],"detail":{"service":"EC2","eventTypeCode":"AWS_EC2_OPERATIONAL_ISSUE","eventTypeCategory":"issue","startTime":"` + observedAt.AddDate(0, 3, 0).Format(time.RFC1123) + `"}}`, true},
	}
	for _, c := range cases {
		r := decode(t, d, c.format, []byte(c.rec))
		if c.dead {
			if len(r.Events) != 0 || len(r.DeadLetters) != 1 || r.DeadLetters[0].Reason != ReasonImplausibleTime {
				t.Errorf("%s: events %d, dead letters %+v; want one implausible_time dead letter", c.name, len(r.Events), r.DeadLetters)
			}
			continue
		}
		if len(r.Events) != 1 || len(r.DeadLetters) != 0 {
			t.Errorf("%s: events %d, dead letters %+v; want the event", c.name, len(r.Events), r.DeadLetters)
		}
	}
	// The skew is configurable.
	d2 := newTestDecoder(t, func(c *Config) { c.MaxFutureSkew = 3 * time.Hour })
	if r := decode(t, d2, FormatCloudTrail, []byte(ct("late", late))); len(r.Events) != 1 {
		t.Errorf("2h ahead with max_future_skew 3h: %+v", r.DeadLetters)
	}
}

// allSamples returns every file of testdata/samples except docs.
func allSamples(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join("testdata", "samples"), func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.HasPrefix(de.Name(), "LICENSE") || strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEverySampleDecodesWithAuto(t *testing.T) {
	d := newTestDecoder(t, nil)
	total := 0
	for p, b := range allSamples(t) {
		r := decode(t, d, FormatAuto, b)
		if len(r.DeadLetters) != 0 || len(r.Events) == 0 {
			t.Errorf("%s: %d events, dead %+v", p, len(r.Events), r.DeadLetters)
		}
		total += len(r.Events)
	}
	// 203 CloudTrail records, 2 CloudWatch log events, 7 AWS events, 15
	// Google Cloud log entries, 8 Azure records.
	if total != 235 {
		t.Fatalf("%d events from the samples, want 235", total)
	}
}

func TestDecodeConcurrent(t *testing.T) {
	d := newTestDecoder(t, nil)
	samples := allSamples(t)
	want := map[string]*Result{}
	for p, b := range samples {
		want[p] = decode(t, d, FormatAuto, b)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p, b := range samples {
				var r Result
				d.Decode(Input{Format: FormatAuto, Value: b, Lineage: Lineage{File: "test", Offset: 7}}, observedAt, &r)
				if !reflect.DeepEqual(r.Events, want[p].Events) {
					errs <- p
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for p := range errs {
		t.Errorf("concurrent decode of %s differs", p)
	}
}

func TestScanValueMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+3`, `01`, `1.`, `.5`, `-`, `"\u12"`, `"\u1234"`, `"a\x"`, "\"\x01\"", `[1,]`, `{"a":1,}`, `{"a" 1}`,
		`{"a":[true,false,null]}`, `tru`, `nul`, `[1 2]`, `{"a":{"b":[{}]}}`, `"\/\b\f\n\r\t\\\""`, `1e5`, `1E-5`, `-01`, `{,}`, `{"a":1"b":2}`,
	} {
		end, err := scanValue([]byte(in), 0, 100)
		ours := err == nil && skipWS([]byte(in), end) == len(in)
		if ours != json.Valid([]byte(in)) {
			t.Errorf("%q: scanValue valid=%v, encoding/json valid=%v (%v)", in, ours, !ours, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.MaxJSONDepth = 0
	c.InvalidUTF8 = "drop"
	c.Catalogue = []CatalogueEntry{{Operation: "", Risk: "extreme"}}
	err := c.Validate()
	for _, want := range []string{"transform.max_json_depth", "transform.invalid_utf8", "transform.catalogue[0].operation", "transform.catalogue[0].risk"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if _, err := NewDecoder(c); err == nil {
		t.Fatal("NewDecoder accepted an invalid config")
	}
}

func ExampleDecoder_Decode() {
	d, _ := NewDecoder(DefaultConfig())
	var r Result
	d.Decode(Input{Format: FormatAuto, Value: []byte(`{"time":"2025-10-20T07:12:03Z","service":"checkout","level":"error","error.type":"Timeout"}`)}, time.Now(), &r)
	fmt.Println(len(r.Events), r.Events[0].Kind, r.Events[0].Service, r.Events[0].ErrorCode)
	// Output: 1 error checkout Timeout
}

func TestPanicSite(t *testing.T) {
	var site string
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
			site = panicSite(debug.Stack())
		}()
		panic("deliberate")
	}()
	if !strings.Contains(site, "transform.TestPanicSite") || !strings.Contains(site, "decoder_test.go:") {
		t.Fatalf("panic site %q", site)
	}
}

func TestEpochTimes(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1715688000":          time.Unix(1715688000, 0),
		"1715688000.5":        time.Unix(1715688000, 5e8),
		"1715688000123":       time.UnixMilli(1715688000123),
		"1715688000123456":    time.UnixMicro(1715688000123456),
		"1715688000123456789": time.Unix(0, 1715688000123456789),
		"99999999999":         time.Unix(99999999999, 0),
	} {
		got, ok := timeValue([]byte(in))
		if !ok || !got.Equal(want) {
			t.Errorf("timeValue(%s) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"0", "-5", "1e400", `"yesterday"`, "null"} {
		if _, ok := timeValue([]byte(in)); ok {
			t.Errorf("timeValue(%s) accepted", in)
		}
	}
	for in, want := range map[string]time.Time{
		"2024-02-17T11:53:08.431+0000":  time.Date(2024, 2, 17, 11, 53, 8, 431e6, time.UTC),
		"Thu, 26 Jan 2023 13:19:03 GMT": time.Date(2023, 1, 26, 13, 19, 3, 0, time.UTC),
		"2024-05-14 12:00:00":           time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC),
		"2024-05-14T14:00:00+02:00":     time.Date(2024, 5, 14, 12, 0, 0, 0, time.UTC),
	} {
		got, ok := parseTime(in)
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v %v, want %v", in, got, ok, want)
		}
	}
}
