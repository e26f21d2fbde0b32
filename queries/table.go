package queries

import (
	"reflect"
	"strings"
	"time"
)

// toTable turns a slice of result structs into a Table whose columns are the
// structs' JSON names, in field order, typed by goTypeName.
func toTable[T any](rows []T, err error) (Table, error) {
	if err != nil {
		return Table{}, err
	}
	var zero T
	rt := reflect.TypeOf(zero)
	t := Table{Rows: make([][]any, 0, len(rows))}
	var idx []int
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		t.Columns = append(t.Columns, name)
		t.Types = append(t.Types, goTypeName(rt.Field(i).Type))
		idx = append(idx, i)
	}
	for _, r := range rows {
		rv := reflect.ValueOf(r)
		row := make([]any, len(idx))
		for j, i := range idx {
			row[j] = rv.Field(i).Interface()
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// goTypeName is the DuckDB type name a named query's column carries (the
// names analyst SQL's columns carry, see TypeName) for a result field of
// type t. Nested values (structs, lists of structs, maps), which the API
// writes as JSON objects and arrays, are JSON.
func goTypeName(t reflect.Type) string {
	if t == reflect.TypeFor[time.Time]() {
		return "TIMESTAMPTZ"
	}
	switch t.Kind() {
	case reflect.String:
		return "VARCHAR"
	case reflect.Bool:
		return "BOOLEAN"
	case reflect.Int, reflect.Int64:
		return "BIGINT"
	case reflect.Int32:
		return "INTEGER"
	case reflect.Float64:
		return "DOUBLE"
	case reflect.Float32:
		return "FLOAT"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "VARCHAR[]"
		}
	}
	return "JSON"
}
