package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/faultline/faultline/internal/testkit/golden"
)

// golden compares got with testdata/<name> (golden.Check).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

var geometryAttrs = map[string]bool{"x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true,
	"width": true, "height": true, "d": true, "points": true, "cx": true, "cy": true, "r": true, "transform": true, "viewBox": true}

// wellFormed parses svg as XML, checks that no coordinate is Inf or NaN and
// returns the count of each element name.
func wellFormed(t testing.TB, svg []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	counts := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if geometryAttrs[a.Name.Local] && (strings.Contains(a.Value, "Inf") || strings.Contains(a.Value, "NaN")) {
					t.Fatalf("<%s %s=%q>: not a number", se.Name.Local, a.Name.Local, a.Value)
				}
			}
		}
	}
	if counts["svg"] != 1 {
		t.Fatalf("want exactly one <svg> root, got %d", counts["svg"])
	}
	return counts
}

var t0 = time.Date(2025, 10, 20, 7, 0, 0, 0, time.UTC)

func minutes(vals ...float64) []Point {
	p := make([]Point, len(vals))
	for i, v := range vals {
		p[i] = Point{T: t0.Add(time.Duration(i) * time.Minute), V: v}
	}
	return p
}

func TestLine(t *testing.T) {
	tests := []struct {
		name     string
		chart    Line
		paths    int // <path> elements expected
		markers  int // <line> elements inside the marker group
		contains []string
	}{
		{
			name: "two_series_markers",
			chart: Line{
				Title: "Errors per minute", YLabel: "errors/min",
				Series: []Series{
					{Name: "checkout", Points: minutes(0, 1, 0, 14, 40, 38, 12, 2, 0, 0)},
					{Name: "payments", Points: minutes(0, 0, 0, 0, 9, 27, 31, 8, 1, 0)},
				},
				Markers: []Marker{
					{T: t0.Add(2 * time.Minute), Label: "ReplaceRoute by alice", Emphasis: true},
					{T: t0.Add(7 * time.Minute), Label: "deploy payments 2.1.0"},
				},
			},
			paths: 2, markers: 2,
			contains: []string{"checkout", "payments", "ReplaceRoute by alice", "errors/min", ">07:00<"},
		},
		{
			name: "area_escaping",
			chart: Line{
				Title: `A <b>"quoted"</b> & odd title`, Area: true,
				Series:  []Series{{Name: "svc<&>", Points: minutes(3, 5, 2)}},
				Markers: []Marker{{T: t0.Add(-time.Hour), Label: "outside the window"}},
				Since:   t0, Until: t0.Add(2 * time.Minute),
			},
			paths: 2, markers: 0,
			contains: []string{"svc&lt;&amp;&gt;", "&lt;b&gt;&quot;quoted&quot;"},
		},
		{
			name:     "empty",
			chart:    Line{Title: "nothing", Since: t0, Until: t0.Add(time.Hour)},
			contains: []string{"no data in this window"},
		},
		{
			name:     "single_point",
			chart:    Line{Title: "one", Series: []Series{{Name: "a", Points: minutes(4)}}},
			paths:    1,
			contains: []string{"<circle"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := tt.chart.SVG()
			counts := wellFormed(t, svg)
			if counts["path"] != tt.paths {
				t.Errorf("paths = %d, want %d", counts["path"], tt.paths)
			}
			if got := strings.Count(string(svg), "stroke-dasharray"); got != tt.markers {
				t.Errorf("marker lines = %d, want %d", got, tt.markers)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(svg), s) {
					t.Errorf("SVG lacks %q", s)
				}
			}
			if again := tt.chart.SVG(); !bytes.Equal(svg, again) {
				t.Error("two renderings of the same chart differ")
			}
			golden(t, "line_"+tt.name+".svg", svg)
		})
	}
}

func TestLineScale(t *testing.T) {
	// The peak must touch neither the title area nor fall below the axis,
	// and a larger value must be drawn higher (smaller y).
	c := Line{Title: "scale", Series: []Series{{Name: "a", Points: minutes(0, 50, 100)}}}
	svg := string(c.SVG())
	if !strings.Contains(svg, ">100<") {
		t.Errorf("y axis should end at 100 for a peak of 100:\n%s", svg)
	}
	i := strings.Index(svg, `<path d="M`)
	if i < 0 {
		t.Fatal("no series path")
	}
	var x0, y0, x1, y1, x2, y2 float64
	if _, err := fmtSscanf(svg[i+len(`<path d="`):], "M%g %g L%g %g L%g %g", &x0, &y0, &x1, &y1, &x2, &y2); err != nil {
		t.Fatalf("parse path: %v", err)
	}
	if !(y0 > y1 && y1 > y2) || !(x0 < x1 && x1 < x2) {
		t.Errorf("points not ordered as expected: (%v,%v) (%v,%v) (%v,%v)", x0, y0, x1, y1, x2, y2)
	}
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name     string
		chart    Timeline
		rects    int
		contains []string
	}{
		{
			name: "cascade",
			chart: Timeline{
				Title: "Cascade",
				Bars: []Bar{
					{Label: "1. dynamodb", Start: t0.Add(3 * time.Minute), End: t0.Add(40 * time.Minute), Note: "peak 120/min", Mark: t0.Add(9 * time.Minute)},
					{Label: "2. checkout", Start: t0.Add(4 * time.Minute), End: t0.Add(42 * time.Minute), Note: "peak 40/min"},
					{Label: "3. payments", Start: t0.Add(6 * time.Minute), End: t0.Add(55 * time.Minute), Open: true, Note: "ongoing"},
				},
				Markers: []Marker{{T: t0.Add(time.Minute), Label: "UpdateTable", Emphasis: true}},
			},
			rects:    1 + 3, // background + bars
			contains: []string{"1. dynamodb", "peak 120/min", "(ongoing)", "UpdateTable"},
		},
		{
			name:     "empty",
			chart:    Timeline{Title: "Cascade"},
			rects:    1,
			contains: []string{"nothing to show"},
		},
		{
			name:     "point",
			chart:    Timeline{Title: "p", Bars: []Bar{{Label: "x", Start: t0}}},
			rects:    2,
			contains: []string{`width="3"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := tt.chart.SVG()
			counts := wellFormed(t, svg)
			if counts["rect"] != tt.rects {
				t.Errorf("rects = %d, want %d", counts["rect"], tt.rects)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(svg), s) {
					t.Errorf("SVG lacks %q", s)
				}
			}
			golden(t, "timeline_"+tt.name+".svg", svg)
		})
	}
}

func TestTimeTicks(t *testing.T) {
	tests := []struct {
		span   time.Duration
		max    int
		first  string
		layout string
		n      int
	}{
		{10 * time.Minute, 10, "07:00", "15:04", 11},
		{time.Hour, 8, "07:00", "15:04", 7},
		{48 * time.Hour, 8, "Oct 20 12:00", "Jan 2 15:04", 8},
		{30 * time.Second, 4, "07:00:00", "15:04:05", 4},
	}
	for _, tt := range tests {
		ticks, layout := timeTicks(t0, t0.Add(tt.span), tt.max)
		if layout != tt.layout || len(ticks) != tt.n || ticks[0].Format(layout) != tt.first {
			t.Errorf("span %s max %d: got %d ticks from %s (layout %q), want %d from %s (%q)",
				tt.span, tt.max, len(ticks), ticks[0].Format(layout), layout, tt.n, tt.first, tt.layout)
		}
		if len(ticks) > tt.max+1 {
			t.Errorf("span %s: %d ticks exceed max %d", tt.span, len(ticks), tt.max)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, max, step float64 }{
		{0, 1, 0.2}, {1, 1, 0.2}, {3, 5, 1}, {17, 20, 5}, {21, 25, 5}, {100, 100, 20}, {101, 200, 50}, {0.3, 0.5, 0.1},
	}
	for _, tt := range tests {
		m, s := niceCeil(tt.in)
		if !approx(m, tt.max) || !approx(s, tt.step) {
			t.Errorf("niceCeil(%v) = %v, %v; want %v, %v", tt.in, m, s, tt.max, tt.step)
		}
	}
}

func approx(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// FuzzSVG checks that any labels and values give well-formed SVG.
func FuzzSVG(f *testing.F) {
	f.Add("checkout", "ReplaceRoute <x>", 3.5, int64(90))
	f.Add("\xff\x00bad", "&&&", -1.0, int64(-5))
	f.Add("", "", 1e308, int64(0))
	f.Add("tiny", "", 5e-324, int64(60)) // subnormal: once made a zero y step and an endless axis loop
	f.Add("huge", "", math.MaxFloat64, int64(60))
	f.Fuzz(func(t *testing.T, name, label string, v float64, offsetSec int64) {
		at := t0.Add(time.Duration(offsetSec%100000) * time.Second)
		l := Line{Title: name, Series: []Series{{Name: name, Points: []Point{{T: t0, V: v}, {T: at, V: v / 2}}}},
			Markers: []Marker{{T: at, Label: label}}}
		wellFormed(t, l.SVG())
		tl := Timeline{Title: label, Bars: []Bar{{Label: name, Start: t0, End: at, Note: label, Open: v > 0}},
			Markers: []Marker{{T: at, Label: label}}}
		wellFormed(t, tl.SVG())
	})
}

func fmtSscanf(s, format string, args ...any) (int, error) { return fmt.Sscanf(s, format, args...) }

func TestMarkerLabelsDoNotOverlap(t *testing.T) {
	at := func(sec int) time.Time { return t0.Add(30*time.Minute + time.Duration(sec)*time.Second) }
	c := Line{
		Title:  "crowded",
		Series: []Series{{Name: "a", Points: []Point{{T: t0, V: 1}, {T: t0.Add(time.Hour), V: 2}}}},
		Markers: []Marker{
			{T: at(0), Label: "#4 AuthorizeSecurityGroupIngress ec2"},
			{T: at(30), Label: "#2 ModifyListener elasticloadbalancing"},
			{T: at(60), Label: "#1 ModifyTargetGroup elasticloadbalancing", Emphasis: true},
			{T: at(90), Label: "#3 UpdateFunctionConfiguration lambda"},
		},
	}
	svg := string(c.SVG())
	g := svg[strings.Index(svg, `<g class="markers">`):]
	re := regexp.MustCompile(`<text x="[^"]+" y="([^"]+)"[^>]*>([^<]*)</text>`)
	ys := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(g, -1) {
		if other, ok := ys[m[1]]; ok {
			t.Errorf("labels %q and %q share row y=%s", other, m[2], m[1])
		}
		ys[m[1]] = m[2]
	}
	if len(ys) != markerRows {
		t.Errorf("%d labels drawn, want %d (one per row; the rest only as tooltips)", len(ys), markerRows)
	}
	first := re.FindStringSubmatch(g)
	if first == nil || !strings.Contains(g, `font-weight="bold">#1 ModifyTargetGroup`) {
		t.Errorf("the emphasized marker must get a label:\n%s", g)
	}
	if got := strings.Count(g, "<line"); got != 4 {
		t.Errorf("%d marker lines, want 4", got)
	}
}

// Extreme values draw a finite y axis: no Inf/NaN tick labels or lines.
func TestExtremeValues(t *testing.T) {
	for _, v := range []float64{math.MaxFloat64, 1.5e308, 5e-324, 1e-300, math.Inf(1), math.NaN()} {
		l := Line{Title: "x", Series: []Series{{Name: "s", Points: []Point{{T: t0, V: v}, {T: t0.Add(time.Minute), V: v / 2}}}}}
		svg := l.SVG()
		wellFormed(t, svg)
		if s := string(svg); strings.Contains(s, "Inf") || strings.Contains(s, "NaN") {
			t.Errorf("v=%g: the chart prints Inf or NaN", v)
		}
	}
}
