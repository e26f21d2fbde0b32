package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// BenchmarkCloudTrailPerRecord measures the file loader's path: one Decode
// call per record (SplitFile cuts S3 files into records), then the builder.
func BenchmarkCloudTrailPerRecord(b *testing.B) {
	recs := stratusRecords(b)
	d := newTestDecoder(b, nil)
	bld := NewBuilder(memory.NewGoAllocator())
	defer bld.Release()
	var r Result
	total := 0
	for _, rec := range recs {
		total += len(rec)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Reset()
		for _, rec := range recs {
			d.Decode(Input{Format: FormatAuto, Value: rec}, observedAt, &r)
		}
		for j := range r.Events {
			bld.Append(&r.Events[j])
		}
		bld.NewRecordBatch().Release()
	}
	b.StopTimer()
	n := float64(len(recs) * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	if c := cpuTime() - cpu0; c > 0 {
		b.ReportMetric(n/c.Seconds(), "records/cpu-s")
	}
}

// BenchmarkCloudWatchDecode measures gzip CloudWatch payloads of 100 log events.
func BenchmarkCloudWatchDecode(b *testing.B) {
	var evs []string
	for i := 0; i < 100; i++ {
		evs = append(evs, cwEvent(fmt.Sprint(i), "2024-05-14T12:00:00.123Z\t8a2d6a8e-6f3c-4c6b-9a43-1f2f3a4b5c6d\tERROR\tInvoke Error: timeout calling dynamodb after 3 retries"))
	}
	data := gzipBytes(b, []byte(cwPayload("/aws/lambda/checkout", evs...)))
	d := newTestDecoder(b, nil)
	var r Result
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Reset()
		d.Decode(Input{Format: FormatCloudWatch, Value: data}, observedAt, &r)
		if len(r.Events) != 100 {
			b.Fatal(len(r.Events))
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchCloudRecords measures one Decode call per record (a Kafka message
// each, as a log sink or Event Hubs delivers them) of format f, then the
// builder, in records per second of CPU time.
func benchCloudRecords(b *testing.B, f Format, recs [][]byte) {
	d := newTestDecoder(b, nil)
	bld := NewBuilder(memory.NewGoAllocator())
	defer bld.Release()
	var r Result
	total := 0
	for _, rec := range recs {
		total += len(rec)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Reset()
		for _, rec := range recs {
			d.Decode(Input{Format: f, Value: rec}, observedAt, &r)
		}
		if len(r.Events) != len(recs) || len(r.DeadLetters) != 0 {
			b.Fatalf("%d events %d dead letters from %d records", len(r.Events), len(r.DeadLetters), len(recs))
		}
		for j := range r.Events {
			bld.Append(&r.Events[j])
		}
		bld.NewRecordBatch().Release()
	}
	b.StopTimer()
	n := float64(len(recs) * b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	if c := cpuTime() - cpu0; c > 0 {
		b.ReportMetric(n/c.Seconds(), "records/cpu-s")
	}
}

// BenchmarkGCPAuditPerRecord: the real Google Cloud entries (~1.9 KB each),
// one LogEntry per message.
func BenchmarkGCPAuditPerRecord(b *testing.B) {
	recs := bytes.Split(bytes.TrimSpace(readSample(b, "gcp/plaso-gcp_logging.jsonl")), []byte("\n"))
	for _, f := range []string{"gcp/otel-activity.json", "gcp/otel-data_access.json", "gcp/otel-policy.json", "gcp/otel-system_event.json"} {
		var c bytes.Buffer
		if err := json.Compact(&c, readSample(b, f)); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, c.Bytes())
	}
	benchCloudRecords(b, FormatGCPAudit, recs)
}

// BenchmarkAzureActivityPerRecord: the real Azure records (~2.6 KB each),
// one record per message.
func BenchmarkAzureActivityPerRecord(b *testing.B) {
	var recs [][]byte
	for _, f := range []string{"azure/otel-administrative-log.json", "azure/otel-servicehealth-valid_1.json", "azure/otel-resourcehealth-log.json", "azure/otel-function-app-log.json"} {
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(readSample(b, f), &doc); err != nil {
			b.Fatal(err)
		}
		for _, r := range doc.Records {
			var c bytes.Buffer
			if err := json.Compact(&c, r); err != nil {
				b.Fatal(err)
			}
			recs = append(recs, c.Bytes())
		}
	}
	benchCloudRecords(b, FormatAzureActivity, recs)
}
