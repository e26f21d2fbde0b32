package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs faultline in-process with args and returns its output.
func runCmd(ctx context.Context, t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb syncBuffer
	err = startCmd(ctx, &out, &errb, args...)
	return out.String(), errb.String(), err
}

func startCmd(ctx context.Context, out, errb *syncBuffer, args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errb)
	return root.ExecuteContext(ctx)
}

// TestHelpUnknownTopic: faultline help with a mistyped command is a usage
// error naming the closest command (cobra printed "Unknown help topic" and
// exited 0); a known one prints its help.
func TestHelpUnknownTopic(t *testing.T) {
	_, _, err := runCmd(t.Context(), t, "help", "quer")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `unknown help topic "quer": did you mean query?`) {
		t.Errorf("help quer: %v, want a usage error suggesting query", err)
	}
	out, _, err := runCmd(t.Context(), t, "help", "query")
	if err != nil || !strings.Contains(out, "Usage:\n  faultline query") {
		t.Errorf("help query: %v\n%s", err, out)
	}
}
