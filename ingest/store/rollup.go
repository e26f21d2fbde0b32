package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/transform"
)

//go:embed rollups.sql
var rollupsSQL string

//go:embed migrate_v4.sql
var migrateV4SQL string

// rollupTables are the tables rollupStatements write, in their order. Each
// row carries the source range of the commit that wrote it (src, part,
// first_offset, next_offset).
var rollupTables = []string{"error_minutes", "activity_minutes", "change_events", "edge_minutes"}

// rollupStatements are the statements of rollups.sql, with {{events}} and
// {{ranges}} left to fill in.
var rollupStatements = splitStatements(rollupsSQL)

// noRanges is a {{ranges}} relation without rows: every source partition
// gets the range of its events' offsets.
const noRanges = "(SELECT NULL::VARCHAR AS src, NULL::INTEGER AS part, NULL::BIGINT AS first_offset, NULL::BIGINT AS next_offset WHERE false)"

// storedRanges is a {{ranges}} relation for the events already in a file:
// per source partition, [0, its stored position).
const storedRanges = "(SELECT source AS src, part, 0::BIGINT AS first_offset, next_offset FROM ingest_offsets)"

// rebuildSQL empties the rollup tables and computes them again from all
// events, one unit per source partition covering [0, its stored position).
var rebuildSQL = "DELETE FROM error_minutes;\nDELETE FROM activity_minutes;\nDELETE FROM change_events;\nDELETE FROM edge_minutes;\n" +
	rollupSQL("events", storedRanges)

// rebuildEdgesSQL empties edge_minutes and computes it again from all
// events (schema version 5).
var rebuildEdgesSQL = "DELETE FROM edge_minutes;\n" + fill(rollupStatements[3], "events", storedRanges) + "\n"

// RebuildRollups computes error_minutes, activity_minutes, change_events
// and edge_minutes again from the events of db, in one transaction, as the
// version 4 migration does: for a file whose events were written by SQL rather than
// by the sink (faultline bench generates its events that way), or one that
// CheckRollups found different. It reads every event.
func RebuildRollups(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rebuild rollups: %w", err)
	}
	if _, err := tx.ExecContext(ctx, rebuildSQL); err != nil {
		return errors.Join(fmt.Errorf("rebuild rollups: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rebuild rollups: commit: %w", err)
	}
	return nil
}

func splitStatements(sql string) []string {
	var out []string
	for _, part := range strings.Split(sql, "-- statement\n")[1:] {
		out = append(out, strings.TrimSpace(part))
	}
	return out
}

// rollupSQL is the rollup statements reading events from the relation
// events and ranges from ranges, as one script.
func rollupSQL(events, ranges string) string {
	var b strings.Builder
	for _, q := range rollupStatements {
		b.WriteString(fill(q, events, ranges))
		b.WriteString("\n")
	}
	return b.String()
}

// fill is the rollup statement q reading events from the relation events
// and ranges from ranges.
func fill(q, events, ranges string) string {
	return strings.ReplaceAll(strings.ReplaceAll(q, "{{events}}", events), "{{ranges}}", ranges)
}

// commitRange is the source position range of one commit in one source
// partition: [first, next).
type commitRange struct {
	src         string
	part        int32
	first, next int64
}

type partKey struct {
	src  string
	part int32
}

// errorKey and activityKey are the grouping keys of error_minutes and
// activity_minutes; a nil-able column is "" with its valid flag false.
type errorKey struct {
	pk                                                            partKey
	minute                                                        int64 // epoch microseconds
	service, region, provider, code, peer, role                   string
	hasService, hasRegion, hasProvider, hasCode, hasPeer, hasRole bool
}

type activityKey struct {
	pk                                 partKey
	minute                             int64
	service, region, provider, kind    string
	hasService, hasRegion, hasProvider bool
}

// edgeKey is the grouping key of edge_minutes.
type edgeKey struct {
	pk     partKey
	minute int64
	transform.Evidence
}

type minuteAgg struct {
	n           int64
	first, last int64 // epoch microseconds
}

func (a *minuteAgg) add(t int64) {
	if a.n == 0 || t < a.first {
		a.first = t
	}
	if a.n == 0 || t > a.last {
		a.last = t
	}
	a.n++
}

// rollup is what one batch adds to error_minutes and activity_minutes,
// computed in Go from the batch's Arrow columns the way rollups.sql
// computes it in SQL (CheckRollups compares both). DuckDB does not compute
// it from the batch's Arrow view: with duckdb-go v2.10506.0 a scan of a
// registered Go record reader that projects two or more string columns
// crashes the process, and a filter such as kind = 'change' is not applied
// (every row comes back), so only SELECT * of a view is safe.
type rollup struct {
	errors   map[errorKey]*minuteAgg
	activity map[activityKey]*minuteAgg
	edges    map[edgeKey]int64
	offsets  map[partKey][2]int64 // lowest offset, highest offset + 1 of the batch's events
}

const microsPerMinute = 60_000_000

func newRollup(rec arrow.RecordBatch) *rollup {
	r := &rollup{errors: map[errorKey]*minuteAgg{}, activity: map[activityKey]*minuteAgg{}, offsets: map[partKey][2]int64{},
		// sized for a batch of sparse CloudTrail calls (a row per few events):
		// growing it costs more than the rest of the evidence
		edges: make(map[edgeKey]int64, rec.NumRows()/4)}
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		return rec.Column(idx[0])
	}
	str := func(name string) *array.String { return col(name).(*array.String) }
	var (
		times    = col("time").(*array.Timestamp)
		kind     = str("kind")
		source   = str("source")
		service  = str("service")
		region   = str("region")
		provider = str("cloud_provider")
		code     = str("error_code")
		peer     = str("peer_service")
		actor    = str("actor")
		message  = str("message")
		attrs    = str("attributes")
		topic    = str("src_topic")
		file     = str("src_file")
		part     = col("src_partition").(*array.Int32)
		offset   = col("src_offset").(*array.Int64)
	)
	get := func(a *array.String, i int) (string, bool) {
		if a.IsNull(i) {
			return "", false
		}
		return a.Value(i), true
	}
	var finder transform.Finder // per batch: it keeps the messages, views of rec's buffers
	var buf []transform.Evidence
	for i := 0; i < int(rec.NumRows()); i++ {
		var pk partKey
		if t, ok := get(topic, i); ok {
			pk.src = "kafka:" + t
		} else {
			f, _ := get(file, i)
			pk.src = "file:" + f
		}
		if !part.IsNull(i) {
			pk.part = part.Value(i)
		}
		if !offset.IsNull(i) {
			o := offset.Value(i)
			rg, ok := r.offsets[pk]
			if !ok {
				rg = [2]int64{o, o + 1}
			}
			rg[0], rg[1] = min(rg[0], o), max(rg[1], o+1)
			r.offsets[pk] = rg
		}
		t := int64(times.Value(i))
		m := t - t%microsPerMinute
		if t < 0 && t%microsPerMinute != 0 {
			m -= microsPerMinute
		}
		ak := activityKey{pk: pk, minute: m, kind: kind.Value(i)}
		ak.service, ak.hasService = get(service, i)
		ak.region, ak.hasRegion = get(region, i)
		ak.provider, ak.hasProvider = get(provider, i)
		a := r.activity[ak]
		if a == nil {
			a = &minuteAgg{}
			r.activity[ak] = a
		}
		a.add(t)
		ev := transform.EvidenceRow{Source: source.Value(i), Kind: ak.kind, Service: ak.service, HasService: ak.hasService,
			Region: ak.region, HasRegion: ak.hasRegion}
		ev.Peer, ev.HasPeer = get(peer, i)
		ev.Message, ev.HasMessage = get(message, i)
		ev.Attributes, ev.HasAttrs = get(attrs, i)
		ev.Actor, ev.HasActor = get(actor, i)
		if key, ok := ev.Relevant(); ok {
			buf = finder.Find(&key, buf[:0])
			for _, x := range buf {
				r.edges[edgeKey{pk: pk, minute: m, Evidence: x}]++
			}
		}
		if ak.kind != "error" {
			continue
		}
		ek := errorKey{pk: pk, minute: m, service: ak.service, region: ak.region, provider: ak.provider,
			hasService: ak.hasService, hasRegion: ak.hasRegion, hasProvider: ak.hasProvider}
		ek.code, ek.hasCode = get(code, i)
		ek.peer, ek.hasPeer = ev.Peer, ev.HasPeer
		if ev.Source == transform.SourceCloudTrail && ev.HasActor {
			ek.role, ek.hasRole = assumedRole(ev.Actor)
		}
		e := r.errors[ek]
		if e == nil {
			e = &minuteAgg{}
			r.errors[ek] = e
		}
		e.add(t)
	}
	return r
}

// assumedRole is 'role:<name>/<session>' for an actor ARN of an assumed
// role (arn:aws:sts::<account>:assumed-role/<name>/<session>), as
// rollups.sql derives it with regexp_extract(actor, ':assumed-role/(.*)$').
func assumedRole(actor string) (string, bool) {
	if !strings.Contains(actor, ":assumed-role/") {
		return "", false
	}
	// RE2's '.' stops at a newline and '$' is the end of the text: the
	// match is the first occurrence after the last newline, else none ('').
	tail := actor[strings.LastIndexByte(actor, '\n')+1:]
	_, rest, _ := strings.Cut(tail, ":assumed-role/")
	return "role:" + rest, true
}

// compareErrorKeys and compareActivityKeys order a batch's rows by source
// partition, minute, then the rest of the key. Rows written in this order
// keep a row group's minute, first_time and last_time within a few minutes
// of each other, which DuckDB's bit packing stores in fewer bits than rows
// in Go's map order (error_minutes of sparse application errors: 5.2 ->
// 3.3 bytes per event, docs/benchmarks.md).
func compareErrorKeys(a, b errorKey) int {
	return cmp.Or(cmp.Compare(a.pk.src, b.pk.src), cmp.Compare(a.pk.part, b.pk.part), cmp.Compare(a.minute, b.minute),
		compareOpt(a.service, a.hasService, b.service, b.hasService), compareOpt(a.region, a.hasRegion, b.region, b.hasRegion),
		compareOpt(a.provider, a.hasProvider, b.provider, b.hasProvider), compareOpt(a.code, a.hasCode, b.code, b.hasCode),
		compareOpt(a.peer, a.hasPeer, b.peer, b.hasPeer), compareOpt(a.role, a.hasRole, b.role, b.hasRole))
}

func compareActivityKeys(a, b activityKey) int {
	return cmp.Or(cmp.Compare(a.pk.src, b.pk.src), cmp.Compare(a.pk.part, b.pk.part), cmp.Compare(a.minute, b.minute),
		compareOpt(a.service, a.hasService, b.service, b.hasService), compareOpt(a.region, a.hasRegion, b.region, b.hasRegion),
		compareOpt(a.provider, a.hasProvider, b.provider, b.hasProvider), cmp.Compare(a.kind, b.kind))
}

// compareEdgeKeys orders edge_minutes rows by source partition and minute
// only (what makes their times pack); within a minute the order is the
// map's, which costs a third less to sort than the whole key.
func compareEdgeKeys(a, b edgeKey) int {
	return cmp.Or(cmp.Compare(a.minute, b.minute), cmp.Compare(a.pk.src, b.pk.src), cmp.Compare(a.pk.part, b.pk.part))
}

// compareOpt orders a nil-able key column: NULL (ok false) last, as
// DuckDB's ORDER BY does.
func compareOpt(a string, aok bool, b string, bok bool) int {
	if aok != bok {
		if aok {
			return -1
		}
		return 1
	}
	return cmp.Compare(a, b)
}

// append writes r's rows to error_minutes and activity_minutes with the
// ranges of ranges (keyed by source partition); a partition without one
// gets the range of its events' offsets in the batch. Rows are written in
// key order (compareErrorKeys), not map order.
func (r *rollup) append(c driver.Conn, ranges map[partKey]commitRange) error {
	rangeOf := func(pk partKey) (int64, int64) { return r.rangeOf(pk, ranges) }
	opt := func(s string, ok bool) any {
		if !ok {
			return nil
		}
		return s
	}
	ts := func(us int64) time.Time { return time.UnixMicro(us).UTC() }
	ap, err := duckdb.NewAppenderFromConn(c, "", "error_minutes")
	if err != nil {
		return fmt.Errorf("error_minutes appender: %w", err)
	}
	errorKeys := slices.SortedFunc(maps.Keys(r.errors), compareErrorKeys)
	for _, k := range errorKeys {
		a := r.errors[k]
		first, next := rangeOf(k.pk)
		err := ap.AppendRow(k.pk.src, k.pk.part, first, next, ts(k.minute),
			opt(k.service, k.hasService), opt(k.region, k.hasRegion), opt(k.provider, k.hasProvider),
			opt(k.code, k.hasCode), opt(k.peer, k.hasPeer), opt(k.role, k.hasRole),
			a.n, ts(a.first), ts(a.last))
		if err != nil {
			ap.Close()
			return fmt.Errorf("append to error_minutes: %w", err)
		}
	}
	if err := ap.Close(); err != nil {
		return fmt.Errorf("flush error_minutes: %w", err)
	}
	ap, err = duckdb.NewAppenderFromConn(c, "", "activity_minutes")
	if err != nil {
		return fmt.Errorf("activity_minutes appender: %w", err)
	}
	activityKeys := slices.SortedFunc(maps.Keys(r.activity), compareActivityKeys)
	for _, k := range activityKeys {
		a := r.activity[k]
		first, next := rangeOf(k.pk)
		err := ap.AppendRow(k.pk.src, k.pk.part, first, next, ts(k.minute),
			opt(k.service, k.hasService), opt(k.region, k.hasRegion), opt(k.provider, k.hasProvider), k.kind,
			a.n, ts(a.first), ts(a.last))
		if err != nil {
			ap.Close()
			return fmt.Errorf("append to activity_minutes: %w", err)
		}
	}
	if err := ap.Close(); err != nil {
		return fmt.Errorf("flush activity_minutes: %w", err)
	}
	return nil
}

// edgeSchema is the Arrow schema of edge_minutes' rows.
var edgeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "src", Type: arrow.BinaryTypes.String}, {Name: "part", Type: arrow.PrimitiveTypes.Int32},
	{Name: "first_offset", Type: arrow.PrimitiveTypes.Int64}, {Name: "next_offset", Type: arrow.PrimitiveTypes.Int64},
	{Name: "minute", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "from_service", Type: arrow.BinaryTypes.String}, {Name: "origin", Type: arrow.BinaryTypes.String},
	{Name: "ref", Type: arrow.BinaryTypes.String}, {Name: "events", Type: arrow.PrimitiveTypes.Int64},
}, nil)

// edgeRecord is r's edge_minutes rows in minute order (compareEdgeKeys) with
// the ranges of ranges, as an Arrow record (inserted through a view: as
// many rows as a batch has CloudTrail calls cost several times as much
// through the row appender), or nil when there are none. The caller
// releases it.
func (r *rollup) edgeRecord(mem memory.Allocator, ranges map[partKey]commitRange) arrow.RecordBatch {
	if len(r.edges) == 0 {
		return nil
	}
	b := array.NewRecordBuilder(mem, edgeSchema)
	defer b.Release()
	b.Reserve(len(r.edges))
	src, part := b.Field(0).(*array.StringBuilder), b.Field(1).(*array.Int32Builder)
	first, next := b.Field(2).(*array.Int64Builder), b.Field(3).(*array.Int64Builder)
	minute := b.Field(4).(*array.TimestampBuilder)
	from, origin, ref := b.Field(5).(*array.StringBuilder), b.Field(6).(*array.StringBuilder), b.Field(7).(*array.StringBuilder)
	events := b.Field(8).(*array.Int64Builder)
	for _, k := range slices.SortedFunc(maps.Keys(r.edges), compareEdgeKeys) {
		f, n := r.rangeOf(k.pk, ranges)
		src.Append(k.pk.src)
		part.Append(k.pk.part)
		first.Append(f)
		next.Append(n)
		minute.Append(arrow.Timestamp(k.minute))
		from.Append(k.From)
		origin.Append(k.Origin)
		ref.Append(k.Ref)
		events.Append(r.edges[k])
	}
	return b.NewRecordBatch()
}

// changeRecord is the change events of rec (kind = 'change') with the
// change_events columns after the events' (src, part, first_offset,
// next_offset), or nil when rec has none. The caller releases it.
func changeRecord(mem memory.Allocator, rec arrow.RecordBatch, ranges map[partKey]commitRange, r *rollup) (arrow.RecordBatch, error) {
	kind := rec.Column(rec.Schema().FieldIndices("kind")[0]).(*array.String)
	topic := rec.Column(rec.Schema().FieldIndices("src_topic")[0]).(*array.String)
	file := rec.Column(rec.Schema().FieldIndices("src_file")[0]).(*array.String)
	part := rec.Column(rec.Schema().FieldIndices("src_partition")[0]).(*array.Int32)
	var runs [][2]int64 // [from, to) of consecutive change rows
	src := array.NewStringBuilder(mem)
	defer src.Release()
	parts := array.NewInt32Builder(mem)
	defer parts.Release()
	firsts := array.NewInt64Builder(mem)
	defer firsts.Release()
	nexts := array.NewInt64Builder(mem)
	defer nexts.Release()
	for i := 0; i < int(rec.NumRows()); i++ {
		if kind.Value(i) != "change" {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1] == int64(i) {
			runs[n-1][1]++
		} else {
			runs = append(runs, [2]int64{int64(i), int64(i) + 1})
		}
		var pk partKey
		if topic.IsValid(i) {
			pk.src = "kafka:" + topic.Value(i)
		} else {
			pk.src = "file:" + file.Value(i)
		}
		if part.IsValid(i) {
			pk.part = part.Value(i)
		}
		first, next := r.rangeOf(pk, ranges)
		src.Append(pk.src)
		parts.Append(pk.part)
		firsts.Append(first)
		nexts.Append(next)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	cols := make([]arrow.Array, 0, rec.NumCols()+4)
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, c := range rec.Columns() {
		pieces := make([]arrow.Array, len(runs))
		for j, rg := range runs {
			pieces[j] = array.NewSlice(c, rg[0], rg[1])
		}
		col, err := array.Concatenate(pieces, mem)
		for _, p := range pieces {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("collect change events: %w", err)
		}
		cols = append(cols, col)
	}
	cols = append(cols, src.NewArray(), parts.NewArray(), firsts.NewArray(), nexts.NewArray())
	fields := append(append([]arrow.Field(nil), rec.Schema().Fields()...),
		arrow.Field{Name: "src", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "part", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "first_offset", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "next_offset", Type: arrow.PrimitiveTypes.Int64})
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len())), nil
}

// rangeOf is the range of source partition pk: the commit's, else the
// range of the batch's events' offsets.
func (r *rollup) rangeOf(pk partKey, ranges map[partKey]commitRange) (int64, int64) {
	if rg, ok := ranges[pk]; ok {
		return rg.first, rg.next
	}
	o := r.offsets[pk]
	return o[0], o[1]
}

// rollupChecks compare each rollup table with a recomputation (want_<table>)
// summed over its key, without the commit ranges (a recomputation makes one
// unit per source partition).
var rollupChecks = map[string]string{
	"error_minutes": `SELECT src, part, minute, service, region, cloud_provider, error_code, peer_service, role,
		sum(errors), min(first_time), max(last_time) FROM %s GROUP BY ALL`,
	"activity_minutes": `SELECT src, part, minute, service, region, cloud_provider, kind,
		sum(events), min(first_time), max(last_time) FROM %s GROUP BY ALL`,
	"change_events": `SELECT * EXCLUDE (first_offset, next_offset, attributes), CAST(attributes AS VARCHAR) FROM %s`,
	"edge_minutes":  `SELECT src, part, minute, from_service, origin, ref, sum(events) FROM %s GROUP BY ALL`,
}

// CheckRollups recomputes error_minutes, activity_minutes, change_events
// and edge_minutes from the events (with rollups.sql, in SQL, while the
// sink computes the minutes and the evidence in Go) and says where the stored ones differ, summed per key: nil
// when they agree. It writes nothing. Relays and tests run it after
// applying commits; it scans the whole events table.
func (db *DB) CheckRollups(ctx context.Context) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the transaction only held temp tables
	q := rollupSQL("events", noRanges)
	for _, t := range rollupTables {
		if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE want_"+t+" AS SELECT * FROM "+t+" LIMIT 0"); err != nil {
			return fmt.Errorf("check rollups: %w", err)
		}
		q = strings.ReplaceAll(q, "INSERT INTO "+t+"\n", "INSERT INTO temp.want_"+t+"\n")
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("check rollups: recompute from events: %w", err)
	}
	var errs []error
	for _, t := range rollupTables {
		have, want := fmt.Sprintf(rollupChecks[t], t), fmt.Sprintf(rollupChecks[t], "temp.want_"+t)
		var extra, missing int64
		var sample sql.NullString
		err := conn.QueryRowContext(ctx, `WITH have AS (`+have+`), want AS (`+want+`),
			extra AS (SELECT * FROM have EXCEPT ALL SELECT * FROM want),
			missing AS (SELECT * FROM want EXCEPT ALL SELECT * FROM have)
			SELECT (SELECT count(*) FROM extra), (SELECT count(*) FROM missing),
			       coalesce((SELECT CAST(x AS VARCHAR) FROM extra x LIMIT 1), (SELECT CAST(x AS VARCHAR) FROM missing x LIMIT 1))`).
			Scan(&extra, &missing, &sample)
		if err != nil {
			return fmt.Errorf("check rollups: compare %s: %w", t, err)
		}
		if extra+missing > 0 {
			errs = append(errs, fmt.Errorf("%s differs from a recomputation from events: %d rows only stored, %d only recomputed (e.g. %s)", t, extra, missing, sample.String))
		}
	}
	return errors.Join(errs...)
}
