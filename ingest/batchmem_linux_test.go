//go:build linux

package ingest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/transform"
)

// A big buffer is a mapping that grows in place of a copy, keeps its
// content, comes zeroed and is unmapped when freed; a small one is Go's.
func TestBatchAllocatorMapsBigBuffers(t *testing.T) {
	a := newBatchAllocator().(*mappedAllocator)
	small := a.Allocate(1000)
	if len(small) != 1000 || a.mappedBuffers() != 0 {
		t.Fatalf("a 1000-byte buffer: len %d, %d mappings; want Go's heap", len(small), a.mappedBuffers())
	}
	small = a.Reallocate(4000, small)
	copy(small, "head")
	b := a.Reallocate(3<<20, small) // crosses into a mapping
	if a.mappedBuffers() != 1 || string(b[:4]) != "head" || len(b) != 3<<20 {
		t.Fatalf("grown past 1 MiB: %d mappings, head %q, len %d", a.mappedBuffers(), b[:4], len(b))
	}
	if first(b)%64 != 0 {
		t.Errorf("buffer at %#x is not 64-byte aligned", first(b))
	}
	for i := range b {
		if i >= 4000 && b[i] != 0 {
			t.Fatalf("byte %d of a new buffer is %d, want 0", i, b[i])
		}
		b[i] = byte(i % 251)
	}
	b = a.Reallocate(40<<20, b)
	if a.mappedBuffers() != 1 || len(b) != 40<<20 {
		t.Fatalf("grown to 40 MiB: %d mappings, len %d", a.mappedBuffers(), len(b))
	}
	for i := range 3 << 20 {
		if b[i] != byte(i%251) {
			t.Fatalf("byte %d changed when the buffer grew: %d, want %d", i, b[i], i%251)
		}
	}
	if !bytes.Equal(b[3<<20:], make([]byte, 37<<20)) {
		t.Fatal("the grown part of a buffer is not zero")
	}
	b = a.Reallocate(2<<20, b) // shrinks within the mapping
	if a.mappedBuffers() != 1 || len(b) != 2<<20 || b[1000] != byte(1000%251) {
		t.Fatalf("shrunk: %d mappings, len %d", a.mappedBuffers(), len(b))
	}
	b = a.Reallocate(3<<20, b) // grows again within the mapping
	if !bytes.Equal(b[2<<20:], make([]byte, 1<<20)) {
		t.Fatal("growing back after a shrink shows the bytes written before it")
	}
	a.Free(b)
	a.Free(a.Allocate(5 << 20))
	a.Free(a.Reallocate(0, a.Allocate(6<<20))) // as Arrow frees an emptied buffer
	if n := a.mappedBuffers(); n != 0 {
		t.Fatalf("%d mappings left after Free", n)
	}
}

// A batch of long strings (a whole file's load) built on the batch
// allocator reads back what was appended, and leaves nothing allocated or
// mapped once released.
func TestBatchAllocatorBuildsBatches(t *testing.T) {
	ba := newBatchAllocator().(*mappedAllocator)
	mem := memory.NewCheckedAllocator(ba)
	b := transform.NewBuilder(mem)
	const n = 20000
	attrs := `{"k":"` + strings.Repeat("v", 300) + `"}`
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for round := range 2 { // the second batch reserves the first one's sizes
		for i := range n {
			b.Append(&transform.Event{EventID: "e" + strings.Repeat("x", i%7), Time: t0, Source: "app", Kind: "error", Attributes: attrs, Lineage: transform.Lineage{Offset: int64(i)}})
		}
		rec := b.NewRecordBatch()
		if ba.mappedBuffers() == 0 {
			t.Fatalf("round %d: %d events of %d bytes each made no mapped buffer", round, n, len(attrs))
		}
		col := rec.Column(slices.Index(transform.Columns, "attributes")).(*array.String)
		off := rec.Column(slices.Index(transform.Columns, "src_offset")).(*array.Int64)
		for i := range n {
			if col.Value(i) != attrs || off.Value(i) != int64(i) {
				t.Fatalf("round %d, row %d: attributes %.20q offset %d", round, i, col.Value(i), off.Value(i))
			}
		}
		rec.Release()
		if ba.mappedBuffers() != 0 {
			t.Fatalf("round %d: %d buffers still mapped after the batch's release", round, ba.mappedBuffers())
		}
	}
	b.Release()
	mem.AssertSize(t, 0)
}
