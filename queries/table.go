package queries

import (
	"reflect"
	"strings"
)

// toTable turns a slice of result structs into a Table whose columns are the
// structs' JSON names, in field order.
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
