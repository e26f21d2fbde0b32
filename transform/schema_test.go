package transform

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestBuilderFromSamples(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := newTestDecoder(t, nil)
	var events []Event
	for _, b := range allSamples(t) {
		events = append(events, decode(t, d, FormatAuto, b).Events...)
	}
	events = append(events, Event{EventID: "x", Source: SourceApp, Kind: KindInfo, Lineage: Lineage{Topic: "app", Partition: 2, Offset: 5, Index: 1}})
	bld := NewBuilder(mem)
	defer bld.Release()
	for round := 0; round < 2; round++ { // the second batch reuses the reservation
		for i := range events {
			bld.Append(&events[i])
		}
		if bld.Len() != len(events) || bld.Bytes() == 0 {
			t.Fatalf("len %d bytes %d", bld.Len(), bld.Bytes())
		}
		rec := bld.NewRecordBatch()
		if int(rec.NumRows()) != len(events) || int(rec.NumCols()) != len(Columns) || bld.Len() != 0 {
			t.Fatalf("rows %d cols %d", rec.NumRows(), rec.NumCols())
		}
		for i, name := range Columns {
			if rec.ColumnName(i) != name {
				t.Fatalf("column %d is %s, want %s", i, rec.ColumnName(i), name)
			}
		}
		ids := rec.Column(0).(*array.String)
		times := rec.Column(1).(*array.Timestamp)
		svc := rec.Column(5).(*array.String)
		attrs := rec.Column(21).(*array.String)
		topic := rec.Column(22).(*array.String)
		part := rec.Column(23).(*array.Int32)
		for i, e := range events {
			if ids.Value(i) != e.EventID || times.Value(i) != arrow.Timestamp(e.Time.UnixMicro()) {
				t.Fatalf("row %d: id %q time %v", i, ids.Value(i), times.Value(i))
			}
			if (e.Service == "") != svc.IsNull(i) || (!svc.IsNull(i) && svc.Value(i) != e.Service) {
				t.Fatalf("row %d: service %q null=%v", i, e.Service, svc.IsNull(i))
			}
			if e.Attributes == "" && attrs.Value(i) != "{}" || e.Attributes != "" && attrs.Value(i) != e.Attributes {
				t.Fatalf("row %d: attributes", i)
			}
			if (e.Topic == "") != part.IsNull(i) || (e.Topic != "" && (topic.Value(i) != e.Topic || part.Value(i) != e.Partition)) {
				t.Fatalf("row %d: lineage", i)
			}
		}
		rec.Release()
	}
}
