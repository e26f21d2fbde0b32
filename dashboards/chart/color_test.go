package chart

import (
	"strings"
	"testing"
	"time"
)

// A service keeps its colour whatever else a chart shows; two services of
// one chart that share a colour are told apart by a dash.
func TestServiceColors(t *testing.T) {
	// Pinned: a change of hash or palette recolours every chart people
	// have learned to read.
	for name, want := range map[string]string{"cart": "#d37295", "search": "#2e8b57"} {
		if got := ServiceColor(name); got != want || !strings.HasPrefix(got, "#") {
			t.Errorf("ServiceColor(%q) = %q, want %q", name, got, want)
		}
	}
	// find two names with the same colour
	var a, b string
	seen := map[string]string{}
	for _, n := range []string{"cart", "search", "payments", "orders", "frontend", "checkout", "inventory", "reviews", "accounts", "notifications", "lambda", "ec2", "dynamodb", "partner-api", "kms", "sqs", "sts", "s3", "iam", "rds"} {
		c := ServiceColor(n)
		if o, ok := seen[c]; ok {
			a, b = o, n
			break
		}
		seen[c] = n
	}
	if a == "" {
		t.Fatal("no two of 20 names share one of the palette's colours: the test needs a collision")
	}
	alone := []Series{{Name: b}}
	AssignColors(alone)
	both := []Series{{Name: "zzz"}, {Name: a}, {Name: b}}
	AssignColors(both)
	if alone[0].Color != both[2].Color || alone[0].Dash || !both[2].Dash || both[1].Dash {
		t.Errorf("alone %+v, with %s: %+v", alone, a, both)
	}
	for i := range both {
		both[i].Points = []Point{{T: time.Unix(0, 0), V: 1}, {T: time.Unix(60, 0), V: 2}}
	}
	svg := string(Line{Series: both}.SVG())
	if !strings.Contains(svg, `stroke="`+both[2].Color+`" stroke-width="1.8" stroke-linejoin="round" stroke-dasharray="6 3"`) {
		t.Errorf("the second line of a shared colour is not dashed in the SVG")
	}
}
