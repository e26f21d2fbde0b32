package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest/store"
)

func newMergeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "merge FILE...",
		Short: "Add other faultline DuckDB files (scaled-out ingest) to the --db file",
		Long: `merge adds to the --db file (created if missing) the events, dead letters and
Kafka/file positions of each FILE that it does not hold yet: one transaction
per FILE. Run it to analyse together the files that several ingest processes
of one consumer group wrote (each process owns its own file), then point
query, report or serve at the merged file.

Records are matched by lineage (topic, partition, offset and index, or file
and position), so a record that two files both hold (its partition moved
between processes) is added once, and merging a file again adds nothing. A
position keeps the larger next offset.

A FILE must not be open in a running process (DuckDB allows one process per
file): stop that process first, or merge a copy of the file taken while it
was stopped. See docs/operations.md.`,
		Example: `  faultline merge --db all.duckdb ingest-a.duckdb ingest-b.duckdb
  faultline report --db all.duckdb --since -24h`,
		Args: atLeastOneArg("DuckDB FILE to merge"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			ctx := cmd.Context()
			for _, path := range args { // before creating the target
				if err := isDuckDBFile(path); err != nil {
					return fmt.Errorf("merge %s: %w (name an existing faultline DuckDB file)", path, err)
				}
			}
			nf := aboutToOpen(a.cfg.DB)
			db, err := a.openDB(ctx, a.cfg.DB)
			if err != nil {
				return err
			}
			defer func() { err = a.closeOrDiscard(db, nf, err, false) }()
			out := cmd.OutOrStdout()
			for _, path := range args {
				s, err := db.Merge(ctx, path)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s: %d events added (%d already present), %d dead letters added, %d positions advanced\n",
					path, s.Events, s.EventsPresent, s.DeadLetters, s.Positions)
				a.log.Debug("merged", "source", path, "events", s.Events, "present", s.EventsPresent, "dead_letters", s.DeadLetters)
			}
			return nil
		},
	}
}

// isDuckDBFile checks that path is a DuckDB database file
// (store.CheckHeader). A text file or a directory used to get DuckDB's
// "Cannot launch in-memory database in read-only mode!", after the target
// was created.
func isDuckDBFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("it is a directory")
	}
	if !st.Mode().IsRegular() {
		return errors.New("it is not a regular file")
	}
	f, err := os.Open(path) // readable: CheckHeader leaves an unreadable file to DuckDB
	if err != nil {
		return err
	}
	f.Close()
	if store.CheckHeader(path) != nil {
		return errors.New("it is not a DuckDB database file")
	}
	return nil
}
