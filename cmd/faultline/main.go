// Command faultline is the outage log analytics pipeline: it ingests
// CloudTrail, CloudWatch Logs, AWS events and application errors from Kafka
// or files into DuckDB and correlates changes with error spikes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "faultline: %v\nRun 'faultline --help' for usage.\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "faultline: %v\n", err)
		os.Exit(1)
	}
}

// usageError marks errors in how faultline was called (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
