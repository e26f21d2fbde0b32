package dashboards

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/faultline/faultline/queries"
)

// BenchmarkRefreshCache serves the overview and an incident page (what a
// live-refreshing browser tab fetches) with the cache on and off, the data
// unchanged between requests.
func BenchmarkRefreshCache(b *testing.B) {
	sim := simulateServer(b)
	incs, err := sim.opt.Engine.Incidents(b.Context(), queries.Window{})
	if err != nil || len(incs) == 0 {
		b.Fatalf("no incident: %v", err)
	}
	for _, entries := range []int{0, 256} {
		o := sim.opt
		o.Config.CacheEntries = entries
		base := startServer(b, o, nil)
		b.Run(fmt.Sprintf("cache_entries=%d", entries), func(b *testing.B) {
			for b.Loop() {
				for _, path := range []string{"/", "/incidents/" + incs[0].ID} {
					resp, err := benchGet(b, base+path)
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("%s: %d", path, resp.StatusCode)
					}
				}
			}
		})
	}
}

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
				resp, err := benchGet(b, base+path)
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

func benchGet(b *testing.B, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}
