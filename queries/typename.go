package queries

import (
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// typeNames are DuckDB's names of its scalar types, as a result's
// Column.Type carries them.
var typeNames = map[duckdb.Type]string{
	duckdb.TYPE_BOOLEAN: "BOOLEAN", duckdb.TYPE_TINYINT: "TINYINT", duckdb.TYPE_SMALLINT: "SMALLINT",
	duckdb.TYPE_INTEGER: "INTEGER", duckdb.TYPE_BIGINT: "BIGINT", duckdb.TYPE_UTINYINT: "UTINYINT",
	duckdb.TYPE_USMALLINT: "USMALLINT", duckdb.TYPE_UINTEGER: "UINTEGER", duckdb.TYPE_UBIGINT: "UBIGINT",
	duckdb.TYPE_FLOAT: "FLOAT", duckdb.TYPE_DOUBLE: "DOUBLE", duckdb.TYPE_TIMESTAMP: "TIMESTAMP",
	duckdb.TYPE_DATE: "DATE", duckdb.TYPE_TIME: "TIME", duckdb.TYPE_INTERVAL: "INTERVAL",
	duckdb.TYPE_HUGEINT: "HUGEINT", duckdb.TYPE_UHUGEINT: "UHUGEINT", duckdb.TYPE_VARCHAR: "VARCHAR",
	duckdb.TYPE_BLOB: "BLOB", duckdb.TYPE_TIMESTAMP_S: "TIMESTAMP_S", duckdb.TYPE_TIMESTAMP_MS: "TIMESTAMP_MS",
	duckdb.TYPE_TIMESTAMP_NS: "TIMESTAMP_NS", duckdb.TYPE_ENUM: "ENUM", duckdb.TYPE_UUID: "UUID",
	duckdb.TYPE_BIT: "BIT", duckdb.TYPE_TIME_TZ: "TIMETZ", duckdb.TYPE_TIMESTAMP_TZ: "TIMESTAMPTZ",
	duckdb.TYPE_SQLNULL: "SQLNULL", duckdb.TYPE_BIGNUM: "BIGNUM",
}

// TypeName is DuckDB's name of a type as the driver reports a result
// column's type: VARCHAR, TIMESTAMPTZ, JSON, DECIMAL(18,3), VARCHAR[],
// STRUCT("a" INTEGER), MAP(VARCHAR, BIGINT).
func TypeName(info duckdb.TypeInfo) string {
	if info == nil {
		return ""
	}
	if a := info.Alias(); strings.EqualFold(a, "JSON") {
		return "JSON"
	}
	switch d := info.Details().(type) {
	case *duckdb.DecimalDetails:
		return fmt.Sprintf("DECIMAL(%d,%d)", d.Width, d.Scale)
	case *duckdb.ListDetails:
		return TypeName(d.Child) + "[]"
	case *duckdb.ArrayDetails:
		return fmt.Sprintf("%s[%d]", TypeName(d.Child), d.Size)
	case *duckdb.MapDetails:
		return fmt.Sprintf("MAP(%s, %s)", TypeName(d.Key), TypeName(d.Value))
	case *duckdb.StructDetails:
		parts := make([]string, len(d.Entries))
		for i, e := range d.Entries {
			parts[i] = quoteIdent(e.Name()) + " " + TypeName(e.Info())
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")"
	}
	return typeOnlyName(info.InternalType())
}

func typeOnlyName(t duckdb.Type) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("TYPE_%d", t)
}
