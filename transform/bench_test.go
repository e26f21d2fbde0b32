package transform

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// stratusRecords returns every real CloudTrail record of the samples,
// compacted, one per element.
func stratusRecords(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "samples", "cloudtrail", "stratus", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no samples: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(b, &recs); err != nil {
			tb.Fatal(err)
		}
		for _, r := range recs {
			var c bytes.Buffer
			if err := json.Compact(&c, r); err != nil {
				tb.Fatal(err)
			}
			out = append(out, c.Bytes())
		}
	}
	return out
}

// BenchmarkCloudTrailDecodeBuild measures decoding S3 CloudTrail files of
// 1000 real records (about 1.3 KB each) and building Arrow record batches.
func BenchmarkCloudTrailDecodeBuild(b *testing.B) {
	recs := stratusRecords(b)
	var file bytes.Buffer
	file.WriteString(`{"Records":[`)
	const n = 1000
	for i := 0; i < n; i++ {
		if i > 0 {
			file.WriteByte(',')
		}
		file.Write(recs[i%len(recs)])
	}
	file.WriteString(`]}`)
	data := file.Bytes()
	d := newTestDecoder(b, nil)
	bld := NewBuilder(memory.NewGoAllocator())
	defer bld.Release()
	var r Result
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Reset()
		d.Decode(Input{Format: FormatCloudTrail, Value: data}, observedAt, &r)
		if len(r.Events) != n {
			b.Fatalf("%d events", len(r.Events))
		}
		for j := range r.Events {
			bld.Append(&r.Events[j])
		}
		rec := bld.NewRecordBatch()
		rec.Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
	// The machine may be shared: records per second of this process's CPU
	// time is the single-core throughput.
	if c := cpuTime() - cpu0; c > 0 {
		b.ReportMetric(float64(n*b.N)/c.Seconds(), "records/cpu-s")
	}
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
