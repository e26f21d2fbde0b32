package dashboards

import (
	"io"
	"net/http"
	"testing"

	"github.com/faultline/faultline/queries"
)

// BenchmarkPages serves each page and the main API routes over a simulated
// outage (about 15k events, one incident).
func BenchmarkPages(b *testing.B) {
	sim := simulateServer(b)
	base := startServer(b, sim.opt, nil)
	incs, err := sim.opt.Engine.Incidents(b.Context(), queries.Window{})
	if err != nil || len(incs) == 0 {
		b.Fatalf("no incident: %v", err)
	}
	for _, path := range []string{"/", "/incidents/" + incs[0].ID, "/changes", "/services", "/api/incidents", "/api/series", "/console?sql=SELECT+count(*)+FROM+events"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Get(base + path)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
				b.SetBytes(n)
			}
		})
	}
}
