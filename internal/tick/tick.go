// Package tick calls a function on a ticker in the background: progress
// lines, RSS samples, a long migration saying it is still at work.
package tick

import (
	"sync"
	"time"
)

// Every calls fn every interval, from its own goroutine, until the
// returned stop is called. stop returns once fn will not be called again;
// call it once.
func Every(interval time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
