package pgwire

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/faultline/faultline/queries"
)

// prepared is a parsed statement (Parse).
type prepared struct {
	plan   plan
	cols   []queries.Column // kSelect, kShow, kFetch: what it returns
	params []uint32         // parameter type OIDs
}

// portal is a bound statement (Bind) or a DECLAREd cursor: a statement
// with its parameter values, result formats and, once executed, its rows.
type portal struct {
	stmt    *prepared
	args    []any
	formats []int16
	hold    bool // a cursor WITH HOLD outlives its transaction
	cur     *cursor
	done    bool
}

func (p *portal) close() {
	if p.cur != nil {
		p.cur.close()
	}
}

// simpleQuery answers a Query message: each statement in turn, text
// results, stopping at the first error; then ReadyForQuery.
func (c *conn) simpleQuery(ctx context.Context, sql string) error {
	defer func() { c.skip = false }()
	stmts, err := queries.SplitStatements(sql)
	if err != nil {
		stmts = []string{sql} // the sandbox says what is wrong
	}
	if len(stmts) == 0 {
		_ = c.send(&pgproto3.EmptyQueryResponse{})
	}
	for _, s := range stmts {
		p := c.classify(ctx, s)
		st := &prepared{plan: p}
		if err := c.run(ctx, &portal{stmt: st}, 0, true); err != nil {
			if errors.Is(err, errWrite) {
				return err
			}
			if err := c.fail(err); err != nil {
				return err
			}
			break
		}
	}
	if c.txn == 'I' {
		c.closeCursors()
	}
	_ = c.send(&pgproto3.ReadyForQuery{TxStatus: c.txn})
	return c.flush()
}

// classify is classify for this session. SHOW name, for a name that is no
// session setting, is DuckDB's DESCRIBE of the table or view of that name
// (SHOW events), else DuckDB's setting as current_setting answers it (SHOW
// memory_limit), else an error naming both: the sandbox answered that no
// table memory_limit exists (as 53200, out of memory, for its name).
func (c *conn) classify(ctx context.Context, sql string) plan {
	p := classify(sql, c.srv.version, c.lookup)
	if p.setting == "" {
		return p
	}
	if _, err := c.srv.sb.Describe(ctx, p.sql); !errors.Is(err, queries.ErrRefused) {
		return p // a table, or an error of its own (busy, cancelled)
	}
	q := "SELECT current_setting(" + quote(p.setting) + ")::VARCHAR AS \"" + strings.ReplaceAll(p.setting, `"`, `""`) + "\""
	if _, err := c.srv.sb.Describe(ctx, q); err != nil {
		return plan{kind: kRefuse, err: pgError{code: "42704", msg: fmt.Sprintf("SHOW %s: no table, view or setting has this name: SHOW TABLES lists the tables, SHOW ALL the session's settings; DuckDB's are read with SHOW name too (SHOW memory_limit)", p.setting)}}
	}
	p.sql = q
	return p
}

// errWrite wraps a failure to write to the client: the connection ends.
var errWrite = errors.New("write to the client")

// parse answers Parse: session statements are classified, analyst SQL is
// checked and described by the sandbox now, so that errors come at Parse
// as they do from PostgreSQL.
func (c *conn) parse(ctx context.Context, m *pgproto3.Parse) error {
	p := c.classify(ctx, m.Query)
	st := &prepared{plan: p, params: append([]uint32(nil), m.ParameterOIDs...)}
	switch p.kind {
	case kSelect, kDeclare:
		d, err := c.srv.sb.Describe(ctx, p.sql)
		if err != nil {
			return c.fail(err)
		}
		if p.kind == kSelect {
			st.cols = d.Columns
		}
		for i, t := range d.Params {
			if i >= len(st.params) {
				st.params = append(st.params, 0)
			}
			if st.params[i] == 0 {
				st.params[i] = paramOID(t)
			}
		}
	case kShow:
		st.cols = c.showColumns(p.name)
	case kRefuse:
		return c.fail(p.err)
	}
	c.stmts[m.Name] = st
	return c.send(&pgproto3.ParseComplete{})
}

func (c *conn) showColumns(name string) []queries.Column {
	if name == "all" {
		return []queries.Column{{Name: "name", Type: "VARCHAR"}, {Name: "setting", Type: "VARCHAR"}, {Name: "description", Type: "VARCHAR"}}
	}
	return []queries.Column{{Name: name, Type: "VARCHAR"}}
}

// bind answers Bind: the parameters are decoded by their types and kept
// as values for DuckDB to bind.
func (c *conn) bind(m *pgproto3.Bind) error {
	st, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return c.fail(pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)})
	}
	if len(m.Parameters) != len(st.params) && !(len(st.params) == 0 && st.plan.kind != kSelect && st.plan.kind != kDeclare) {
		return c.fail(pgError{code: "08P01", msg: fmt.Sprintf("bind message supplies %d parameters, but the statement needs %d", len(m.Parameters), len(st.params))})
	}
	args := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		oid := uint32(pgtype.TextOID)
		if i < len(st.params) {
			oid = st.params[i]
		}
		v, err := decodeParam(c.m, oid, formatOf(m.ParameterFormatCodes, i), raw)
		if err != nil {
			return c.fail(pgError{code: "22P02", msg: fmt.Sprintf("parameter $%d: %v", i+1, err)})
		}
		args[i] = v
	}
	if old := c.portals[m.DestinationPortal]; old != nil {
		old.close()
	}
	c.portals[m.DestinationPortal] = &portal{stmt: st, args: args, formats: append([]int16(nil), m.ResultFormatCodes...)}
	return c.send(&pgproto3.BindComplete{})
}

// describe answers Describe of a statement (its parameters and columns, as
// text) or a portal (its columns in the formats it was bound with).
func (c *conn) describe(m *pgproto3.Describe) error {
	if m.ObjectType == 'S' {
		st, ok := c.stmts[m.Name]
		if !ok {
			return c.fail(pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.Name)})
		}
		_ = c.send(&pgproto3.ParameterDescription{ParameterOIDs: st.params})
		return c.sendDescription(c.columnsOf(st), nil)
	}
	p, ok := c.portals[m.Name]
	if !ok {
		return c.fail(pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Name)})
	}
	return c.sendDescription(c.columnsOf(p.stmt), p.formats)
}

// columnsOf is what a statement returns; a FETCH returns its cursor's.
func (c *conn) columnsOf(st *prepared) []queries.Column {
	if st.plan.kind == kFetch {
		if cur := c.portals[st.plan.name]; cur != nil && cur.stmt != nil {
			return cur.stmt.cols
		}
	}
	return st.cols
}

func (c *conn) sendDescription(cols []queries.Column, formats []int16) error {
	if cols == nil {
		return c.send(&pgproto3.NoData{})
	}
	return c.send(rowDescription(cols, formats))
}

func rowDescription(cols []queries.Column, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(cols))}
	for i, col := range cols {
		t := typeOf(col.Type)
		rd.Fields[i] = pgproto3.FieldDescription{Name: []byte(col.Name), DataTypeOID: t.oid, DataTypeSize: t.size,
			TypeModifier: -1, Format: formatOf(formats, i)}
	}
	return rd
}

// execute answers Execute: up to MaxRows rows (0 = all) of the portal.
func (c *conn) execute(ctx context.Context, m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return c.fail(pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", m.Portal)})
	}
	err := c.run(ctx, p, int(m.MaxRows), false)
	if err != nil && !errors.Is(err, errWrite) {
		return c.fail(err)
	}
	return err
}

// run executes a portal: a session statement, or rows from the sandbox.
// describe sends the RowDescription first (the simple protocol does; the
// extended one describes separately). Errors wrapping errWrite end the
// connection; others are the statement's.
func (c *conn) run(ctx context.Context, p *portal, maxRows int, describe bool) error {
	pl := p.stmt.plan
	switch pl.kind {
	case kEmpty:
		return c.write(&pgproto3.EmptyQueryResponse{})
	case kRefuse:
		return pl.err
	case kTxn:
		if pl.txn == 'I' {
			c.closeCursors()
		}
		c.txn = pl.txn
		return c.complete(pl.tag)
	case kNoop:
		return c.complete(pl.tag)
	case kSet:
		if pl.name != "" {
			if err := c.set(pl.name, pl.value); err != nil {
				return err
			}
			for _, r := range reported {
				if strings.EqualFold(r, pl.name) {
					_ = c.send(&pgproto3.ParameterStatus{Name: r, Value: c.setting(r)})
				}
			}
		}
		return c.complete(pl.tag)
	case kReset:
		if pl.name == "all" {
			clear(c.settings)
		} else {
			delete(c.settings, pl.name)
		}
		return c.complete(pl.tag)
	case kShow:
		cols := c.showColumns(pl.name)
		rows := [][]any{{c.setting(pl.name)}}
		if pl.name == "all" {
			rows = c.showAll()
		}
		if describe {
			if err := c.write(rowDescription(cols, nil)); err != nil {
				return err
			}
		}
		enc := newEncoders(c.m, cols, p.formats)
		for _, r := range rows {
			if err := c.dataRow(enc, r); err != nil {
				return err
			}
		}
		return c.complete("SHOW")
	case kDeclare:
		if _, exists := c.portals[pl.name]; exists {
			return pgError{code: "42P03", msg: fmt.Sprintf("cursor %q already exists", pl.name)}
		}
		if c.txn != 'T' && !pl.hold {
			return pgError{code: "25P01", msg: "DECLARE CURSOR can only be used in transaction blocks (BEGIN first, or DECLARE ... CURSOR WITH HOLD)"}
		}
		cur, err := c.open(ctx, pl.sql, p.args)
		if err != nil {
			return err
		}
		c.portals[pl.name] = &portal{stmt: &prepared{plan: plan{kind: kSelect, sql: pl.sql}, cols: cur.cols}, hold: pl.hold, cur: cur}
		return c.complete(pl.tag)
	case kFetch:
		cp, ok := c.portals[pl.name]
		if !ok || cp.cur == nil {
			return pgError{code: "34000", msg: fmt.Sprintf("cursor %q does not exist", pl.name)}
		}
		if describe {
			if err := c.write(rowDescription(cp.stmt.cols, nil)); err != nil {
				return err
			}
		}
		n := pl.count
		if n < 0 {
			n = 0
		}
		sent, _, err := c.rows(cp.cur, newEncoders(c.m, cp.stmt.cols, p.formats), n)
		if err != nil {
			return err
		}
		return c.complete(fmt.Sprintf("FETCH %d", sent))
	case kClose:
		if pl.name == "all" {
			c.closeCursors()
		} else if cp, ok := c.portals[pl.name]; ok {
			cp.close()
			delete(c.portals, pl.name)
		} else {
			return pgError{code: "34000", msg: fmt.Sprintf("cursor %q does not exist", pl.name)}
		}
		return c.complete(pl.tag)
	}
	// kSelect
	if p.done {
		return c.complete("SELECT 0")
	}
	if p.cur == nil {
		cur, err := c.open(ctx, pl.sql, p.args)
		if err != nil {
			return err
		}
		p.cur = cur
		if p.stmt.cols == nil {
			p.stmt.cols = cur.cols
		}
	}
	if describe {
		if err := c.write(rowDescription(p.cur.cols, nil)); err != nil {
			return err
		}
	}
	_, more, err := c.rows(p.cur, newEncoders(c.m, p.cur.cols, p.formats), maxRows)
	if err != nil {
		p.done = true
		return err
	}
	if more {
		return c.write(&pgproto3.PortalSuspended{})
	}
	p.done = true
	if n := p.cur.sum.Notice(); n != "" {
		_ = c.send(&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000", Message: n})
	}
	return c.complete(fmt.Sprintf("SELECT %d", p.cur.sent))
}

// rows sends up to max rows (0 = all) of cur as DataRows. more reports
// that max rows were sent and the cursor may hold more.
func (c *conn) rows(cur *cursor, enc []encoder, max int) (sent int, more bool, err error) {
	c.setRunning(cur.cancel)
	defer c.setRunning(nil)
	for max == 0 || sent < max {
		row, ok := cur.next()
		if !ok {
			if cur.err != nil {
				return sent, false, cur.err
			}
			return sent, false, nil
		}
		if err := c.dataRow(enc, row); err != nil {
			cur.close()
			return sent, false, err
		}
		sent++
	}
	return sent, true, nil
}

// dataRow encodes one row into the output buffer.
func (c *conn) dataRow(enc []encoder, row []any) error {
	// DataRow: 'D', int32 length, int16 count, then per value int32 length
	// (-1 NULL) and bytes. Encoded here into one buffer per row so that no
	// value is allocated on its own; pgtype encodes the values.
	buf := append(c.wb[:0], 'D', 0, 0, 0, 0, byte(len(row)>>8), byte(len(row)))
	var err error
	for i, v := range row {
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		var ok bool
		buf, ok, err = enc[i].append(buf, v)
		if err != nil {
			return pgError{code: "22000", msg: fmt.Sprintf("column %d: %v", i+1, err)}
		}
		n := len(buf) - at - 4
		if !ok {
			buf, n = buf[:at+4], -1
		}
		putInt32(buf[at:], int32(n))
	}
	putInt32(buf[1:], int32(len(buf)-1))
	c.wb = buf
	if _, err := c.bw.Write(buf); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

func putInt32(b []byte, v int32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

func (c *conn) complete(tag string) error {
	c.srv.statements.WithLabelValues("00").Inc()
	return c.write(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
}

// write sends a message; a failure ends the connection.
func (c *conn) write(msg pgproto3.BackendMessage) error {
	if err := c.send(msg); err != nil {
		return fmt.Errorf("%w: %w", errWrite, err)
	}
	return nil
}

func (c *conn) closeCursors() {
	for name, p := range c.portals {
		if !p.hold {
			p.close()
			delete(c.portals, name)
		}
	}
}
