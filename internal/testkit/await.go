package testkit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Await waits until cond is true, checking it every few milliseconds, and
// fails the test naming what it waited for when timeout passes first. Use
// it instead of a sleep whenever the thing waited for can be observed.
func Await(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for %s", what)
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Logs is a slog.Handler that keeps every record's message, so that a test
// can await what a component logged (a retry, a failure) instead of
// sleeping while it happens.
type Logs struct {
	mu      sync.Mutex
	msgs    []string
	lines   []string      // each record as "message key=value ...", for Lines
	changed chan struct{} // closed and replaced at every record
}

// NewLogs returns an empty log.
func NewLogs() *Logs { return &Logs{changed: make(chan struct{})} }

// Logger returns a logger writing to l (every level).
func (l *Logs) Logger() *slog.Logger { return slog.New(l) }

// Enabled implements slog.Handler.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.lines = append(l.lines, b.String())
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// WithAttrs implements slog.Handler (attributes are not kept).
func (l *Logs) WithAttrs([]slog.Attr) slog.Handler { return l }

// WithGroup implements slog.Handler.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Count returns how many records had a message containing msg.
func (l *Logs) Count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, msg) {
			n++
		}
	}
	return n
}

// Lines returns the records whose message contains msg, each as its
// message followed by its attributes (key=value, space separated), so a
// test can check what a record names.
func (l *Logs) Lines(msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i, m := range l.msgs {
		if strings.Contains(m, msg) {
			out = append(out, l.lines[i])
		}
	}
	return out
}

// AwaitCount waits until n records had a message containing msg, and fails
// the test when timeout passes first.
func (l *Logs) AwaitCount(t testing.TB, msg string, n int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		if l.Count(msg) >= n {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("waited %s for %d log records %q, got %d", timeout, n, msg, l.Count(msg))
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting for log records %q", msg)
		}
	}
}
