//go:build !linux

package ingest

import "github.com/apache/arrow-go/v18/arrow/memory"

// newBatchAllocator is the Arrow allocator of the batches the pipeline
// builds: Go's heap (batchmem_linux.go maps big buffers instead).
func newBatchAllocator() memory.Allocator { return memory.NewGoAllocator() }
