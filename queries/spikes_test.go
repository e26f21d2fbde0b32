package queries

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testkit"
)

// TestSpikesMatchTheirSQL: the spikes Go computes (spikes.go) are the rows
// the SQL stage it replaced computes from the same spike_minutes
// (testdata/spikes_reference.sql), on random series with bursts, ramps,
// flapping and lone noisy minutes, under several settings.
func TestSpikesMatchTheirSQL(t *testing.T) {
	ref, err := os.ReadFile("testdata/spikes_reference.sql")
	if err != nil {
		t.Fatal(err)
	}
	seed := testkit.RandomSeed(t)
	for round := range 6 {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		f := newFixture(t)
		for _, svc := range []string{"cart", "checkout", "search"} {
			for _, reg := range []string{"us-east-1", "eu-west-1"} {
				counts := make([]int, 240)
				for i := range counts {
					counts[i] = rng.IntN(3)
				}
				for range rng.IntN(4) { // bursts, some ramping up, some flapping
					at, n := rng.IntN(220), 1+rng.IntN(15)
					for k := range n {
						if at+k < len(counts) && rng.IntN(5) > 0 {
							counts[at+k] += 10 + rng.IntN(40) + k*rng.IntN(3)
						}
					}
				}
				f.counts(svc, reg, "08:00", counts)
			}
		}
		cfg := DefaultCorrelationConfig()
		cfg.MergeGap = time.Duration(1+rng.IntN(6)) * time.Minute
		cfg.MinSpikeMinutes = 1 + rng.IntN(3)
		cfg.RiseWindow = time.Duration(5+rng.IntN(30)) * time.Minute
		e := NewEngine(f.db.DB, cfg, nil)
		ctx := context.Background()
		s, err := e.open(ctx, Window{}, "spikes")
		if err != nil {
			t.Fatal(err)
		}
		var goRows, both, sqlRows int64
		q := "WITH ref AS (\n" + string(ref) + "\n)\n" + `
SELECT (SELECT count(*) FROM spikes),
			       (SELECT count(*) FROM (SELECT * FROM spikes INTERSECT ALL SELECT * FROM ref)),
			       (SELECT count(*) FROM ref)`
		rows, err := s.query(ctx, "compare", q, nil)
		if err != nil {
			s.close()
			t.Fatal(err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				if err := rows.Scan(&goRows, &both, &sqlRows); err != nil {
					return err
				}
			}
			return rows.Err()
		}()
		s.close()
		if err != nil {
			t.Fatal(err)
		}
		if goRows != sqlRows || both != sqlRows || sqlRows == 0 {
			t.Fatalf("round %d (merge gap %v, min spike minutes %d, rise %v): Go %d spikes, SQL %d, %d alike",
				round, cfg.MergeGap, cfg.MinSpikeMinutes, cfg.RiseWindow, goRows, sqlRows, both)
		}
	}
}
