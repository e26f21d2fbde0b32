// Package eval measures how well the correlation finds the planted root
// cause of simulated outages: it generates scenarios with transform/simulate,
// hands each to a Pipeline (load + correlate; faultline eval supplies the
// real one over a temporary DuckDB file), and scores what the pipeline found
// against the scenario's truth: top-1 and top-3 accuracy of the root cause,
// mean reciprocal rank, false incidents per quiet day and onset error.
//
// Scoring is pure (Score, Summarize); eval must not import ingest or Kafka
// code: the pipeline is passed in.
package eval
