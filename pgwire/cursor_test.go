package pgwire

import (
	"testing"

	"github.com/faultline/faultline/queries"
)

// TestCursorQuickStatementHasBegun: a statement that has begun (its
// columns sent) and already ended when the cursor looks is a statement
// with columns, every time; the old select picked either at random.
func TestCursorQuickStatementHasBegun(t *testing.T) {
	for i := range 200 {
		cur := &cursor{done: make(chan struct{})}
		began := make(chan []queries.Column, 1)
		began <- []queries.Column{{Name: "x", Type: "INTEGER"}}
		close(cur.done)
		if err := cur.wait(began); err != nil || len(cur.cols) != 1 {
			t.Fatalf("try %d: %v, columns %v", i, err, cur.cols)
		}
	}
	cur := &cursor{done: make(chan struct{})}
	close(cur.done)
	if err := cur.wait(make(chan []queries.Column, 1)); err == nil {
		t.Fatal("a statement that ended without columns has no error")
	}
}
