package transform

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

type splitRec struct {
	Layout Layout
	Index  int64
	Offset int64
	Rec    string
}

func splitAll(t testing.TB, data []byte, maxDecompressed int) ([]splitRec, error) {
	t.Helper()
	var out []splitRec
	err := SplitFile(data, maxDecompressed, func(pos RecordPos, rec []byte) error {
		out = append(out, splitRec{pos.Layout, pos.Index, pos.Offset, string(rec)})
		return nil
	})
	return out, err
}

func splitGzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSplitFile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []splitRec
	}{
		{"empty", "", nil},
		{"whitespace", " \n\t\r\n", nil},
		{"single object", `{"a":1}`, []splitRec{{LayoutWhole, 0, 0, `{"a":1}`}}},
		{"single object with newline", "{\"a\":1}\n", []splitRec{{LayoutWhole, 0, 0, "{\"a\":1}\n"}}},
		{"pretty object", "{\n \"a\": 1\n}\n", []splitRec{{LayoutWhole, 0, 0, "{\n \"a\": 1\n}\n"}}},
		{"binary", "\x78\x9c\x01\x02garbage", []splitRec{{LayoutWhole, 0, 0, "\x78\x9c\x01\x02garbage"}}},
		{"plain text", "[ERROR] boom\n", []splitRec{{LayoutWhole, 0, 0, "[ERROR] boom\n"}}},
		{"unterminated array", "[", []splitRec{{LayoutWhole, 0, 0, "["}}},
		{"array", `[{"a":1}, {"b":2},{"c":[3]}]`, []splitRec{
			{LayoutArray, 0, 1, `{"a":1}`}, {LayoutArray, 1, 10, `{"b":2}`}, {LayoutArray, 2, 18, `{"c":[3]}`}}},
		{"empty array", ` [ ] `, nil},
		{"array of scalars", `[1,"x",null]`, []splitRec{{LayoutArray, 0, 1, `1`}, {LayoutArray, 1, 3, `"x"`}, {LayoutArray, 2, 7, `null`}}},
		{"truncated array", `[{"a":1},{"b":`, []splitRec{{LayoutArray, 0, 1, `{"a":1}`}, {LayoutArray, 1, 9, `{"b":`}}},
		{"array trailing comma", `[{"a":1},]`, []splitRec{{LayoutArray, 0, 1, `{"a":1}`}, {LayoutArray, 1, 9, `]`}}},
		{"array then garbage", `[1] x`, []splitRec{{LayoutArray, 0, 1, `1`}, {LayoutArray, 1, 4, `x`}}},
		{"cloudtrail records", `{"Records":[{"eventVersion":"1.08","eventName":"A"},{"eventVersion":"1.09"}]}`, []splitRec{
			{LayoutRecords, 0, 12, `{"eventVersion":"1.08","eventName":"A"}`}, {LayoutRecords, 1, 52, `{"eventVersion":"1.09"}`}}},
		{"cloudtrail records by source and name", "{\"Records\": [\n {\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"PutObject\"}\n]}\n", []splitRec{
			{LayoutRecords, 0, 15, `{"eventSource":"s3.amazonaws.com","eventName":"PutObject"}`}}},
		{"empty records", `{"Records":[]}`, nil},
		{"records then more keys", `{"Records":[{"eventVersion":"1"}],"x":1}`, []splitRec{
			{LayoutRecords, 0, 12, `{"eventVersion":"1"}`}, {LayoutRecords, 1, 34, `"x":1}`}}},
		{"records truncated", `{"Records":[{"eventVersion":"1"},{"eventVer`, []splitRec{
			{LayoutRecords, 0, 12, `{"eventVersion":"1"}`}, {LayoutRecords, 1, 33, `{"eventVer`}}},
		{"sns records stay whole", `{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0"}]}`, []splitRec{
			{LayoutWhole, 0, 0, `{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0"}]}`}}},
		{"records not first key", `{"x":1,"Records":[{"eventVersion":"1"}]}`, []splitRec{
			{LayoutWhole, 0, 0, `{"x":1,"Records":[{"eventVersion":"1"}]}`}}},
		{"ndjson", "{\"a\":1}\n{\"b\":2}\r\n\n  {\"c\":3}  \n", []splitRec{
			{LayoutLines, 0, 0, `{"a":1}`}, {LayoutLines, 1, 8, `{"b":2}`}, {LayoutLines, 3, 20, `{"c":3}`}}},
		{"ndjson with bad line", "{\"a\":1}\nnot json\n{\"c\":3}", []splitRec{
			{LayoutLines, 0, 0, `{"a":1}`}, {LayoutLines, 1, 8, `not json`}, {LayoutLines, 2, 17, `{"c":3}`}}},
		{"ndjson with bad first line", "{\"a\":\n{\"b\":2}\n", []splitRec{
			{LayoutLines, 0, 0, `{"a":`}, {LayoutLines, 1, 6, `{"b":2}`}}},
		{"ndjson of cloudtrail records", "{\"Records\":1}\n{\"eventVersion\":\"1.10\"}\n", []splitRec{
			{LayoutLines, 0, 0, `{"Records":1}`}, {LayoutLines, 1, 14, `{"eventVersion":"1.10"}`}}},
		{"concatenated", `{"a":1}{"b":2} {"c":3}`, []splitRec{
			{LayoutValues, 0, 0, `{"a":1}`}, {LayoutValues, 1, 7, `{"b":2}`}, {LayoutValues, 2, 15, `{"c":3}`}}},
		{"pretty concatenated", "{\n\"a\":1\n}\n{\n\"b\":2\n}\n", []splitRec{
			{LayoutValues, 0, 0, "{\n\"a\":1\n}"}, {LayoutValues, 1, 10, "{\n\"b\":2\n}"}}},
		{"concatenated then garbage", `{"a":1}{"b"`, []splitRec{{LayoutValues, 0, 0, `{"a":1}`}, {LayoutValues, 1, 7, `{"b"`}}},
		{"bom", "\xef\xbb\xbf[1,2]", []splitRec{{LayoutArray, 0, 4, `1`}, {LayoutArray, 1, 6, `2`}}},
		{"broken object", `{"a":`, []splitRec{{LayoutWhole, 0, 0, `{"a":`}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, compress := range []bool{false, true} {
				in := []byte(tc.in)
				if compress {
					in = splitGzipBytes(t, in)
				}
				got, err := splitAll(t, in, 1<<20)
				if err != nil {
					t.Fatalf("gzip=%v: %v", compress, err)
				}
				if !equalRecs(got, tc.want) {
					t.Errorf("gzip=%v:\n got %+v\nwant %+v", compress, got, tc.want)
				}
			}
		})
	}
}

func equalRecs(a, b []splitRec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readSplitFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "split", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSplitFileFixtures(t *testing.T) {
	t.Run("stratus arrays", func(t *testing.T) {
		for _, name := range []string{"stratus-ssm-start-session.json", "stratus-cloudtrail-stop.json"} {
			data := readSplitFixture(t, name)
			var want []json.RawMessage
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			got, err := splitAll(t, data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d records, want %d", name, len(got), len(want))
			}
			for i := range got {
				if got[i].Layout != LayoutArray || got[i].Index != int64(i) || got[i].Rec != string(want[i]) {
					t.Errorf("%s record %d: %+v, want element %d %.60s", name, i, got[i], i, want[i])
				}
				if string(data[got[i].Offset:got[i].Offset+int64(len(got[i].Rec))]) != got[i].Rec {
					t.Errorf("%s record %d: offset %d does not point at the record", name, i, got[i].Offset)
				}
			}
		}
	})
	t.Run("cloudtrail s3 gzip", func(t *testing.T) {
		data := readSplitFixture(t, "cloudtrail-s3.json.gz")
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Records []json.RawMessage }
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			t.Fatal(err)
		}
		if len(file.Records) == 0 {
			t.Fatal("fixture has no records")
		}
		var n int
		err = SplitFile(data, 1<<20, func(pos RecordPos, rec []byte) error {
			if pos.Layout != LayoutRecords || !pos.Gzip || pos.Index != int64(n) {
				t.Errorf("record %d: position %+v", n, pos)
			}
			if n < len(file.Records) && string(rec) != string(file.Records[n]) {
				t.Errorf("record %d: %.80s, want %.80s", n, rec, file.Records[n])
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != len(file.Records) {
			t.Errorf("%d records, want %d", n, len(file.Records))
		}
	})
	for _, name := range []string{"awslogs.json", "sns-records.json", "eventbridge.json"} {
		t.Run(name, func(t *testing.T) {
			data := readSplitFixture(t, name)
			got, err := splitAll(t, data, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Layout != LayoutWhole || got[0].Rec != string(data) {
				t.Errorf("got %d records %+v, want the whole file as one", len(got), got)
			}
		})
	}
}

func TestSplitFileGzipErrors(t *testing.T) {
	big := splitGzipBytes(t, []byte("["+strings.Repeat(`{"a":1},`, 1000)+`{"a":1}]`))
	if _, err := splitAll(t, big, 100); !errors.Is(err, ErrSplitDecompressLimit) {
		t.Errorf("over the limit: err = %v, want ErrSplitDecompressLimit", err)
	}
	if got, err := splitAll(t, big, 0); err != nil || len(got) != 1001 {
		t.Errorf("no limit: %d records, err %v; want 1001, nil", len(got), err)
	}
	exact := splitGzipBytes(t, []byte(`{"a":1}`))
	if got, err := splitAll(t, exact, 7); err != nil || len(got) != 1 {
		t.Errorf("at the limit: %d records, err %v; want 1, nil", len(got), err)
	}
	corrupt := append([]byte{}, big[:len(big)/2]...)
	if _, err := splitAll(t, corrupt, 1<<20); !errors.Is(err, ErrSplitDecompress) {
		t.Errorf("truncated gzip: err = %v, want ErrSplitDecompress", err)
	}
	// Two gzip members back to back are one stream.
	two := append(splitGzipBytes(t, []byte("{\"a\":1}\n")), splitGzipBytes(t, []byte("{\"b\":2}\n"))...)
	got, err := splitAll(t, two, 1<<20)
	if err != nil || len(got) != 2 || got[1].Rec != `{"b":2}` {
		t.Errorf("multi-member gzip: %+v, %v", got, err)
	}
}

func TestSplitFileYieldError(t *testing.T) {
	stop := errors.New("stop")
	var calls int
	err := SplitFile([]byte(`[1,2,3]`), 0, func(RecordPos, []byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("err %v after %d calls, want stop after 1", err, calls)
	}
}

func FuzzSplitFile(f *testing.F) {
	for _, name := range []string{"stratus-cloudtrail-stop.json", "cloudtrail-s3.json.gz", "awslogs.json", "sns-records.json", "eventbridge.json"} {
		f.Add(readSplitFixture(f, name))
	}
	for _, s := range []string{"", "[1,2]", "{\"a\":1}\n{\"b\":2}\n", `{"Records":[{"eventVersion":"1"}]}`, `{"a":1}{"b":2}`, "\xef\xbb\xbf[", "{\"a\":\n{}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		content := data
		if isGzip(data) {
			var err error
			if content, err = splitGunzip(data, 1<<20); err != nil {
				return
			}
		}
		lastIdx, lastEnd := int64(-1), int64(0)
		err := SplitFile(data, 1<<20, func(pos RecordPos, rec []byte) error {
			if pos.Index <= lastIdx {
				t.Fatalf("index %d after %d", pos.Index, lastIdx)
			}
			if pos.Offset < lastEnd || pos.Offset+int64(len(rec)) > int64(len(content)) {
				t.Fatalf("record at %d+%d overlaps or is outside %d..%d", pos.Offset, len(rec), lastEnd, len(content))
			}
			if !bytes.Equal(content[pos.Offset:pos.Offset+int64(len(rec))], rec) {
				t.Fatalf("offset %d does not point at the record", pos.Offset)
			}
			lastIdx, lastEnd = pos.Index, pos.Offset+int64(len(rec))
			return nil
		})
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

// gzipZeros returns n zero bytes gzipped: a compression bomb (about 1000:1).
func gzipZeros(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for ; n > 0; n -= len(chunk) {
		if _, err := zw.Write(chunk[:min(n, len(chunk))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allocated returns the bytes the Go heap allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A gzip bomb is refused having cost almost nothing: the limit is checked
// while counting, before the content is allocated. A genuine file costs its
// decompressed size, once (not a doubling buffer and its copies: a 2 MB
// bomb used to take 2.3 GB of RSS against a 1 GiB limit).
func TestSplitFileGzipBombMemory(t *testing.T) {
	const limit = 64 << 20
	bomb := gzipZeros(t, 512<<20) // 512 MiB of zeros in about 0.5 MB
	var err error
	got := allocated(func() {
		err = SplitFile(bomb, limit, func(RecordPos, []byte) error { return nil })
	})
	if !errors.Is(err, ErrSplitDecompressLimit) {
		t.Fatalf("bomb: %v, want ErrSplitDecompressLimit", err)
	}
	if got > 4<<20 {
		t.Errorf("refusing a %d-byte bomb allocated %d bytes; want under 4 MiB (the limit is %d)", len(bomb), got, limit)
	}
	genuine := gzipZeros(t, 40<<20)
	got = allocated(func() {
		err = SplitFile(genuine, limit, func(RecordPos, []byte) error { return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if got > 40<<20+4<<20 {
		t.Errorf("a 40 MiB file allocated %d bytes; want its size plus under 4 MiB", got)
	}
}

// endless is /dev/zero as an io.Reader: it never ends and counts what was
// read from it.
type endless struct{ read int64 }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.read += int64(len(p))
	return len(p), nil
}

// TestReadInput: the limit applies to the bytes read, not to the size from
// stat, which is 0 for a device or a pipe: /dev/zero or a named pipe that
// never ends used to be read until the process ran out of memory.
func TestReadInput(t *testing.T) {
	const limit = 1000
	data := bytes.Repeat([]byte("x"), 1500)
	tests := []struct {
		name    string
		content []byte
		size    int64 // from stat: 0 for a device or pipe
		want    int   // bytes returned
		tooBig  bool
	}{
		{"regular file", data[:10], 10, 10, false},
		{"regular file at the limit", data[:limit], limit, limit, false},
		{"regular file over the limit", data, 1500, limit, true},
		{"regular file grown since stat", data[:800], 100, 800, false},
		{"regular file grown over the limit", data, 100, limit, true},
		{"pipe", data[:10], 0, 10, false},
		{"pipe at the limit", data[:limit], 0, limit, false},
		{"pipe over the limit", data, 0, limit, true},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInput(bytes.NewReader(tt.content), tt.size, limit)
			if errors.Is(err, ErrInputTooLarge) != tt.tooBig || (err != nil && !tt.tooBig) {
				t.Fatalf("err = %v, want too large: %v", err, tt.tooBig)
			}
			if !bytes.Equal(got, tt.content[:tt.want]) {
				t.Errorf("got %d bytes, want the first %d", len(got), tt.want)
			}
		})
	}
	t.Run("endless", func(t *testing.T) {
		e := &endless{}
		got, err := ReadInput(e, 0, 64<<10)
		if !errors.Is(err, ErrInputTooLarge) || !strings.Contains(err.Error(), "more than 65536 bytes") {
			t.Errorf("err = %v, want ErrInputTooLarge naming the limit", err)
		}
		if len(got) != 64<<10 || e.read > 64<<10+1 {
			t.Errorf("returned %d bytes having read %d, want 65536 read up to 65537", len(got), e.read)
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := ReadInput(io.MultiReader(bytes.NewReader(data[:10]), iotest.ErrReader(boom)), 0, limit); !errors.Is(err, boom) {
			t.Errorf("err = %v, want the reader's error", err)
		}
	})
	if _, err := ReadInput(bytes.NewReader(nil), 0, 0); err == nil {
		t.Error("limit 0 accepted")
	}
}

// ReadInput costs a regular file its size, once, and a stream (size
// unknown) up to twice its size: its chunks and the one buffer they are
// copied into, not a doubling buffer and its copies.
func TestReadInputMemory(t *testing.T) {
	const n = 40 << 20
	src := make([]byte, n)
	for _, tt := range []struct {
		name string
		size int64
		max  uint64
	}{
		{"regular file", n, n + 1<<20},
		{"stream", 0, 2*n + 9<<20}, // chunks grow to 8 MiB: the last one is part used
	} {
		var err error
		var got []byte
		a := allocated(func() {
			got, err = ReadInput(iotest.HalfReader(bytes.NewReader(src)), tt.size, 1<<30)
		})
		if err != nil || len(got) != n {
			t.Fatalf("%s: %d bytes, %v", tt.name, len(got), err)
		}
		if a > tt.max {
			t.Errorf("%s: reading %d bytes allocated %d, want at most %d", tt.name, n, a, tt.max)
		}
	}
}
