package pgwire

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/faultline/faultline/queries"
)

// kind is what a statement is to the session.
type kind int

const (
	kSelect  kind = iota // analyst SQL: the sandbox answers
	kEmpty               // nothing but comments or ';'
	kTxn                 // BEGIN, COMMIT, ROLLBACK...: read-only sessions have nothing to commit
	kSet                 // SET name = value
	kReset               // RESET name | ALL
	kShow                // SHOW name | ALL (a session setting)
	kNoop                // DISCARD, DEALLOCATE, SAVEPOINT, RELEASE, UNLISTEN
	kDeclare             // DECLARE name CURSOR FOR query
	kFetch               // FETCH [n] FROM name
	kClose               // CLOSE name | ALL
	kRefuse              // a statement refused here with its SQLSTATE
)

// plan is a classified statement.
type plan struct {
	kind  kind
	sql   string // kSelect, kDeclare: the statement for the sandbox
	tag   string // the command tag of a session statement
	name  string // setting or cursor name
	value string // kSet: the value
	count int    // kFetch: rows, -1 = all
	txn   byte   // kTxn: the transaction status after it
	hold  bool   // kDeclare: WITH HOLD
	err   error  // kRefuse
	// setting: a kSelect SHOW name whose name is no session setting: a
	// table's DESCRIBE if there is one by that name, else DuckDB's setting
	// (conn.classify decides).
	setting string
}

// classify decides who answers a statement: the session (the statements
// PostgreSQL clients send on connect and around their queries) or the
// sandbox (everything else, after rewrite).
func classify(sql string, version string, settings func(string) (string, bool)) plan {
	toks, err := queries.Tokens(sql)
	if err != nil {
		return plan{kind: kSelect, sql: sql} // the sandbox reports it
	}
	// Trailing semicolons.
	for len(toks) > 0 && toks[len(toks)-1].Kind == 'p' && sql[toks[len(toks)-1].Start] == ';' {
		toks = toks[:len(toks)-1]
	}
	if len(toks) == 0 {
		return plan{kind: kEmpty}
	}
	word := func(i int) string {
		if i >= len(toks) || toks[i].Kind != 'w' {
			return ""
		}
		return strings.ToUpper(sql[toks[i].Start:toks[i].End])
	}
	ident := func(i int) string {
		if i >= len(toks) {
			return ""
		}
		t := sql[toks[i].Start:toks[i].End]
		if toks[i].Kind == 'i' {
			return strings.ReplaceAll(t[1:len(t)-1], `""`, `"`)
		}
		return strings.ToLower(t)
	}
	rest := func(i int) string {
		if i >= len(toks) {
			return ""
		}
		return sql[toks[i].Start:toks[len(toks)-1].End]
	}
	switch word(0) {
	case "BEGIN", "START":
		return plan{kind: kTxn, tag: "BEGIN", txn: 'T'}
	case "COMMIT", "END":
		return plan{kind: kTxn, tag: "COMMIT", txn: 'I'}
	case "ROLLBACK", "ABORT":
		if word(1) == "TO" || word(2) == "TO" {
			return plan{kind: kNoop, tag: "ROLLBACK"}
		}
		return plan{kind: kTxn, tag: "ROLLBACK", txn: 'I'}
	case "SAVEPOINT":
		return plan{kind: kNoop, tag: "SAVEPOINT"}
	case "RELEASE":
		return plan{kind: kNoop, tag: "RELEASE"}
	case "DISCARD":
		return plan{kind: kNoop, tag: "DISCARD " + word(1)}
	case "DEALLOCATE":
		return plan{kind: kNoop, tag: "DEALLOCATE"}
	case "UNLISTEN":
		return plan{kind: kNoop, tag: "UNLISTEN"}
	case "LISTEN", "NOTIFY":
		return plan{kind: kRefuse, err: pgError{code: "0A000", msg: word(0) + " is not supported: faultline sends no notifications"}}
	case "SET":
		i := 1
		if w := word(1); w == "SESSION" || w == "LOCAL" {
			i = 2
			if word(2) == "CHARACTERISTICS" || word(2) == "AUTHORIZATION" {
				return plan{kind: kSet, tag: "SET"}
			}
		}
		if word(i) == "TRANSACTION" {
			return plan{kind: kSet, tag: "SET"}
		}
		if word(i) == "TIME" && word(i+1) == "ZONE" {
			return plan{kind: kSet, tag: "SET", name: "timezone", value: settingValue(sql, toks[min(i+2, len(toks)-1):])}
		}
		if word(i) == "NAMES" {
			return plan{kind: kSet, tag: "SET", name: "client_encoding", value: settingValue(sql, toks[min(i+1, len(toks)-1):])}
		}
		name := ident(i)
		j := i + 1
		for j+1 < len(toks) && toks[j].Kind == 'p' && sql[toks[j].Start] == '.' { // SET a.b = c
			name += "." + ident(j+1)
			j += 2
		}
		if w := word(j); w == "TO" || (j < len(toks) && sql[toks[j].Start] == '=') {
			j++
		}
		if name == "" || j >= len(toks) {
			return plan{kind: kRefuse, err: pgError{code: "42601", msg: "SET needs a name and a value: SET name = value"}}
		}
		return plan{kind: kSet, tag: "SET", name: name, value: settingValue(sql, toks[j:])}
	case "RESET":
		return plan{kind: kReset, tag: "RESET", name: ident(1)}
	case "SHOW":
		name := ident(1)
		if word(1) == "TRANSACTION" && word(2) == "ISOLATION" {
			return plan{kind: kShow, tag: "SHOW", name: "transaction_isolation"}
		}
		if word(1) == "TIME" && word(2) == "ZONE" {
			return plan{kind: kShow, tag: "SHOW", name: "timezone"}
		}
		if name == "all" {
			return plan{kind: kShow, tag: "SHOW", name: "all"}
		}
		if _, ok := settings(name); ok && len(toks) <= 3 {
			return plan{kind: kShow, tag: "SHOW", name: name}
		}
		// SHOW TABLES, SHOW events: DuckDB's own; SHOW memory_limit (a
		// DuckDB setting) is current_setting (conn.classify).
		if len(toks) == 2 && (toks[1].Kind == 'w' || toks[1].Kind == 'i') && name != "tables" && name != "databases" {
			return plan{kind: kSelect, sql: rewrite(sql, toks, version, settings), setting: name}
		}
	case "DECLARE":
		// DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL] CURSOR [{WITH|WITHOUT} HOLD] FOR query
		name := ident(1)
		hold := false
		for i := 2; i < len(toks); i++ {
			switch word(i) {
			case "WITH":
				hold = word(i+1) == "HOLD"
			case "SCROLL":
				if word(i-1) != "NO" {
					return plan{kind: kRefuse, err: pgError{code: "0A000", msg: "SCROLL cursors are not supported: use NO SCROLL (the default)"}}
				}
			case "FOR":
				return plan{kind: kDeclare, tag: "DECLARE CURSOR", name: name, hold: hold, sql: rest(i + 1)}
			}
		}
		return plan{kind: kRefuse, err: pgError{code: "42601", msg: "DECLARE needs CURSOR FOR a query: DECLARE c CURSOR FOR SELECT ..."}}
	case "FETCH", "MOVE":
		if word(0) == "MOVE" {
			return plan{kind: kRefuse, err: pgError{code: "0A000", msg: "MOVE is not supported: cursors only move forward with FETCH"}}
		}
		count, i := 1, 1
		switch word(1) {
		case "FORWARD":
			i = 2
			switch {
			case word(2) == "ALL":
				count, i = -1, 3
			case i < len(toks) && toks[i].Kind == 'n':
				count, _ = strconv.Atoi(sql[toks[i].Start:toks[i].End])
				i = 3
			}
		case "NEXT":
			i = 2
		case "ALL":
			count, i = -1, 2
		case "PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE", "BACKWARD":
			return plan{kind: kRefuse, err: pgError{code: "0A000", msg: "cursors only move forward: FETCH [FORWARD] [n | ALL] FROM name"}}
		default:
			if i < len(toks) && toks[i].Kind == 'n' {
				count, _ = strconv.Atoi(sql[toks[i].Start:toks[i].End])
				i = 2
			}
		}
		if w := word(i); w == "FROM" || w == "IN" {
			i++
		}
		return plan{kind: kFetch, tag: "FETCH", name: ident(i), count: count}
	case "CLOSE":
		return plan{kind: kClose, tag: "CLOSE CURSOR", name: ident(1)}
	}
	return plan{kind: kSelect, sql: rewrite(sql, toks, version, settings)}
}

// settingValue is the text of a SET value: a string's contents, or the
// words as written (DEFAULT, LOCAL, 'UTC', 3, on).
func settingValue(sql string, toks []queries.Token) string {
	if len(toks) == 0 {
		return ""
	}
	if len(toks) == 1 && toks[0].Kind == 's' {
		s := sql[toks[0].Start:toks[0].End]
		if strings.HasPrefix(s, "'") {
			return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
		}
	}
	return strings.Trim(sql[toks[0].Start:toks[len(toks)-1].End], `"`)
}

// reported are the settings sent to the client at startup (ParameterStatus),
// as PostgreSQL does.
var reported = []string{"server_version", "server_encoding", "client_encoding", "application_name",
	"DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings",
	"is_superuser", "session_authorization", "default_transaction_read_only", "in_hot_standby"}

// fixedSettings are what the endpoint is and does, whatever a client SETs:
// results are UTF-8, times ISO with a UTC offset.
var fixedSettings = map[string]string{
	"server_version": serverVersion, "server_version_num": "160000", "server_encoding": "UTF8",
	"client_encoding": "UTF8", "datestyle": "ISO, MDY", "intervalstyle": "postgres",
	"integer_datetimes": "on", "standard_conforming_strings": "on", "is_superuser": "off",
	"default_transaction_read_only": "on", "transaction_read_only": "on", "in_hot_standby": "off",
	"max_identifier_length": "63", "lc_collate": "C", "lc_ctype": "C", "block_size": "8192",
}

// defaultSettings are the values of settings a client may change.
var defaultSettings = map[string]string{
	"timezone": "UTC", "application_name": "", "search_path": "main", // DuckDB's schema
	"transaction_isolation": "serializable", "default_transaction_isolation": "serializable",
	"extra_float_digits": "1", "statement_timeout": "0", "lock_timeout": "0",
	"idle_in_transaction_session_timeout": "0", "bytea_output": "hex", "client_min_messages": "notice",
	"lc_messages": "C", "lc_monetary": "C", "lc_numeric": "C", "lc_time": "C", "jit": "off",
	"row_security": "on", "geqo": "on", "synchronous_commit": "on", "work_mem": "4MB",
}

// lookup returns a setting of this session (lower-case name).
func (c *conn) lookup(name string) (string, bool) {
	name = strings.ToLower(name)
	if v, ok := fixedSettings[name]; ok {
		return v, true
	}
	switch name {
	case "session_authorization":
		return c.user, true
	}
	if v, ok := c.settings[name]; ok {
		return v, true
	}
	v, ok := defaultSettings[name]
	return v, ok
}

// setting is lookup for a name that has a value ("" when unknown).
func (c *conn) setting(name string) string {
	v, _ := c.lookup(name)
	return v
}

// set applies SET name = value. The fixed settings accept their own value
// only; anything else is kept for SHOW and current_setting.
func (c *conn) set(name, value string) error {
	name = strings.ToLower(name)
	if strings.EqualFold(value, "default") {
		delete(c.settings, name)
		return nil
	}
	switch name {
	case "client_encoding":
		if v := strings.ToUpper(strings.ReplaceAll(value, "-", "")); v != "UTF8" && v != "UNICODE" {
			return pgError{code: "22023", msg: fmt.Sprintf("client_encoding %s is not supported: faultline sends UTF8", value)}
		}
		return nil
	case "datestyle":
		if !strings.Contains(strings.ToUpper(value), "ISO") {
			return pgError{code: "22023", msg: fmt.Sprintf("DateStyle %s is not supported: faultline sends ISO dates", value)}
		}
		return nil
	case "transaction_read_only", "default_transaction_read_only":
		if v := strings.ToLower(value); v != "on" && v != "true" && v != "1" {
			return pgError{code: "25006", msg: "faultline sessions are read-only"}
		}
		return nil
	}
	if _, fixed := fixedSettings[name]; fixed {
		return pgError{code: "55P02", msg: fmt.Sprintf("parameter %q cannot be changed", name)}
	}
	if _, known := defaultSettings[name]; !known && !clientSettings[name] && !strings.Contains(name, ".") {
		return pgError{code: "42704", msg: fmt.Sprintf("unrecognized configuration parameter %q: a faultline session keeps PostgreSQL client settings (application_name, search_path, TimeZone, extra_float_digits...) and never changes DuckDB's", name)}
	}
	c.settings[name] = value
	return nil
}

// clientSettings are further PostgreSQL settings clients SET on connect;
// they are kept for SHOW and change nothing.
var clientSettings = map[string]bool{"datestyle": true, "intervalstyle": true, "client_encoding": true,
	"default_transaction_deferrable": true, "transaction_deferrable": true, "cursor_tuple_fraction": true,
	"enable_seqscan": true, "random_page_cost": true, "effective_cache_size": true, "maintenance_work_mem": true,
	"temp_buffers": true, "plan_cache_mode": true, "session_replication_role": true, "xmloption": true,
	"gin_fuzzy_search_limit": true, "tcp_keepalives_idle": true, "tcp_keepalives_interval": true, "tcp_keepalives_count": true,
	"log_statement": true, "log_min_duration_statement": true, "idle_session_timeout": true, "role": true}

// showAll lists every setting (SHOW ALL).
func (c *conn) showAll() [][]any {
	seen := map[string]bool{}
	var names []string
	for _, m := range []map[string]string{fixedSettings, defaultSettings, c.settings} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	rows := make([][]any, len(names))
	for i, n := range names {
		rows[i] = []any{n, c.setting(n), ""}
	}
	return rows
}
