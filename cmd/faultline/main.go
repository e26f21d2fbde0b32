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
	"strings"
	"syscall"
)

func main() { os.Exit(run()) }

// run executes the command line and returns the exit status: 0, 1 for a
// failure, 2 for a usage error. Errors are printed on one line each.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		if msg := err.Error(); strings.HasPrefix(msg, "unknown command ") {
			err = usageError{errors.New(oneLineUnknownCommand(msg))}
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "faultline: %v\nRun 'faultline --help' for usage.\n", err)
			return 2
		}
		fmt.Fprintf(os.Stderr, "faultline: %v\n", err)
		return 1
	}
	return 0
}

// oneLineUnknownCommand turns cobra's "unknown command "repot" for
// "faultline"\n\nDid you mean this?\n\treport\n" into one line.
func oneLineUnknownCommand(msg string) string {
	first, rest, _ := strings.Cut(msg, "\n")
	var sugg []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "\t") {
			sugg = append(sugg, strings.TrimSpace(l))
		}
	}
	if len(sugg) > 0 {
		return first + " (did you mean " + strings.Join(sugg, " or ") + "?)"
	}
	return first + " (run 'faultline --help' for the commands)"
}

// usageError marks errors in how faultline was called (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
