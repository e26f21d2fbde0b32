package report

import (
	"context"
	"testing"
)

// BenchmarkBuildFixture builds the fixture report (engine queries over
// about 4,500 events, stats, charts).
func BenchmarkBuildFixture(b *testing.B) {
	f := newFixtureDB(b)
	src := newSource(b, f)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(context.Background(), src, fixtureOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender renders the fixture report in every format.
func BenchmarkRender(b *testing.B) {
	f := newFixtureDB(b)
	r, err := Build(context.Background(), newSource(b, f), fixtureOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = 0
		for _, format := range Formats {
			rd, err := Render(r, format, "x.files")
			if err != nil {
				b.Fatal(err)
			}
			n += len(rd.Body)
		}
	}
	b.SetBytes(int64(n))
}
