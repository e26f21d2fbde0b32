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
	for i := 0; i < len(toks); i++ {
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
		case (i == 0 || !punct(i-1, ".")) && (is(i, "version") || is(i, "current_setting") || is(i, "pg_catalog")):
			j := catalogName(i)
			switch {
			case is(j, "version") && punct(j+1, "(") && punct(j+2, ")"):
				replace(i, j+2, quote(version))
				i = j + 2
			case is(j, "current_setting") && punct(j+1, "(") && j+2 < len(toks) && toks[j+2].Kind == 's':
				name := strings.Trim(text(j+2), "'")
				end := j + 3
				if punct(end, ",") {
					end += 2 // missing_ok
				}
				if v, ok := settings(name); ok && punct(end, ")") {
					replace(i, end, quote(v))
					i = end
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

// quote returns s as a SQL string literal.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
