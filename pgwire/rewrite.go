package pgwire

import (
	"strings"

	"github.com/faultline/faultline/queries"
)

// rewrite turns the PostgreSQL-only spellings that clients' catalog
// queries use into DuckDB's, token by token (never inside strings or
// comments). What comes out still goes through the sandbox's wall; a
// rewrite only ever produces operators DuckDB has or string literals:
//
//	x OPERATOR(pg_catalog.~) y      -> x ~ y
//	'a' COLLATE pg_catalog.default  -> 'a'
//	[pg_catalog.]version()          -> 'PostgreSQL 16.0 (faultline; ...)'
//	[pg_catalog.]current_setting('server_version_num'[, missing_ok])
//	                                -> '160000' (the session's settings)
func rewrite(sql string, toks []queries.Token, version string, settings func(string) (string, bool)) string {
	text := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		return sql[toks[i].Start:toks[i].End]
	}
	is := func(i int, s string) bool { return strings.EqualFold(text(i), s) }
	punct := func(i int, s string) bool { return i < len(toks) && toks[i].Kind == 'p' && text(i) == s }
	// catalogName returns the index after an optional "pg_catalog." at i.
	catalogName := func(i int) int {
		if is(i, "pg_catalog") && punct(i+1, ".") {
			return i + 2
		}
		return i
	}
	var b strings.Builder
	last := 0 // sql[last:] is not yet copied
	replace := func(from, to int, with string) {
		b.WriteString(sql[last:toks[from].Start])
		b.WriteString(with)
		last = toks[to].End
	}
	// closing returns the index of the ')' that closes the '(' at i, or -1.
	closing := func(i int) int {
		depth := 0
		for j := i; j < len(toks); j++ {
			switch {
			case punct(j, "("):
				depth++
			case punct(j, ")"):
				depth--
				if depth == 0 {
					return j
				}
			}
		}
		return -1
	}
	// selectAlias names a literal that replaced a whole select-list item
	// (SELECT version(), ...) as PostgreSQL names the function's column.
	selectAlias := func(from, to int, name string) string {
		prev := strings.ToUpper(text(from - 1))
		next := strings.ToUpper(text(to + 1))
		if (prev == "SELECT" || prev == ",") && (to+1 >= len(toks) || next == "," || next == "FROM" || next == ";") {
			return ` AS "` + name + `"`
		}
		return ""
	}
	type edit struct {
		to   int // last token replaced
		with string
	}
	edits := map[int]edit{} // decided ahead: tokens i..to become with
	for i := 0; i < len(toks); i++ {
		if e, ok := edits[i]; ok {
			replace(i, e.to, e.with)
			i = e.to
			continue
		}
		switch {
		case is(i, "OPERATOR") && punct(i+1, "("):
			j := catalogName(i + 2)
			var op strings.Builder
			for j < len(toks) && toks[j].Kind == 'p' && text(j) != ")" {
				op.WriteString(text(j))
				j++
			}
			if punct(j, ")") && op.Len() > 0 {
				replace(i, j, " "+op.String()+" ")
				i = j
			}
		case is(i, "COLLATE"):
			j := catalogName(i + 1)
			if j < len(toks) && strings.EqualFold(strings.Trim(text(j), `"`), "default") {
				replace(i, j, " ")
				i = j
			}
		case punct(i, ":") && punct(i+1, ":") && i+2 < len(toks):
			j := catalogName(i + 2)
			if j >= len(toks) {
				continue
			}
			if regTypes[strings.ToLower(text(j))] {
				replace(i, j, "::VARCHAR")
				i = j
			} else if j != i+2 {
				replace(i, j, "::"+text(j))
				i = j
			}
		case toks[i].Kind == 'w' && (i == 0 || !punct(i-1, ".")):
			j := catalogName(i)
			if !punct(j+1, "(") {
				// A catalog table DuckDB lacks (or lacks columns of), in FROM.
				if sub := catalogRelation(text(j)); sub != "" && !punct(j+1, ".") && (i == 0 || fromContext(text(i-1))) {
					if next := strings.ToUpper(text(j + 1)); j+1 >= len(toks) || toks[j+1].Kind != 'w' || sqlKeywords[next] {
						sub += " AS " + strings.ToLower(text(j))
					}
					replace(i, j, sub)
					i = j
				}
				continue
			}
			end := closing(j + 1)
			if end < 0 {
				continue
			}
			name := strings.ToLower(text(j))
			switch {
			case name == "version" && end == j+2:
				replace(i, end, quote(version)+selectAlias(i, end, "version"))
				i = end
			case name == "current_setting" && toks[j+2].Kind == 's' && (end == j+3 || end == j+5):
				if v, ok := settings(strings.Trim(text(j+2), "'")); ok {
					replace(i, end, quote(v)+selectAlias(i, end, "current_setting"))
					i = end
				}
			default:
				if lit, ok := constFunctions[name]; ok {
					replace(i, end, lit)
					i = end
					continue
				}
				if a := end + 1; setFunctions[name] && i > 0 && fromContext(text(i-1)) {
					if is(a, "AS") {
						a++
					}
					if a < len(toks) && toks[a].Kind == 'w' && !sqlKeywords[strings.ToUpper(text(a))] && !punct(a+1, "(") {
						// FROM generate_series(...) [AS] s: in PostgreSQL s
						// names the column too; in DuckDB only the row.
						edits[a] = edit{a, text(a) + "(" + text(a) + ")"}
					}
				}
				if scalarInFrom[name] && i > 0 && fromContext(text(i-1)) {
					// FROM string_to_array(...) [AS] s: a scalar function as a
					// one-row relation whose column is named after the alias.
					a := end + 1
					if is(a, "AS") {
						a++
					}
					if a < len(toks) && toks[a].Kind == 'w' && !sqlKeywords[strings.ToUpper(text(a))] {
						b.WriteString(sql[last:toks[i].Start])
						b.WriteString("(SELECT ")
						last = toks[i].Start
						edits[end+1] = edit{a, " AS " + text(a) + ") " + text(a)} // [AS] s
					}
				}
				if to, ok := renamed[name]; ok {
					replace(i, j, to)
					i = j
				} else if j != i && !duckdbCatalogFunctions[name] {
					// pg_catalog.f( -> f(: DuckDB finds its functions unqualified.
					replace(i, j, text(j))
					i = j // the name is copied: not a keyword to rewrite again
				}
				if n, ok := maxArgs[name]; ok {
					// Drop the arguments DuckDB's function does not take
					// (PostgreSQL's pretty-print flag, array dimension).
					depth, args := 0, 1
					for k := j + 2; k < end; k++ {
						switch {
						case punct(k, "("):
							depth++
						case punct(k, ")"):
							depth--
						case punct(k, ",") && depth == 0:
							if args == n {
								edits[k] = edit{end - 1, ""}
								k = end
							}
							args++
						}
					}
				}
			}
		}
	}
	if last == 0 {
		return sql
	}
	b.WriteString(sql[last:])
	return b.String()
}

// fromContext reports whether a token before a name makes it a relation:
// FROM x, JOIN x, FROM a, x.
func fromContext(prev string) bool {
	switch strings.ToUpper(prev) {
	case "FROM", "JOIN", ",":
		return true
	}
	return false
}

// sqlKeywords can follow a relation in FROM; any other word there is its alias.
var sqlKeywords = map[string]bool{"WHERE": true, "JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true,
	"FULL": true, "CROSS": true, "NATURAL": true, "ON": true, "USING": true, "ORDER": true, "GROUP": true,
	"HAVING": true, "LIMIT": true, "OFFSET": true, "UNION": true, "EXCEPT": true, "INTERSECT": true,
	"WINDOW": true, "QUALIFY": true, "FETCH": true, "FOR": true, "AS": false}

// duckdbCatalogFunctions are DuckDB's own pg_catalog macros, kept qualified.
var duckdbCatalogFunctions = map[string]bool{"pg_table_is_visible": true, "pg_get_expr": true, "format_type": true,
	"pg_has_role": true, "has_table_privilege": true, "has_schema_privilege": true, "pg_get_constraintdef": true,
	"pg_get_viewdef": true, "pg_typeof": true, "pg_size_pretty": true, "pg_is_other_temp_schema": true,
	"pg_get_indexdef": true, "has_database_privilege": true, "has_column_privilege": true, "has_sequence_privilege": true,
	"has_function_privilege": true, "has_foreign_data_wrapper_privilege": true, "has_server_privilege": true,
	"has_tablespace_privilege": true, "pg_ts_parser_is_visible": true, "col_description": true, "obj_description": true,
	"shobj_description": true, "pg_encoding_to_char": true, "pg_get_userbyid": true}

// maxArgs are catalog functions DuckDB has with fewer arguments than
// PostgreSQL (the pretty-print flag): the extra ones are dropped.
var maxArgs = map[string]int{"array_upper": 1, "pg_get_expr": 2, "pg_get_constraintdef": 1, "pg_get_viewdef": 1, "pg_get_indexdef": 1}

// setFunctions return one column that PostgreSQL names after the alias.
var setFunctions = map[string]bool{"generate_series": true, "unnest": true, "range": true}

// renamed are PostgreSQL functions DuckDB has under another name (after
// maxArgs dropped what it does not take).
var renamed = map[string]string{"array_upper": "array_length",
	// Identity: the names in faultline's catalog need no quoting.
	"quote_ident": "concat"}

// scalarInFrom are scalar functions PostgreSQL lets stand in FROM as a
// one-row relation (Grafana's table list splits search_path so).
var scalarInFrom = map[string]bool{"string_to_array": true, "regexp_split_to_array": true}

// regTypes are PostgreSQL's OID alias types; a cast to one becomes a cast
// to VARCHAR (DuckDB has none of them).
var regTypes = map[string]bool{"regtype": true, "regclass": true, "regproc": true, "regprocedure": true,
	"regnamespace": true, "regrole": true, "regoper": true, "regoperator": true, "regconfig": true}

// constFunctions are PostgreSQL catalog functions DuckDB lacks, answered
// with what they mean here: one owner, no comments, no storage sizes.
var constFunctions = map[string]string{
	"pg_get_userbyid":                    "'faultline'",
	"pg_encoding_to_char":                "'UTF8'",
	"obj_description":                    "CAST(NULL AS VARCHAR)",
	"col_description":                    "CAST(NULL AS VARCHAR)",
	"shobj_description":                  "CAST(NULL AS VARCHAR)",
	"pg_relation_size":                   "CAST(0 AS BIGINT)",
	"pg_table_size":                      "CAST(0 AS BIGINT)",
	"pg_total_relation_size":             "CAST(0 AS BIGINT)",
	"pg_get_function_identity_arguments": "''",
	"pg_backend_pid":                     "CAST(0 AS INTEGER)",
	"pg_get_statisticsobjdef_columns":    "CAST(NULL AS VARCHAR)",
	"pg_get_partkeydef":                  "CAST(NULL AS VARCHAR)",
	"pg_get_partition_constraintdef":     "CAST(NULL AS VARCHAR)",
	"pg_get_triggerdef":                  "CAST(NULL AS VARCHAR)",
	"pg_get_ruledef":                     "CAST(NULL AS VARCHAR)",
	"pg_tablespace_location":             "''",
	"pg_get_function_result":             "CAST(NULL AS VARCHAR)",
	"pg_get_function_arguments":          "CAST(NULL AS VARCHAR)",
	"pg_postmaster_start_time":           "CAST(NULL AS TIMESTAMPTZ)",
	"pg_is_in_recovery":                  "false",
	"array_lower":                        "1",
	"pg_relation_is_publishable":         "false",
}

// quote returns s as a SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
