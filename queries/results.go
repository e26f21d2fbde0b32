package queries

import "time"

// This file is the contract between the read model and its users (faultline
// query, reports, dashboards): the result types of the correlation. Field
// names mirror the SQL result columns of the named queries. The listings and
// the ingest state have theirs in reads.go.

// Window bounds a query in time: Since inclusive, Until exclusive. A zero
// bound is open; Bounds says what it reads as. It is the one window type of
// every read, report and page.
type Window struct {
	Since time.Time `json:"since,omitzero"` // absent: open
	Until time.Time `json:"until,omitzero"`
}

// What an open bound reads as: events before the Unix epoch or from year
// 9999 on are outside every window.
var (
	openSince = time.Unix(0, 0).UTC()
	openUntil = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Bounds returns the window's bounds in UTC with the open ones filled in.
func (w Window) Bounds() (since, until time.Time) {
	since, until = w.Since.UTC(), w.Until.UTC()
	if w.Since.IsZero() {
		since = openSince
	}
	if w.Until.IsZero() {
		until = openUntil
	}
	return since, until
}

// Incident groups spikes across services that belong together.
type Incident struct {
	ID               string    `json:"incident_id"` // stable: derived from onset minute and first service
	Onset            time.Time `json:"onset"`
	Peak             time.Time `json:"peak"`
	Recovery         time.Time `json:"recovery"` // zero while ongoing
	Ongoing          bool      `json:"ongoing"`
	Services         []string  `json:"services"` // in order of onset
	Regions          []string  `json:"regions"`
	PeakErrorsPerMin int64     `json:"peak_errors_per_min"`
	TotalErrors      int64     `json:"total_errors"`

	rise time.Time // where its errors began to rise (the suspects' look-back starts there); the spikes query shows it
}

// Suspect is one ranked change for an incident, with its evidence.
type Suspect struct {
	IncidentID  string             `json:"incident_id"`
	Rank        int                `json:"rank"`
	EventID     string             `json:"event_id"`
	Time        time.Time          `json:"time"`
	Source      string             `json:"source"`
	Service     string             `json:"service"`
	Operation   string             `json:"operation"`
	Resource    string             `json:"resource"`
	Actor       string             `json:"actor"`
	Region      string             `json:"region"`
	AccountID   string             `json:"account_id"`
	ChangeType  string             `json:"change_type"`
	RiskClass   string             `json:"risk_class"`
	LeadMinutes float64            `json:"lead_minutes"` // onset minus change time
	Score       float64            `json:"score"`        // 0..1
	Components  map[string]float64 `json:"components"`   // each weighted part of the score
	Evidence    string             `json:"evidence"`     // the score in words
}

// CascadeStep is one service in the order the incident reached it.
type CascadeStep struct {
	IncidentID       string    `json:"incident_id"`
	Order            int       `json:"order"` // 1 = first to break
	Service          string    `json:"service"`
	Region           string    `json:"region"`
	Onset            time.Time `json:"onset"`
	PeakErrorsPerMin int64     `json:"peak_errors_per_min"`
	Errors           int64     `json:"errors"`
	Via              []string  `json:"via"` // services it depends on that broke before it (topology edges)
}

// RegionShare is one region's share of an incident's (or the window's) errors and changes.
type RegionShare struct {
	IncidentID  string  `json:"incident_id"` // "" for the whole window
	Provider    string  `json:"provider"`    // cloud provider of the region (aws, gcp, azure; "aws+gcp" for a shared 'global'; "" when no event says)
	Region      string  `json:"region"`
	Errors      int64   `json:"errors"`
	Changes     int64   `json:"changes"`
	ErrorShare  float64 `json:"error_share"`
	ChangeShare float64 `json:"change_share"`
	Warning     string  `json:"warning"` // set when the incident is confined to one region: "97% of the errors on gcp/us-east1 ..."
}

// Where names the region with its provider, "aws/us-east-1", or the bare
// region when no event names the provider.
func (r RegionShare) Where() string {
	if r.Provider == "" {
		return r.Region
	}
	return r.Provider + "/" + r.Region
}

// ChangeFailure is the change failure rate for one value of a dimension.
type ChangeFailure struct {
	Dimension string  `json:"dimension"` // operation, service, actor or change_type
	Value     string  `json:"value"`
	Changes   int64   `json:"changes"`
	Failed    int64   `json:"failed"` // changes followed by an incident they are a top-3 suspect of
	Rate      float64 `json:"rate"`
}

// SeriesPoint is the error count of one service and region in one minute.
type SeriesPoint struct {
	Service string    `json:"service"`
	Region  string    `json:"region"`
	Minute  time.Time `json:"minute"`
	Errors  int64     `json:"errors"`
	Events  int64     `json:"events"`
}

// Table is a generic result: what ad-hoc SQL and named queries return to
// the CLI and the HTTP API.
type Table struct {
	Columns []string `json:"columns"`
	// Types are the columns' DuckDB type names, as Column.Type carries
	// them (VARCHAR, BIGINT, TIMESTAMPTZ...); nil when unknown.
	Types     []string `json:"column_types,omitempty"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"` // a cap cut the result
	// TruncatedBy names the cap: "query.max_rows" or "query.max_bytes".
	TruncatedBy string `json:"truncated_by,omitempty"`
}

// Spike is one run of consecutive (allowing short gaps) spike minutes of one
// service and region: what incidents are built from.
type Spike struct {
	IncidentID   string    `json:"incident_id"` // "" when too small to form an incident
	Service      string    `json:"service"`
	Region       string    `json:"region"`
	Rise         time.Time `json:"rise"`          // where its errors began to rise: Start, or earlier for a slow ramp
	Start        time.Time `json:"start"`         // first spike minute
	End          time.Time `json:"end"`           // last spike minute
	SpikeMinutes int64     `json:"spike_minutes"` // minutes over the threshold
	Peak         time.Time `json:"peak"`
	PeakErrors   int64     `json:"peak_errors"` // errors in the peak minute
	Errors       int64     `json:"errors"`      // errors in the spike minutes
	Baseline     float64   `json:"baseline"`    // baseline errors/min at Start
	Threshold    float64   `json:"threshold"`   // threshold errors/min at Start
}

// Edge is one dependency of the service topology: From depends on To.
type Edge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Origin string `json:"origin"` // config, attribute, peer_service, message, config_relationship, cloudtrail_role, association
	Events int64  `json:"events"` // events that showed it (0 for config)
}
