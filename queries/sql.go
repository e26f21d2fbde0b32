package queries

import (
	"database/sql"
	"embed"
	"fmt"
	"regexp"
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
