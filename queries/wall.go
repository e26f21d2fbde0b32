package queries

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The wall is the sandbox's first guard: analyst SQL is parsed by DuckDB's
// own parser (json_serialize_sql, which parses without binding or running
// anything) and its syntax tree is checked before DuckDB binds the
// statement. Binding is where DuckDB opens files (read_csv sniffs its
// input, FROM 'x.parquet' is a replacement scan), and DuckDB lets a process
// read its own database files even with enable_external_access=false;
// opening them from inside the serving process drops its POSIX locks. So
// nothing that names a file may get as far as binding.
//
// Allowed: exactly one SELECT (WITH, VALUES, FROM-first, TABLE, DESCRIBE,
// SHOW, SUMMARIZE, PIVOT/UNPIVOT, set operations, subqueries anywhere), or
// EXPLAIN [ANALYZE] of one, whose
//   - tables are the database's tables and views (sandbox_relations.sql) or
//     common table expressions in scope with plain names;
//   - table functions are in tableFunctions (generators and catalog
//     listings: none reads a file);
//   - functions anywhere are not in deniedFunctions (file readers, SQL
//     from a string, logging, checkpoints), whatever their schema.
//
// Everything else, and every construct the tree shows that the wall does not
// know, is refused with ErrRefused before DuckDB binds it.

// tableFunctions are the table functions analyst SQL may call (FROM f(...)).
var tableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true,
	"json_each": true, "json_tree": true,
	"duckdb_columns": true, "duckdb_constraints": true, "duckdb_databases": true,
	"duckdb_functions": true, "duckdb_indexes": true, "duckdb_keywords": true,
	"duckdb_schemas": true, "duckdb_sequences": true, "duckdb_tables": true,
	"duckdb_types": true, "duckdb_views": true,
	"pragma_table_info": true, "pragma_storage_info": true, "pragma_show": true,
	"pg_timezone_names": true,
	// The correlation's answers (tablefunc.go): computed by the Engine, no file.
	"faultline_incidents": true, "faultline_suspects": true,
}

// deniedFunctions are refused wherever they appear, as table functions or
// in expressions; deniedPrefixes too (read_csv, read_json_auto,
// parquet_metadata...).
var (
	deniedFunctions = map[string]bool{
		"glob": true, "sniff_csv": true, "query": true, "query_table": true,
		"json_execute_serialized_sql": true, "write_log": true, "getenv": true,
		"checkpoint": true, "force_checkpoint": true, "truncate_duckdb_logs": true,
		"which_secret": true, "duckdb_secrets": true, "duckdb_secret_types": true,
		"seq_scan": true, "histogram": true, "histogram_values": true,
		"import_database": true, "copy_database": true, "summary": true,
	}
	deniedPrefixes = []string{"read_", "parquet_", "arrow_scan", "enable_", "disable_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "http", "s3", "ducklake"}
)

// showNames are the SHOW forms that name no table (SHOW TABLES, SHOW ALL
// TABLES, SHOW DATABASES).
var showNames = map[string]bool{`"tables"`: true, `"databases"`: true, "__show_tables_expanded": true}

// tableRefTypes are the FROM-clause items the wall knows.
var tableRefTypes = map[string]bool{
	"BASE_TABLE": true, "TABLE_FUNCTION": true, "SUBQUERY": true, "JOIN": true,
	"EXPRESSION_LIST": true, "EMPTY": true, "SHOW_REF": true, "PIVOT": true,
}

// plainName is what a common table expression may be called: a name that
// no replacement scan (file.csv, s3://...) can match.
var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// refuse returns an ErrRefused error.
func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// statement is analyst SQL that passed the wall.
type statement struct {
	body    string // the SELECT, without EXPLAIN and trailing ';'/comments
	explain bool   // EXPLAIN [ANALYZE] body
	full    string // what to prepare when explain is set
	node    any    // the parsed SELECT's syntax tree, query_location removed
}

// check runs the wall on query over connection c (see above).
func check(ctx context.Context, c *duckdb.Conn, query string) (statement, error) {
	toks, lexErr := lexSQL(query)
	if lexErr == nil && len(toks) > 0 && strings.Trim(query[toks[0].start:], "; \t\r\n") == "" {
		toks = nil // only semicolons
	}
	if lexErr == nil && len(toks) == 0 {
		return statement{}, refuse("the query is empty: write a SELECT such as SELECT count(*) FROM events")
	}
	if lexErr == nil && statements(query, toks) > 1 {
		return statement{}, refuse("send exactly one statement (found %d separated by ';')", statements(query, toks))
	}
	st := statement{full: query}
	body := query
	if lexErr == nil {
		body, st.explain = splitExplain(query, toks)
		if st.explain && strings.TrimSpace(body) == "" {
			return statement{}, refuse("EXPLAIN of nothing: write EXPLAIN SELECT ...")
		}
		if bt, err := lexSQL(body); err == nil {
			body = trimStatement(body, bt)
		}
	}
	st.body = body
	tree, err := parse(ctx, c, body)
	if err != nil {
		return statement{}, err
	}
	if tree.Error {
		if tree.ErrorType == "parser" {
			return statement{}, fmt.Errorf("query: Parser Error: %s%s", tree.ErrorMessage, errorLine(query, body, tree.Position))
		}
		return statement{}, refuse("%s statements are not allowed; analyst SQL is read-only: use SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN SELECT", statementName(body))
	}
	switch len(tree.Statements) {
	case 0:
		return statement{}, refuse("the query is empty: write a SELECT such as SELECT count(*) FROM events")
	case 1:
	default:
		return statement{}, refuse("send exactly one statement (found %d separated by ';')", len(tree.Statements))
	}
	if lexErr != nil {
		// DuckDB parsed what our lexer could not: nothing to do but refuse.
		return statement{}, refuse("the statement could not be delimited (%v); remove unusual quoting or comments", lexErr)
	}
	rels, err := relations(ctx, c)
	if err != nil {
		return statement{}, err
	}
	w := walker{rels: rels}
	if err := w.walk(tree.Statements[0].Node); err != nil {
		return statement{}, err
	}
	st.node = stripLocations(tree.Statements[0].Node)
	return st, nil
}

// parsed is what json_serialize_sql returns.
type parsed struct {
	Error        bool   `json:"error"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	Position     string `json:"position"` // of a parser error: a character offset in the statement
	Statements   []struct {
		Node any `json:"node"`
	} `json:"statements"`
}

// errorLine points at character pos of body (a part of query, which the
// analyst wrote) the way DuckDB's own errors do: "LINE 2: <the line>" and
// a caret under the character, counting the analyst's lines. DuckDB gives
// a parser error's position (in characters, not bytes) without them, so a
// syntax error in a long statement named a word and not where. Empty when
// pos is not a position in body.
func errorLine(query, body, pos string) string {
	n, err := strconv.Atoi(pos)
	if err != nil || n < 0 || n > utf8.RuneCountInString(body) {
		return ""
	}
	at := len(body) // the byte offset of character n
	for i := range body {
		if n == 0 {
			at = i
			break
		}
		n--
	}
	if i := strings.Index(query, body); i >= 0 {
		at, body = at+i, query // EXPLAIN stripped before body: count from the query
	}
	start := strings.LastIndexByte(body[:at], '\n') + 1
	end := len(body)
	if j := strings.IndexByte(body[at:], '\n'); j >= 0 {
		end = at + j
	}
	const window = 60 // bytes of a long line either side of the caret
	before, after := body[start:at], body[at:end]
	if len(before) > window {
		i := len(before) - window
		for i < len(before) && !utf8.RuneStart(before[i]) {
			i++
		}
		before = "..." + before[i:]
	}
	if len(after) > window {
		i := window
		for i > 0 && !utf8.RuneStart(after[i]) {
			i--
		}
		after = after[:i] + "..."
	}
	prefix := fmt.Sprintf("LINE %d: ", strings.Count(body[:start], "\n")+1)
	tabs := strings.NewReplacer("\t", " ", "\r", " ")
	before, after = tabs.Replace(before), tabs.Replace(after)
	return "\n\n" + prefix + before + after + "\n" + strings.Repeat(" ", len(prefix)+utf8.RuneCountInString(before)) + "^"
}

// parse asks DuckDB's parser for the syntax tree of query. It binds and
// runs nothing: json_serialize_sql only parses.
func parse(ctx context.Context, c *duckdb.Conn, query string) (parsed, error) {
	var out parsed
	raw, err := queryValue(ctx, c, "SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", query)
	if err != nil {
		return out, fmt.Errorf("sandbox: parse the statement: %w", err)
	}
	s, _ := raw.(string)
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return out, refuse("the statement is too deeply nested to check (%v); simplify it", err)
	}
	return out, nil
}

// queryValue runs a one-value query on c.
func queryValue(ctx context.Context, c *duckdb.Conn, query string, args ...any) (any, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	rows, err := c.QueryContext(ctx, query, nv)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return nil, err
	}
	return dest[0], nil
}

// relations returns the names analyst SQL may read from: "name",
// "schema.name", "catalog.name" and "catalog.schema.name", lower case.
func relations(ctx context.Context, c *duckdb.Conn) (map[string]bool, error) {
	rows, err := c.QueryContext(ctx, sqlText("sandbox_relations"), nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox: list tables: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	dest := make([]driver.Value, 3)
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("sandbox: list tables: %w", err)
		}
		cat, _ := dest[0].(string)
		sch, _ := dest[1].(string)
		name, _ := dest[2].(string)
		for _, k := range []string{name, sch + "." + name, cat + "." + name, cat + "." + sch + "." + name} {
			out[k] = true
		}
	}
}

// walker checks a syntax tree (see the wall's rules above).
type walker struct {
	rels  map[string]bool
	ctes  []map[string]bool // names of common table expressions in scope
	depth int
}

const maxTreeDepth = 2000

func (w *walker) walk(v any) error {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > maxTreeDepth {
		return refuse("the statement is too deeply nested to check; simplify it")
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if err := w.walk(e); err != nil {
				return err
			}
		}
	case map[string]any:
		if cm, ok := x["cte_map"].(map[string]any); ok {
			names, err := cteNames(cm)
			if err != nil {
				return err
			}
			w.ctes = append(w.ctes, names)
			defer func() { w.ctes = w.ctes[:len(w.ctes)-1] }()
		}
		if err := w.node(x); err != nil {
			return err
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // the first problem reported is always the same one
		for _, k := range keys {
			if err := w.walk(x[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

func cteNames(cm map[string]any) (map[string]bool, error) {
	names := map[string]bool{}
	entries, _ := cm["map"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		name, _ := m["key"].(string)
		if !plainName.MatchString(name) {
			return nil, refuse("common table expression %q: use a plain name (letters, digits, _)", name)
		}
		names[strings.ToLower(name)] = true
	}
	return names, nil
}

// node checks one object of the tree.
func (w *walker) node(x map[string]any) error {
	typ, _ := x["type"].(string)
	class, _ := x["class"].(string)
	if class == "FUNCTION" {
		name, _ := x["function_name"].(string)
		if denied(name) {
			return refuse("function %s is not allowed: analyst SQL may not read or write files, run SQL from strings or change the database", name)
		}
		return nil
	}
	_, hasAlias := x["alias"]
	_, hasSample := x["sample"]
	if class != "" || typ == "" || !hasAlias || !hasSample {
		return nil // not a FROM-clause item
	}
	if !tableRefTypes[typ] {
		return refuse("%s in FROM is not supported by the analyst SQL sandbox", strings.ToLower(typ))
	}
	switch typ {
	case "BASE_TABLE":
		return w.table(x)
	case "TABLE_FUNCTION":
		fn, _ := x["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		schema, _ := fn["schema"].(string)
		catalog, _ := fn["catalog"].(string)
		if !tableFunctions[strings.ToLower(name)] || schema != "" || catalog != "" {
			return refuse("table function %s is not allowed: analyst SQL may not read or write files; it reads the tables and views (events, changes, errors, dead_letters, the rollups error_minutes, activity_minutes, edge_minutes and change_events, and the others SHOW TABLES lists) and the table functions %s", qualified(catalog, schema, name), strings.Join(allowedTableFunctions(), ", "))
		}
	case "SHOW_REF":
		if name, _ := x["table_name"].(string); name != "" && !showNames[name] {
			return refuse("SHOW %s is not supported: use SHOW TABLES or DESCRIBE a table", name)
		}
	}
	return nil
}

// table checks a table name in FROM.
func (w *walker) table(x map[string]any) error {
	name, _ := x["table_name"].(string)
	schema, _ := x["schema_name"].(string)
	catalog, _ := x["catalog_name"].(string)
	key := strings.ToLower(qualified(catalog, schema, name))
	if schema == "" && catalog == "" {
		for _, scope := range w.ctes {
			if scope[key] {
				return nil
			}
		}
	}
	if w.rels[key] {
		return nil
	}
	if looksLikePath(name) {
		return refuse("%q is a file or URL, not a table: analyst SQL may not read or write files; use the tables events, changes, errors and dead_letters", name)
	}
	return refuse("table %s does not exist: analyst SQL reads the tables and views events, changes, errors and dead_letters (SHOW TABLES lists them)", qualified(catalog, schema, name))
}

func qualified(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

func looksLikePath(name string) bool {
	return strings.ContainsAny(name, "./\\:*?") || strings.HasPrefix(name, "~")
}

func denied(name string) bool {
	n := strings.ToLower(name)
	if deniedFunctions[n] {
		return true
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

func allowedTableFunctions() []string {
	out := make([]string, 0, len(tableFunctions))
	for k := range tableFunctions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// statementName names the kind of a statement by its first words, for
// messages ("COPY statements are not allowed").
func statementName(s string) string {
	toks, _ := lexSQL(s)
	if len(toks) == 0 {
		return "empty"
	}
	w := toks[0].word(s)
	switch w {
	case "":
		return "this kind of"
	case "SET", "RESET":
		return "SET/RESET"
	case "INSTALL", "LOAD", "FORCE":
		return "INSTALL/LOAD"
	case "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT":
		return "transaction control"
	case "CREATE", "ALTER", "DROP":
		if len(toks) > 1 {
			if next := toks[1].word(s); next == "SECRET" || next == "PERSISTENT" || next == "TEMPORARY" && len(toks) > 2 && toks[2].word(s) == "SECRET" {
				return w + " SECRET"
			}
		}
	}
	return w
}

// stripLocations returns the tree without its query_location members
// (character offsets, which differ between the statement and the wrapper
// that runs it).
func stripLocations(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripLocations(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k != "query_location" {
				out[k] = stripLocations(e)
			}
		}
		return out
	}
	return v
}

// sameTree reports whether the wrapper's innermost subquery (see wrap) is
// exactly the statement that passed the wall.
func sameTree(wrapper parsed, want any) bool {
	if wrapper.Error || len(wrapper.Statements) != 1 {
		return false
	}
	n := wrapper.Statements[0].Node
	for range 3 { // __fl_t, __fl_s, __fl_q
		m, _ := n.(map[string]any)
		from, _ := m["from_table"].(map[string]any)
		sub, _ := from["subquery"].(map[string]any)
		n = sub["node"]
	}
	return reflect.DeepEqual(stripLocations(n), want)
}

// quoteIdent quotes a column name for SQL.
func quoteIdent(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
	return b.String()
}
