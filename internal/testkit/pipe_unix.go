//go:build unix

package testkit

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FeedPipe makes a named pipe in a temporary directory and writes line(i)
// for i from 0 to n-1 into it from a goroutine, stopping early when the
// reader closes its end (EPIPE): a pipe of any length, or one that never
// ends, without costing one if a reader's limit is missed. The channel
// gets the writer's open error, or nil once it is done; receive it after
// the reader finished.
func FeedPipe(t testing.TB, name string, n int, line func(i int) []byte) (path string, done <-chan error) {
	t.Helper()
	path = filepath.Join(t.TempDir(), name)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			ch <- err
			return
		}
		defer f.Close()
		for i := range n {
			if _, err := f.Write(line(i)); err != nil {
				break // EPIPE: the reader stopped at its limit
			}
		}
		ch <- nil
	}()
	return path, ch
}
