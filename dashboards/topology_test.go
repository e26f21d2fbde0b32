package dashboards

import (
	"strings"
	"testing"

	"github.com/faultline/faultline/queries"
)

// No edge of the services graph passes through a box: every point of every
// drawn path (curves sampled) lies outside every service's box, for a graph
// with edges that skip columns, a fan-in, and a cycle.
func TestTopologyLayoutNoEdgeThroughBoxes(t *testing.T) {
	names := []string{"partner-api", "accounts", "cart", "search", "inventory", "notifications", "payments", "reviews", "dynamodb", "elasticloadbalancing", "s3", "sqs", "ec2", "sts"}
	var svcs []Service
	for _, n := range names {
		svcs = append(svcs, Service{Name: n})
	}
	dep := func(from string, to ...string) []queries.Edge {
		var out []queries.Edge
		for _, x := range to {
			out = append(out, queries.Edge{From: from, To: x, Origin: "peer_service"})
		}
		return out
	}
	var edges []queries.Edge
	for _, e := range [][]queries.Edge{
		dep("partner-api", "accounts", "cart", "dynamodb", "search"),
		dep("accounts", "dynamodb", "inventory", "notifications", "reviews"),
		dep("cart", "dynamodb", "elasticloadbalancing", "reviews"),
		dep("search", "dynamodb", "payments", "reviews", "sqs"),
		dep("inventory", "dynamodb"), dep("notifications", "dynamodb", "s3"),
		dep("payments", "dynamodb", "s3", "sqs"), dep("reviews", "dynamodb", "s3"),
		dep("ec2", "sts"), dep("elasticloadbalancing", "sts"),
		dep("sts", "ec2"), // a cycle
	} {
		edges = append(edges, e...)
	}
	l := layoutTopology(svcs, edges)
	if len(l.Nodes) != len(names) || len(l.Edges) != len(edges) {
		t.Fatalf("%d nodes, %d edges; want %d, %d", len(l.Nodes), len(l.Edges), len(names), len(edges))
	}
	back := 0
	for _, e := range l.Edges {
		if e.Back {
			back++
		}
		for _, p := range samplePath(e) {
			for name, n := range l.Nodes {
				if p[0] > n.x+1 && p[0] < n.x+topoNodeW-1 && p[1] > n.y+1 && p[1] < n.y+n.h-1 {
					t.Fatalf("edge %s -> %s passes through the box of %s at (%.1f, %.1f)", e.From, e.To, name, p[0], p[1])
				}
			}
		}
	}
	if back != 1 {
		t.Errorf("%d edges against the layering, want the one of the cycle", back)
	}
	// boxes do not overlap either
	for a, n := range l.Nodes {
		for b, m := range l.Nodes {
			if a < b && n.x == m.x && n.y < m.y+m.h && m.y < n.y+n.h {
				t.Errorf("boxes %s and %s overlap", a, b)
			}
		}
	}
	svg := string(topologyChart(svcs, edges))
	if got := strings.Count(svg, `<path class="edge"`); got != len(edges) {
		t.Errorf("the SVG draws %d edges, want %d", got, len(edges))
	}
}

// samplePath returns points along an edge as edgePath draws it.
func samplePath(e topoEdge) [][2]float64 {
	var out [][2]float64
	pts := e.Points
	for i := 1; i < len(pts); i++ {
		p, q := pts[i-1], pts[i]
		for k := 0; k <= 50; k++ {
			u := float64(k) / 50
			if !e.Back && i%2 == 1 { // cubic across a gap: x = bezier(p.x, mx, mx, q.x), y = bezier(p.y, p.y, q.y, q.y)
				mx := (p[0] + q[0]) / 2
				out = append(out, [2]float64{bez(p[0], mx, mx, q[0], u), bez(p[1], p[1], q[1], q[1], u)})
			} else {
				out = append(out, [2]float64{p[0] + (q[0]-p[0])*u, p[1] + (q[1]-p[1])*u})
			}
		}
	}
	return out
}

func bez(a, b, c, d, u float64) float64 {
	v := 1 - u
	return v*v*v*a + 3*v*v*u*b + 3*v*u*u*c + u*u*u*d
}

// The services page leaves out services with nothing in the range, names
// them, and shows them on ?idle=1.
func TestServicesPageIdle(t *testing.T) {
	f := newFixture(t, nil)
	seedEvents(t, f.db, []fixEvent{{id: "kms-1", source: "cloudtrail", kind: "info", service: "kms", region: "us-east-1", at: t0.Add(10 * 60e9)}})
	_, body := f.get(t, "/services?range=all")
	if strings.Contains(body, `data-service="kms"`) || !strings.Contains(body, `id="idle"`) || !strings.Contains(body, "kms") {
		t.Errorf("the idle service kms is drawn, or not named as left out")
	}
	_, body = f.get(t, "/services?range=all&idle=1")
	if !strings.Contains(body, `data-service="kms"`) {
		t.Errorf("?idle=1 does not show kms")
	}
}
