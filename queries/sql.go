package queries

import (
	"database/sql"
	"embed"
	"fmt"
	"regexp"
	"strings"
)

// Every statement the read model runs is a file sql/<name>.sql, embedded
// here and loaded by sqlText; its parameters are named ($since, $limit...)
// and bound by bind from a map. There is no other loader and no other
// parameter style (positional $1 or ?) in the read model.

//go:embed sql/*.sql
var sqlFS embed.FS

// sqlText returns the embedded SQL file sql/<name>.sql.
func sqlText(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name + ".sql")
	if err != nil {
		panic(fmt.Sprintf("queries: missing embedded sql/%s.sql", name)) // programming error
	}
	return string(b)
}

// paramRE finds the named parameters of a statement.
var paramRE = regexp.MustCompile(`\$([a-z_]+[0-9]*)`)

// bind returns the named arguments the statement uses, and only those, each
// looked up in the maps in order (the first that has it wins). A parameter
// that no map has is a programming error.
func bind(query string, params ...map[string]any) ([]any, error) {
	seen := map[string]bool{}
	var args []any
	for _, m := range paramRE.FindAllStringSubmatch(query, -1) {
		name := m[1]
		if seen[name] {
			continue
		}
		seen[name] = true
		v, ok := lookupParam(name, params)
		if !ok {
			return nil, fmt.Errorf("sql: parameter $%s has no value (programming error)", name)
		}
		args = append(args, sql.Named(name, v))
	}
	return args, nil
}

func lookupParam(name string, params []map[string]any) (any, bool) {
	for _, p := range params {
		if v, ok := p[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// branch returns the embedded statement stage as branch i of a UNION ALL
// of the same statement over several time spans (so each branch keeps
// its own time bounds, which DuckDB prunes row groups with, and the whole
// is planned and run once): each parameter that bp sets is renamed
// $name_<i> and set in params; the others (session parameters like
// $rate_min) are left as they are.
func branch(stage string, i int, bp, params map[string]any) string {
	q := paramRE.ReplaceAllStringFunc(sqlText(stage), func(m string) string {
		v, ok := bp[m[1:]]
		if !ok {
			return m
		}
		name := fmt.Sprintf("%s_%d", m[1:], i)
		params[name] = v
		return "$" + name
	})
	return "SELECT * FROM (\n" + q + "\n)"
}

// withBranches returns the statement body (sql/<body>.sql from its first
// CTE on) with CTEs in front of it: each named cte the UNION ALL of the
// embedded statement stage over every span, a branch per span with that
// span's parameters (bps[i]; see branch).
func withBranches(ctes [][2]string, bps []map[string]any, body string, params map[string]any) string {
	var b strings.Builder
	b.WriteString("WITH ")
	for _, c := range ctes {
		qs := make([]string, len(bps))
		for i, bp := range bps {
			qs[i] = branch(c[1], i, bp, params)
		}
		b.WriteString(c[0] + " AS (\n" + strings.Join(qs, "\nUNION ALL\n") + "\n),\n")
	}
	b.WriteString(withBody(sqlText(body)))
	return b.String()
}

// withBody returns a statement that begins with WITH (after its comment)
// from its first CTE on, for a caller that puts CTEs of its own in front.
func withBody(q string) string {
	i := strings.Index(q, "\nWITH ")
	if i < 0 {
		panic("queries: statement has no WITH") // programming error
	}
	return q[i+len("\nWITH "):]
}
