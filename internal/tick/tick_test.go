package tick

import (
	"testing"
	"time"
)

// fn runs every interval until stop, and never after stop has returned.
func TestEvery(t *testing.T) {
	calls := make(chan time.Time, 100)
	stop := Every(time.Millisecond, func() { calls <- time.Now() })
	first, second := <-calls, <-calls
	if !second.After(first) {
		t.Errorf("second call at %v, not after the first at %v", second, first)
	}
	stop()
	for len(calls) > 0 {
		<-calls
	}
	time.Sleep(20 * time.Millisecond)
	if n := len(calls); n != 0 {
		t.Errorf("%d calls after stop returned", n)
	}
}
