package pgwire

import (
	"context"
	"errors"

	"github.com/faultline/faultline/queries"
)

// cursor is a statement running in the sandbox on a goroutine of its own,
// its rows handed over in batches as the client asks for them (Execute
// with a row limit, FETCH). At most two batches are held per cursor; the
// sandbox's query.timeout ends a cursor left open, with its DuckDB
// connection and its slot.
type cursor struct {
	cols    []queries.Column
	batches chan [][]any
	done    chan struct{}
	cancel  context.CancelFunc
	sum     queries.Summary // valid after done
	err     error           // valid after done
	batch   [][]any         // being read
	pos     int
	sent    int
	closed  bool
}

const batchRows = 256

// open starts query and waits for its columns (or its refusal).
func (c *conn) open(ctx context.Context, query string, args []any) (*cursor, error) {
	ctx, cancel := context.WithCancel(ctx)
	cur := &cursor{batches: make(chan [][]any, 1), done: make(chan struct{}), cancel: cancel}
	began := make(chan []queries.Column, 1)
	go func() {
		w := &batchWriter{ctx: ctx, out: cur.batches, began: began}
		sum, err := c.srv.sb.StreamArgs(ctx, query, args, w)
		if err == nil {
			err = w.flush()
		}
		cur.sum, cur.err = sum, err
		close(cur.batches)
		close(cur.done)
	}()
	c.setRunning(cancel)
	defer c.setRunning(nil)
	if err := cur.wait(began); err != nil {
		cancel()
		return nil, err
	}
	return cur, nil
}

// wait waits until the statement has its columns (nil) or has ended
// without them (its error). A quick statement may have done both before
// wait looks: its columns win (a select between the two picked either,
// and under load "SELECT 1" failed now and then with "returned no
// columns").
func (cur *cursor) wait(began <-chan []queries.Column) error {
	select {
	case cur.cols = <-began:
		return nil
	case <-cur.done:
		select {
		case cur.cols = <-began:
			return nil
		default:
		}
		if cur.err == nil {
			cur.err = errors.New("the statement returned no columns")
		}
		return cur.err
	}
}

// next returns the next row; false at the end (err then tells how).
func (cur *cursor) next() ([]any, bool) {
	for cur.pos >= len(cur.batch) {
		b, ok := <-cur.batches
		if !ok {
			<-cur.done
			return nil, false
		}
		cur.batch, cur.pos = b, 0
	}
	row := cur.batch[cur.pos]
	cur.pos++
	cur.sent++
	return row, true
}

// close stops the statement and waits for its goroutine.
func (cur *cursor) close() {
	if cur.closed {
		return
	}
	cur.closed = true
	cur.cancel()
	for range cur.batches {
	}
	<-cur.done
}

// batchWriter is the RowWriter the sandbox streams a cursor's rows to.
type batchWriter struct {
	ctx   context.Context
	out   chan<- [][]any
	began chan<- []queries.Column
	batch [][]any
}

func (w *batchWriter) Begin(cols []queries.Column) error {
	w.began <- cols
	return nil
}

func (w *batchWriter) Row(vals []any) error {
	if w.batch == nil {
		w.batch = make([][]any, 0, batchRows)
	}
	w.batch = append(w.batch, append([]any(nil), vals...))
	if len(w.batch) == batchRows {
		return w.flush()
	}
	return nil
}

func (w *batchWriter) flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	select {
	case w.out <- w.batch:
		w.batch = nil
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}
