package chart

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkLineSVG draws a day-long incident chart: 8 services, one point
// per minute for 6 hours, 5 markers.
func BenchmarkLineSVG(b *testing.B) {
	c := Line{Title: "bench", YLabel: "errors/min", Area: true}
	for s := range 8 {
		var pts []Point
		for m := range 360 {
			pts = append(pts, Point{T: t0.Add(time.Duration(m) * time.Minute), V: float64((m*7 + s*13) % 50)})
		}
		c.Series = append(c.Series, Series{Name: fmt.Sprintf("service-%d", s), Points: pts})
	}
	for i := range 5 {
		c.Markers = append(c.Markers, Marker{T: t0.Add(time.Duration(i*40) * time.Minute), Label: fmt.Sprintf("#%d change", i+1), Emphasis: i == 0})
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(c.SVG())
	}
	b.SetBytes(int64(n))
}
