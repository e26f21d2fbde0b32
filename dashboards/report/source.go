package report

import (
	"context"

	"github.com/faultline/faultline/queries"
)

// Source is what a report reads for a window: the correlation's answers,
// the error series its charts draw, and the window's totals with the state
// of ingest. *queries.Engine reads them from the DuckDB file;
// dashboards/client asks a running faultline serve for the same answers.
type Source interface {
	Impact(ctx context.Context, w queries.Window) (queries.Impact, error)
	Series(ctx context.Context, w queries.Window) ([]queries.SeriesPoint, error)
	Stats(ctx context.Context, w queries.Window, topErrors int) (queries.WindowStats, error)
}
