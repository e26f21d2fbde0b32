package status

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// WriteHealthz writes s as /healthz: "ok", or 503 and one problem per line.
func WriteHealthz(w http.ResponseWriter, s Status) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p := s.Problems(); len(p) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, line := range p {
			fmt.Fprintf(w, "unhealthy: %s\n", line)
		}
		return
	}
	fmt.Fprintln(w, "ok")
}

// WriteReadyz writes s as /readyz: {"ready": bool, "problems": [...],
// "ingest": Status}, 503 when not ready.
func WriteReadyz(w http.ResponseWriter, s Status) {
	p := s.Problems()
	if p == nil {
		p = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if len(p) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Ready    bool     `json:"ready"`
		Problems []string `json:"problems"`
		Ingest   Status   `json:"ingest"`
	}{len(p) == 0, p, s})
}
