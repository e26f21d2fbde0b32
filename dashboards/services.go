package dashboards

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/faultline/faultline/queries"
)

// Service is one node of the services page and /api/services.
type Service struct {
	Name         string    `json:"service"`
	State        string    `json:"state"` // "spiking" (in an ongoing incident or erroring now) or "healthy"
	Events       int64     `json:"events"`
	Errors       int64     `json:"errors"`
	RecentErrors int64     `json:"recent_errors"` // in the window's last 10 minutes
	Changes      int64     `json:"changes"`
	LastError    time.Time `json:"last_error,omitzero"`
	DependsOn    []string  `json:"depends_on"`
	Incidents    []string  `json:"incidents"` // incidents in the window this service took part in
}

// services joins per-service activity, the topology's dependencies and the
// incidents of the window into the topology with current state. It prunes
// edges (pruneEdges) to the services with events in w, else every inferred
// endpoint would become a service, and returns the pruned edges.
func (s *Server) services(ctx context.Context, w queries.Window) ([]Service, []queries.Edge, error) {
	incs, err := s.incidents(ctx, w)
	if err != nil {
		return nil, nil, fmt.Errorf("find incidents: %w", err)
	}
	edges, err := s.topology(ctx, w)
	if err != nil {
		return nil, nil, fmt.Errorf("read topology: %w", err)
	}
	activity, err := s.engine.ServiceActivity(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	svcs, edges := joinServices(activity, edges, incs)
	return svcs, edges, nil
}

func joinServices(activity []queries.ServiceActivity, edges []queries.Edge, incidents []queries.Incident) ([]Service, []queries.Edge) {
	byName := map[string]*Service{}
	get := func(name string) *Service {
		if sv, ok := byName[name]; ok {
			return sv
		}
		sv := &Service{Name: name, State: "healthy", DependsOn: []string{}, Incidents: []string{}}
		byName[name] = sv
		return sv
	}
	for _, a := range activity {
		sv := get(a.Service)
		sv.Events, sv.Errors, sv.Changes, sv.RecentErrors, sv.LastError = a.Events, a.Errors, a.Changes, a.RecentErrors, a.LastError
	}
	// The activity rows are exactly the services with events in w.
	names := make(map[string]bool, len(byName))
	for name := range byName {
		names[name] = true
	}
	edges = pruneEdges(edges, names)

	for _, e := range edges {
		sv := get(e.From)
		get(e.To)
		if !slices.Contains(sv.DependsOn, e.To) {
			sv.DependsOn = append(sv.DependsOn, e.To)
		}
	}
	for _, inc := range incidents {
		for _, name := range inc.Services {
			sv := get(name)
			sv.Incidents = append(sv.Incidents, inc.ID)
			if inc.Ongoing {
				sv.State = "spiking"
			}
		}
	}
	out := make([]Service, 0, len(byName))
	for _, sv := range byName {
		sort.Strings(sv.DependsOn)
		out = append(out, *sv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, edges
}

// pruneEdges keeps configured dependencies and inferred ones between
// services that have events in the window: inference from messages can
// name many one-off endpoints (load balancer DNS names) that would bury the
// topology.
func pruneEdges(edges []queries.Edge, svcs map[string]bool) []queries.Edge {
	out := make([]queries.Edge, 0, len(edges))
	for _, e := range edges {
		if e.Origin == "config" || (svcs[e.From] && svcs[e.To]) {
			out = append(out, e)
		}
	}
	return out
}
