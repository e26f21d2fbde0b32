package transform

import "github.com/apache/arrow-go/v18/arrow"

// Column names of the events schema, in order. Tests, SQL and users rely on
// these names; see docs/schema.md.
var Columns = []string{
	"event_id", "time", "observed_time", "source", "kind", "service", "operation",
	"region", "account_id", "resource", "actor", "severity_number", "severity_text",
	"status", "error_code", "message", "request_id", "trace_id", "change_type",
	"risk_class", "peer_service", "attributes",
	"src_topic", "src_partition", "src_offset", "src_file", "src_index",
	"cloud_provider", // last: added in schema version 2 (existing files gain it with ALTER TABLE ADD COLUMN)
}

var tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Schema is the Arrow schema of normalized events. Its column order is the
// column order of the DuckDB events table.
var Schema = func() *arrow.Schema {
	fields := make([]arrow.Field, len(Columns))
	for i, name := range Columns {
		var t arrow.DataType = arrow.BinaryTypes.String
		nullable := true
		switch name {
		case "time", "observed_time":
			t, nullable = tsUTC, false
		case "severity_number":
			t = arrow.PrimitiveTypes.Int32
		case "src_partition", "src_index":
			t = arrow.PrimitiveTypes.Int32
		case "src_offset":
			t = arrow.PrimitiveTypes.Int64
		case "event_id", "source", "kind":
			nullable = false
		}
		fields[i] = arrow.Field{Name: name, Type: t, Nullable: nullable}
	}
	return arrow.NewSchema(fields, nil)
}()
