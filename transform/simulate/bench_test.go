package simulate

import (
	"testing"
	"time"
)

// BenchmarkEachMessage measures generation speed (no I/O): bytes are the
// message values produced.
func BenchmarkEachMessage(b *testing.B) {
	s, err := Generate(FamilyBadDeploy, 1, Options{Duration: time.Hour, Scale: 5})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var events, bytes int64
	for b.Loop() {
		events, bytes = 0, 0
		err := s.EachMessage(func(_ string, m Message) error {
			events++
			bytes += int64(len(m.Value))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(events), "messages/op")
}

// BenchmarkWriteDir measures writing a scenario to disk.
func BenchmarkWriteDir(b *testing.B) {
	s, err := Generate(FamilyLBChange, 1, Options{Duration: time.Hour, Scale: 5})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var man Manifest
	for b.Loop() {
		if man, err = s.WriteDir(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(man.Bytes)
	n := 0
	for _, r := range man.Records {
		n += r
	}
	b.ReportMetric(float64(n), "events/op")
}
