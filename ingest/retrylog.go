package ingest

import (
	"log/slog"
	"sync"
	"time"
)

// retryLogFirst failures in a row are each logged; after them a retry loop
// logs a summary at most every retryLogEvery, so a broker that is down for
// the whole ingest.give_up_after is a handful of lines, not one per
// attempt.
const (
	retryLogFirst = 3
	retryLogEvery = 30 * time.Second
)

// retryLog keeps the warnings of one retried request (or of several that
// fail for the same reason, such as discover and probe: the brokers are
// unreachable) readable. Safe for concurrent use.
type retryLog struct {
	log *slog.Logger
	msg string // what failed: "kafka brokers unreachable"
	// giveUp, if set, says how long until a batch run gives up (ok false:
	// it never does).
	giveUp func(now time.Time) (left time.Duration, ok bool)
	// now is the clock of succeeded (nil: time.Now; tests set it).
	now func() time.Time

	mu          sync.Mutex
	n           int       // failures since the last success
	first, last time.Time // first failure since the last success; last line logged
}

// failed records a failure at now: the first retryLogFirst in a row log
// "<msg>, retrying" with the attempt number, the wait before the next one
// (if wait > 0) and attrs (what, brokers, err, check...); after that at most
// every retryLogEvery "<msg>, still retrying" with the attempts, for how
// long, and how long until a batch run gives up, and attrs (the last error
// and what to check).
func (l *retryLog) failed(now time.Time, wait time.Duration, attrs ...any) {
	l.mu.Lock()
	l.n++
	n := l.n
	if n == 1 {
		l.first = now
	}
	log := n <= retryLogFirst || now.Sub(l.last) >= retryLogEvery
	if log {
		l.last = now
	}
	first := l.first
	l.mu.Unlock()
	if !log {
		return
	}
	if n <= retryLogFirst {
		head := []any{"attempt", n}
		if wait > 0 {
			head = append(head, "wait", wait.Round(time.Millisecond).String())
		}
		l.log.Warn(l.msg+", retrying", append(head, attrs...)...)
		return
	}
	head := []any{"attempts", n, "for", roundDuration(now.Sub(first)).String()}
	if l.giveUp != nil {
		if left, ok := l.giveUp(now); ok {
			head = append(head, "giving_up_in", roundDuration(left).String())
		}
	}
	l.log.Warn(l.msg+", still retrying", append(head, attrs...)...)
}

// succeeded ends a run of failures: it logs "<msg>: recovered" with the
// failed attempts and how long they lasted, and the next failure is logged
// again. Without failures before it (every message a partition reads), it
// logs nothing and reads no clock.
func (l *retryLog) succeeded() {
	l.mu.Lock()
	n, first := l.n, l.first
	l.n = 0
	l.mu.Unlock()
	if n == 0 {
		return
	}
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	l.log.Info(l.msg+": recovered", "failed_attempts", n, "for", roundDuration(now().Sub(first)).String())
}

// roundDuration rounds d for a person: to the second from 10s on, to the
// millisecond below.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
