package queries

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The correlation's answers as table functions, so that analyst SQL (the
// console, faultline query, a PostgreSQL client such as Grafana) can read
// and join them:
//
//	SELECT * FROM faultline_incidents() WHERE onset >= now() - INTERVAL 1 DAY
//	SELECT * FROM faultline_suspects() WHERE rank = 1
//
// They are computed by the Engine over all the data when the statement is
// bound, exactly as GET /api/incidents and /api/suspects compute them with
// no time range (nothing is stored), so they see late events; filter them
// with WHERE. They take no arguments on purpose: duckdb-go aborts the
// process when a table function's argument is NULL (getValue on a NULL
// value), and analyst SQL can always pass one.
// The sandbox's wall allows them (tableFunctions).

// RegisterTableFunctions registers faultline_incidents and
// faultline_suspects on db (DuckDB keeps them for every connection).
func RegisterTableFunctions(ctx context.Context, db *sql.DB, e *Engine) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var cfg duckdb.TableFunctionConfig // no arguments (see above)
	incidents := duckdb.RowTableFunction{Config: cfg, BindArgumentsContext: func(ctx context.Context, _ map[string]any, _ ...any) (duckdb.RowTableSource, error) {
		w := Window{}
		incs, err := e.Incidents(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("faultline_incidents: %w", err)
		}
		sus, err := e.Suspects(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("faultline_incidents: %w", err)
		}
		top := map[string]Suspect{}
		for _, s := range sus {
			if s.Rank == 1 {
				top[s.IncidentID] = s
			}
		}
		rows := make([][]any, len(incs))
		for i, inc := range incs {
			s, ok := top[inc.ID]
			rows[i] = []any{inc.ID, inc.Onset, inc.Peak, nullTime(inc.Recovery), inc.Ongoing, inc.Services, inc.Regions,
				inc.PeakErrorsPerMin, inc.TotalErrors, nullIf(ok, s.EventID), nullIf(ok, s.Operation), nullIf(ok, s.Service),
				nullIf(ok, s.Resource), nullIf(ok, s.Actor), nullIf(ok, s.Score), nullIf(ok, s.Evidence)}
		}
		return newRowSource(incidentColumns, rows)
	}}
	if err := duckdb.RegisterTableUDF(conn, "faultline_incidents", incidents); err != nil {
		return fmt.Errorf("register faultline_incidents: %w", err)
	}
	suspects := duckdb.RowTableFunction{Config: cfg, BindArgumentsContext: func(ctx context.Context, _ map[string]any, _ ...any) (duckdb.RowTableSource, error) {
		sus, err := e.Suspects(ctx, Window{})
		if err != nil {
			return nil, fmt.Errorf("faultline_suspects: %w", err)
		}
		rows := make([][]any, len(sus))
		for i, s := range sus {
			rows[i] = []any{s.IncidentID, int32(s.Rank), s.EventID, s.Time, s.Source, s.Service, s.Operation, s.Resource, s.Actor,
				s.Region, s.ChangeType, s.RiskClass, s.LeadMinutes, s.Score, s.Evidence}
		}
		return newRowSource(suspectColumns, rows)
	}}
	if err := duckdb.RegisterTableUDF(conn, "faultline_suspects", suspects); err != nil {
		return fmt.Errorf("register faultline_suspects: %w", err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullIf(ok bool, v any) any {
	if !ok {
		return nil
	}
	return v
}

type column struct {
	name string
	typ  duckdb.Type
	list bool
}

var incidentColumns = []column{
	{"incident_id", duckdb.TYPE_VARCHAR, false}, {"onset", duckdb.TYPE_TIMESTAMP_TZ, false},
	{"peak", duckdb.TYPE_TIMESTAMP_TZ, false}, {"recovery", duckdb.TYPE_TIMESTAMP_TZ, false},
	{"ongoing", duckdb.TYPE_BOOLEAN, false}, {"services", duckdb.TYPE_VARCHAR, true}, {"regions", duckdb.TYPE_VARCHAR, true},
	{"peak_errors_per_min", duckdb.TYPE_BIGINT, false}, {"total_errors", duckdb.TYPE_BIGINT, false},
	{"top_suspect_event_id", duckdb.TYPE_VARCHAR, false}, {"top_suspect_operation", duckdb.TYPE_VARCHAR, false},
	{"top_suspect_service", duckdb.TYPE_VARCHAR, false}, {"top_suspect_resource", duckdb.TYPE_VARCHAR, false},
	{"top_suspect_actor", duckdb.TYPE_VARCHAR, false}, {"top_suspect_score", duckdb.TYPE_DOUBLE, false},
	{"top_suspect_evidence", duckdb.TYPE_VARCHAR, false},
}

var suspectColumns = []column{
	{"incident_id", duckdb.TYPE_VARCHAR, false}, {"rank", duckdb.TYPE_INTEGER, false}, {"event_id", duckdb.TYPE_VARCHAR, false},
	{"time", duckdb.TYPE_TIMESTAMP_TZ, false}, {"source", duckdb.TYPE_VARCHAR, false}, {"service", duckdb.TYPE_VARCHAR, false},
	{"operation", duckdb.TYPE_VARCHAR, false}, {"resource", duckdb.TYPE_VARCHAR, false}, {"actor", duckdb.TYPE_VARCHAR, false},
	{"region", duckdb.TYPE_VARCHAR, false}, {"change_type", duckdb.TYPE_VARCHAR, false}, {"risk_class", duckdb.TYPE_VARCHAR, false},
	{"lead_minutes", duckdb.TYPE_DOUBLE, false}, {"score", duckdb.TYPE_DOUBLE, false}, {"evidence", duckdb.TYPE_VARCHAR, false},
}

// rowSource serves rows computed at bind time (duckdb.RowTableSource).
type rowSource struct {
	cols []duckdb.ColumnInfo
	rows [][]any
	next int
}

func newRowSource(cols []column, rows [][]any) (*rowSource, error) {
	rs := &rowSource{rows: rows, cols: make([]duckdb.ColumnInfo, len(cols))}
	for i, c := range cols {
		info, err := duckdb.NewTypeInfo(c.typ)
		if err != nil {
			return nil, err
		}
		if c.list {
			if info, err = duckdb.NewListInfo(info); err != nil {
				return nil, err
			}
		}
		rs.cols[i] = duckdb.ColumnInfo{Name: c.name, T: info}
	}
	return rs, nil
}

func (r *rowSource) ColumnInfos() []duckdb.ColumnInfo { return r.cols }

func (r *rowSource) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(len(r.rows)), Exact: true}
}

func (r *rowSource) Init() {}

func (r *rowSource) FillRow(row duckdb.Row) (bool, error) {
	if r.next >= len(r.rows) {
		return false, nil
	}
	for i, v := range r.rows[r.next] {
		if err := row.SetRowValue(i, v); err != nil {
			return false, fmt.Errorf("column %s: %w", r.cols[i].Name, err)
		}
	}
	r.next++
	return true, nil
}
