package transform

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Builder accumulates events into an Arrow record batch. It is not safe for
// concurrent use. Whoever calls NewRecordBatch owns the batch and must
// Release it.
type Builder struct {
	b      *array.RecordBuilder
	str    []*array.StringBuilder // by column index, nil for non-string columns
	rows   int
	nbytes int
	// Sizes of the previous batch, reserved up front for the next one so
	// the buffers do not regrow by doubling on every batch.
	lastRows int
	lastData []int
}

// NewBuilder returns a Builder allocating from mem.
func NewBuilder(mem memory.Allocator) *Builder {
	rb := array.NewRecordBuilder(mem, Schema)
	str := make([]*array.StringBuilder, len(Columns))
	for i := range Columns {
		if sb, ok := rb.Field(i).(*array.StringBuilder); ok {
			str[i] = sb
		}
	}
	return &Builder{b: rb, str: str, lastData: make([]int, len(Columns))}
}

// Len is the number of events appended since the last NewRecordBatch.
func (b *Builder) Len() int { return b.rows }

// Bytes is an estimate of the string bytes appended since the last NewRecordBatch.
func (b *Builder) Bytes() int { return b.nbytes }

func (b *Builder) putString(col int, s string, nullIfEmpty bool) {
	sb := b.str[col]
	if s == "" && nullIfEmpty {
		sb.AppendNull()
		return
	}
	sb.Append(s)
	b.nbytes += len(s)
}

// Append adds one event.
func (b *Builder) Append(e *Event) {
	if b.rows == 0 && b.lastRows > 0 {
		b.reserve()
	}
	b.putString(0, e.EventID, false)
	b.b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(e.Time.UnixMicro()))
	b.b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(e.ObservedTime.UnixMicro()))
	b.putString(3, e.Source, false)
	b.putString(4, e.Kind, false)
	b.putString(5, e.Service, true)
	b.putString(6, e.Operation, true)
	b.putString(7, e.Region, true)
	b.putString(8, e.AccountID, true)
	b.putString(9, e.Resource, true)
	b.putString(10, e.Actor, true)
	sev := b.b.Field(11).(*array.Int32Builder)
	if e.SeverityNumber == 0 {
		sev.AppendNull()
	} else {
		sev.Append(e.SeverityNumber)
	}
	b.putString(12, e.SeverityText, true)
	b.putString(13, e.Status, true)
	b.putString(14, e.ErrorCode, true)
	b.putString(15, e.Message, true)
	b.putString(16, e.RequestID, true)
	b.putString(17, e.TraceID, true)
	b.putString(18, e.ChangeType, true)
	b.putString(19, e.RiskClass, true)
	b.putString(20, e.PeerService, true)
	attrs := e.Attributes
	if attrs == "" {
		attrs = "{}"
	}
	b.putString(21, attrs, false)
	b.putString(22, e.Topic, true)
	if e.Topic == "" {
		b.b.Field(23).(*array.Int32Builder).AppendNull()
	} else {
		b.b.Field(23).(*array.Int32Builder).Append(e.Partition)
	}
	b.b.Field(24).(*array.Int64Builder).Append(e.Offset)
	b.putString(25, e.File, true)
	b.b.Field(26).(*array.Int32Builder).Append(e.Index)
	b.putString(27, e.CloudProvider, true)
	b.rows++
}

// NewRecordBatch returns the events appended so far as a record batch and
// resets the builder. The caller must Release the batch.
func (b *Builder) NewRecordBatch() arrow.RecordBatch {
	b.lastRows = b.rows
	for i, sb := range b.str {
		if sb != nil {
			b.lastData[i] = sb.DataLen()
		}
	}
	b.rows, b.nbytes = 0, 0
	return b.b.NewRecordBatch()
}

// reserve sizes the buffers for a batch like the previous one.
func (b *Builder) reserve() {
	b.b.Reserve(b.lastRows)
	for i, sb := range b.str {
		if sb != nil && b.lastData[i] > 0 {
			sb.ReserveData(b.lastData[i])
		}
	}
}

// Release frees the builder's buffers.
func (b *Builder) Release() { b.b.Release() }
