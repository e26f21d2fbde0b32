package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/transform"
)

func newLoadCmd(a *app) *cobra.Command {
	var format string
	var replaceChanged bool
	cmd := &cobra.Command{
		Use:   "load PATH...",
		Short: "Load log files and directories into the DuckDB file (idempotent)",
		Long: `load reads files and directories (recursively, including the CloudTrail S3
layout AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/), gzip or plain:
CloudTrail {"Records":[...]} files, JSON arrays, NDJSON, CloudWatch Logs
payload files, EventBridge events, application error JSON. CloudTrail digest
files are recognised and skipped.

Loading is idempotent: each file's position and content fingerprint are
stored with its events, so loading the same file again adds nothing and an
interrupted load resumes. A file that grew (bytes appended) is loaded again
whole. A file whose content otherwise changed (truncated, rewritten) would
replace the events loaded from it: it is left as loaded, and load ends with
an error, unless --replace-changed is given. Records that cannot be decoded,
and an empty file among others, are kept as dead letters; when every file
named is empty (0 bytes), nothing is loaded and load exits 1. See
docs/ingest.md.`,
		Example: `  faultline load AWSLogs/
  faultline load --db outage.duckdb trail/*.json.gz app-errors.ndjson
  faultline load --format cloudwatch payloads/
  faultline load --replace-changed trail/   # files rewritten since: replace their events`,
		Args: atLeastOneArg("FILE or DIR to load"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			f, err := transform.ParseFormat(format)
			if err != nil {
				return usageError{fmt.Errorf("--format: %w", err)}
			}
			// A mistyped path fails before the database is opened (and
			// created): no empty file and no summary of zeros.
			for _, p := range args {
				if err := inputExists(p); err != nil {
					return err
				}
			}
			if err := ingest.CheckNamedFiles(args); err != nil {
				return err // only empty files: nothing to load, as for a directory without files
			}
			ctx := cmd.Context()
			nf := aboutToOpen(a.cfg.DB)
			db, err := a.openWriterDB(ctx, a.cfg.DB)
			if err != nil {
				return err
			}
			defer func() { err = a.closeOrDiscard(db, nf, err, false) }()
			opts := ingest.LoadOptions{Format: f, Config: a.cfg.Ingest, Transform: a.cfg.Transform, Logger: a.log, ReplaceChanged: replaceChanged}
			tty := isTerminal(a.stderr)
			if tty {
				opts.Progress = func(done, total int, c ingest.Totals) {
					fmt.Fprintf(a.stderr, "\r%s files %d/%d  events %d  dead letters %d ", bar(done, total, 30), done, total, c.Events, c.DeadLetterTotal())
				}
			}
			sum, err := ingest.LoadPaths(ctx, db, args, opts)
			if tty {
				fmt.Fprintln(a.stderr)
			}
			if err == nil || sum.Files > 0 {
				printLoadSummary(cmd.OutOrStdout(), sum)
			} // else nothing was looked at (a directory without files): the error says why
			// With an explicit --format, a load in which nothing decoded is
			// most likely the wrong format: say so and fail (with auto it is
			// bad input, kept as dead letters like any other).
			if err == nil && f != transform.FormatAuto && sum.Records > 0 && sum.Events == 0 && sum.DeadLetterTotal() == sum.Records {
				return fmt.Errorf("none of the %d records decoded with --format %s, all are dead letters (%s): is that their format? load them again with the right --format (or auto) and the files are reloaded", sum.Records, f, topReasons(sum.DeadLetters))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "auto", "input format: auto, cloudtrail, cloudwatch, awsevents, app, otlp, gcpaudit, azureactivity")
	cmd.Flags().BoolVar(&replaceChanged, "replace-changed", false, "let files changed since they were loaded (truncated, rewritten) replace the events loaded from them")
	return cmd
}

// inputExists says, as a usage error, that a FILE or DIR to load is
// missing, naming the closest entry of its directory.
func inputExists(path string) error {
	_, err := os.Stat(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // other errors are reported by the load, per file
	}
	hint := "check the path"
	if entries, rerr := os.ReadDir(filepath.Dir(path)); rerr == nil {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		if c := status.Closest(filepath.Base(path), names); c != "" {
			hint = "did you mean " + filepath.Join(filepath.Dir(path), c) + "?"
		}
	}
	return usageError{fmt.Errorf("%s does not exist: %s (nothing was loaded)", path, hint)}
}

// topReasons is "invalid_json 3, unknown_format 1", most frequent first.
func topReasons(m map[string]int64) string {
	type rc struct {
		r string
		n int64
	}
	var l []rc
	for r, n := range m {
		l = append(l, rc{r, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].r < l[j].r })
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%s %d", x.r, x.n)
	}
	return strings.Join(parts, ", ")
}

func bar(done, total, width int) string {
	n := width
	if total > 0 {
		n = done * width / total
	}
	b := make([]byte, width)
	for i := range b {
		b[i] = '.'
		if i < n {
			b[i] = '#'
		}
	}
	return "[" + string(b) + "]"
}

func printLoadSummary(w io.Writer, s ingest.LoadSummary) {
	fmt.Fprintf(w, "files:            %d (%d loaded, %d unchanged and skipped, %d changed and reloaded, %d changed and left as loaded)\n", s.Files, s.FilesLoaded, s.FilesUnchanged, s.FilesReloaded, s.FilesRefused)
	fmt.Fprintf(w, "digest files:     %d skipped\n", s.DigestFiles)
	fmt.Fprintf(w, "records:          %d read (a CloudTrail record, a CloudWatch Logs payload however many log events it holds, an NDJSON line: one each)\n", s.Records)
	fmt.Fprintf(w, "events:           %d added\n", s.Events)
	fmt.Fprintf(w, "dead letters:     %d\n", s.DeadLetterTotal())
	reasons := make([]string, 0, len(s.DeadLetters))
	for r := range s.DeadLetters {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-22s %d\n", r+":", s.DeadLetters[r])
	}
	fmt.Fprintf(w, "control messages: %d skipped (CloudWatch Logs subscription health checks: no events)\n", s.ControlMessages)
	fmt.Fprintf(w, "other skipped:    %d\n", s.Skipped)
	fmt.Fprintf(w, "seconds:          %.2f\n", s.Seconds)
	fmt.Fprintf(w, "events/s:         %.0f\n", s.EventsPerSecond())
}
