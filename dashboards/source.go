package dashboards

import (
	"context"

	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/queries"
)

// Engine is the part of the correlation engine (queries.Engine) the
// dashboards read: what a report reads (report.Source), plus the topology
// and the named queries. Every method answers for one time window; a zero
// bound is open. dashboards/client implements the same methods over HTTP.
type Engine interface {
	report.Source
	Topology(ctx context.Context, w queries.Window) ([]queries.Edge, error)
	Named(ctx context.Context, name string, w queries.Window) (queries.Table, error)
}

// Sandbox runs analyst SQL with a timeout, row and byte caps and no access
// to files, extensions or settings (queries' sandbox), streaming the result
// to w. A refusal or a bad statement is returned as an error the caller may
// show to the user as it is.
type Sandbox interface {
	Stream(ctx context.Context, query string, w queries.RowWriter) (queries.Summary, error)
	// Export is Stream with the export caps, for downloads.
	Export(ctx context.Context, query string, w queries.RowWriter) (queries.Summary, error)
}
