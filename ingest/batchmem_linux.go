//go:build linux

package ingest

import (
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sys/unix"
)

// mappedMin is the smallest buffer the batch allocator maps from the
// kernel; smaller ones come from Go's heap.
const mappedMin = 1 << 20

// hugePage is the mapping granule: a transparent huge page on x86-64 and
// arm64 (4 KiB pages).
const hugePage = 2 << 20

// mappedAllocator is the Arrow allocator of the batches the pipeline
// builds (newBatchAllocator). A batch's string columns grow by doubling
// while it fills, and a whole file's load is one batch of up to
// ingest.batch_max_bytes. From Go's heap, every doubling copied the buffer
// into pages faulted in one 4 KiB page at a time; for a 100k-record load
// those faults were a third of the process's system time. Here a buffer of
// at least 1 MiB is an anonymous mapping advised to use transparent huge
// pages, grown with mremap (the pages move, nothing is copied) and
// unmapped when Arrow frees it, so the memory goes back to the system as
// soon as the batch is committed.
//
// A string read from a batch built here must not outlive the batch's
// Release, nor a view into a buffer its next growth (mremap may move it):
// the memory is unmapped, where Go's heap would have kept it alive. The sink copies what it keeps (rollup keys become rows of their
// own record), and the tests build every batch here under Arrow's checked
// allocator, where a use after Release faults.
type mappedAllocator struct {
	small memory.Allocator
	mu    sync.Mutex
	maps  map[uintptr][]byte // first byte -> the whole mapping
}

func newBatchAllocator() memory.Allocator {
	return &mappedAllocator{small: memory.NewGoAllocator(), maps: map[uintptr][]byte{}}
}

func first(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// mapLen rounds n up to whole huge pages.
func mapLen(n int) int { return (n + hugePage - 1) &^ (hugePage - 1) }

func (a *mappedAllocator) lookup(b []byte) ([]byte, bool) {
	if cap(b) == 0 {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.maps[first(b)]
	return m, ok
}

func (a *mappedAllocator) keep(m []byte) {
	// Advice only: where transparent huge pages are off, the mapping
	// still grows without copying.
	_ = unix.Madvise(m, unix.MADV_HUGEPAGE)
	a.mu.Lock()
	a.maps[first(m)] = m
	a.mu.Unlock()
}

func (a *mappedAllocator) forget(m []byte) {
	a.mu.Lock()
	delete(a.maps, first(m))
	a.mu.Unlock()
}

// Allocate returns size zeroed bytes, 64-byte aligned as Arrow wants (a
// mapping is page aligned).
func (a *mappedAllocator) Allocate(size int) []byte {
	if size < mappedMin {
		return a.small.Allocate(size)
	}
	m, err := unix.Mmap(-1, 0, mapLen(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil { // out of mappings or address space: Go's heap decides
		return a.small.Allocate(size)
	}
	a.keep(m)
	return m[:size:size]
}

// Reallocate grows or shrinks b to size bytes, keeping its content; what
// it grows by is zero, as from Go's allocator. A view into b is invalid
// afterwards (the mapping may move).
func (a *mappedAllocator) Reallocate(size int, b []byte) []byte {
	m, mapped := a.lookup(b)
	switch {
	case mapped && size == 0: // a zero-capacity slice could not be found again to unmap
		a.Free(b)
		return a.small.Allocate(0)
	case !mapped && size < mappedMin:
		return a.small.Reallocate(size, b)
	case !mapped:
		nb := a.Allocate(size)
		copy(nb, b)
		a.small.Free(b)
		return nb
	case size <= len(m):
		if size > len(b) {
			clear(m[len(b):size]) // bytes of an earlier, longer use of the mapping
		}
		return m[:size:size]
	}
	a.forget(m)
	nm, err := unix.Mremap(m, mapLen(size), unix.MREMAP_MAYMOVE)
	if err != nil {
		nb := a.small.Allocate(size)
		copy(nb, b)
		_ = unix.Munmap(m)
		return nb
	}
	a.keep(nm)
	clear(nm[len(b):min(size, len(m))]) // the part of the old mapping beyond b
	return nm[:size:size]
}

// Free unmaps a mapped buffer; Go's heap collects the others.
func (a *mappedAllocator) Free(b []byte) {
	m, ok := a.lookup(b)
	if !ok {
		a.small.Free(b)
		return
	}
	a.forget(m)
	_ = unix.Munmap(m)
}

// mappedBuffers is the number of live mappings (tests).
func (a *mappedAllocator) mappedBuffers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.maps)
}
