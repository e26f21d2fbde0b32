package queries

import (
	"errors"
	"fmt"
	"time"
)

// CorrelationConfig tunes spike detection, incident grouping and the suspect
// score (the correlation: section). docs/correlation.md explains each key.
type CorrelationConfig struct {
	// Spike detection: a minute is a spike when its errors reach
	// max(spike_min_errors, spike_min_ratio*mean, mean + spike_sigma*max(sd, sqrt(mean)))
	// where mean and sd come from the series' own trailing baseline window.
	BaselineWindow     time.Duration `mapstructure:"baseline_window"`      // trailing baseline length
	BaselineGap        time.Duration `mapstructure:"baseline_gap"`         // minutes skipped right before the tested minute
	BaselineMinHistory time.Duration `mapstructure:"baseline_min_history"` // less history than this: minute not tested
	SpikeMinErrors     int           `mapstructure:"spike_min_errors"`     // absolute floor (quiet services)
	SpikeSigma         float64       `mapstructure:"spike_sigma"`          // deviations over the mean (noisy services)
	SpikeMinRatio      float64       `mapstructure:"spike_min_ratio"`      // at least this times the mean (busy services)
	MergeGap           time.Duration `mapstructure:"merge_gap"`            // quiet minutes tolerated inside a spike and between spikes of one incident
	MinSpikeMinutes    int           `mapstructure:"min_spike_minutes"`    // an incident needs a spike this long (minutes) in one series
	MinExcessErrors    int           `mapstructure:"min_excess_errors"`    // ...and at least this many errors above the baselines in all
	RiseWindow         time.Duration `mapstructure:"rise_window"`          // how far before a spike to look for where its errors began to rise (slow ramps)

	// Suspects.
	Lookback     time.Duration `mapstructure:"lookback"`          // changes this long before onset are candidates
	LeadHalfLife time.Duration `mapstructure:"lead_half_life"`    // the lead-time score halves every this long
	RateWindow   time.Duration `mapstructure:"rate_window"`       // before/after error-rate windows around a change
	MaxDistance  int           `mapstructure:"max_distance"`      // topology hops considered
	TopSuspects  int           `mapstructure:"top_suspects"`      // suspects kept per incident
	FailureTopN  int           `mapstructure:"failure_top_n"`     // a change "failed" when it ranks in the top N of an incident...
	FailureScore float64       `mapstructure:"failure_min_score"` // ...with at least this score
	Weights      Weights       `mapstructure:"weights"`
	// A change in a region where nothing broke (and not on a global service
	// such as IAM or Route 53) has its score multiplied by this.
	OtherRegionFactor float64 `mapstructure:"other_region_factor"`

	// Topology and regions.
	InferTopology bool    `mapstructure:"infer_topology"` // add dependencies seen in events to topology:
	ConfinedShare float64 `mapstructure:"confined_share"` // an incident with this share of errors in one region is "confined"
}

// Weights are the relative weights of the suspect score's components; the
// score is their weighted mean, so only ratios matter.
type Weights struct {
	Lead     float64 `mapstructure:"lead"`     // how shortly before onset
	Scope    float64 `mapstructure:"scope"`    // same service, resource, region, account as the broken ones
	Topology float64 `mapstructure:"topology"` // dependency distance to a broken service
	Spread   float64 `mapstructure:"spread"`   // share of broken services that spiked after it
	Risk     float64 `mapstructure:"risk"`     // catalogue risk class
	Ratio    float64 `mapstructure:"ratio"`    // error rate after vs before it
	Symptom  float64 `mapstructure:"symptom"`  // the errors look like what this type of change breaks
}

// DefaultCorrelationConfig returns the defaults, tuned on simulated outages.
func DefaultCorrelationConfig() CorrelationConfig {
	return CorrelationConfig{
		BaselineWindow:     60 * time.Minute,
		BaselineGap:        0,
		BaselineMinHistory: 10 * time.Minute,
		SpikeMinErrors:     5,
		SpikeSigma:         4,
		SpikeMinRatio:      2,
		MergeGap:           5 * time.Minute,
		MinSpikeMinutes:    2,
		MinExcessErrors:    20,
		RiseWindow:         30 * time.Minute,
		Lookback:           60 * time.Minute,
		LeadHalfLife:       10 * time.Minute,
		RateWindow:         5 * time.Minute,
		MaxDistance:        3,
		TopSuspects:        10,
		FailureTopN:        3,
		FailureScore:       0.5,
		Weights:            Weights{Lead: 0.25, Scope: 0.25, Topology: 0.2, Spread: 0.05, Risk: 0.1, Ratio: 0.1, Symptom: 0.15},
		OtherRegionFactor:  0.5,
		InferTopology:      true,
		ConfinedShare:      0.95,
	}
}

// Validate names every invalid key, its value and what is allowed.
func (c CorrelationConfig) Validate() error {
	var errs []error
	minutes := func(key string, d time.Duration, min time.Duration) {
		if d < min || d%time.Minute != 0 {
			errs = append(errs, fmt.Errorf("correlation.%s: %s is not allowed: must be whole minutes, at least %s", key, d, min))
		}
	}
	minutes("baseline_window", c.BaselineWindow, 5*time.Minute)
	minutes("baseline_gap", c.BaselineGap, 0)
	minutes("baseline_min_history", c.BaselineMinHistory, time.Minute)
	minutes("merge_gap", c.MergeGap, time.Minute)
	minutes("lookback", c.Lookback, time.Minute)
	minutes("rate_window", c.RateWindow, time.Minute)
	minutes("rise_window", c.RiseWindow, 0)
	if c.BaselineMinHistory > c.BaselineWindow {
		errs = append(errs, fmt.Errorf("correlation.baseline_min_history: %s is not allowed: must not exceed baseline_window (%s)", c.BaselineMinHistory, c.BaselineWindow))
	}
	if c.LeadHalfLife <= 0 {
		errs = append(errs, fmt.Errorf("correlation.lead_half_life: %s is not allowed: must be positive", c.LeadHalfLife))
	}
	if c.SpikeMinErrors < 1 {
		errs = append(errs, fmt.Errorf("correlation.spike_min_errors: %d is not allowed: must be at least 1", c.SpikeMinErrors))
	}
	if c.SpikeSigma < 0 {
		errs = append(errs, fmt.Errorf("correlation.spike_sigma: %g is not allowed: must be zero or more", c.SpikeSigma))
	}
	if c.SpikeMinRatio < 1 {
		errs = append(errs, fmt.Errorf("correlation.spike_min_ratio: %g is not allowed: must be at least 1", c.SpikeMinRatio))
	}
	if c.MinSpikeMinutes < 1 {
		errs = append(errs, fmt.Errorf("correlation.min_spike_minutes: %d is not allowed: must be at least 1", c.MinSpikeMinutes))
	}
	if c.MinExcessErrors < 0 {
		errs = append(errs, fmt.Errorf("correlation.min_excess_errors: %d is not allowed: must be zero or more", c.MinExcessErrors))
	}
	if c.MaxDistance < 0 || c.MaxDistance > 10 {
		errs = append(errs, fmt.Errorf("correlation.max_distance: %d is not allowed: use 0 to 10", c.MaxDistance))
	}
	if c.TopSuspects < 1 {
		errs = append(errs, fmt.Errorf("correlation.top_suspects: %d is not allowed: must be at least 1", c.TopSuspects))
	}
	if c.FailureTopN < 1 {
		errs = append(errs, fmt.Errorf("correlation.failure_top_n: %d is not allowed: must be at least 1", c.FailureTopN))
	}
	if c.FailureScore < 0 || c.FailureScore > 1 {
		errs = append(errs, fmt.Errorf("correlation.failure_min_score: %g is not allowed: use a score in [0, 1]", c.FailureScore))
	}
	if c.OtherRegionFactor < 0 || c.OtherRegionFactor > 1 {
		errs = append(errs, fmt.Errorf("correlation.other_region_factor: %g is not allowed: use a factor in [0, 1]", c.OtherRegionFactor))
	}
	if c.ConfinedShare <= 0.5 || c.ConfinedShare > 1 {
		errs = append(errs, fmt.Errorf("correlation.confined_share: %g is not allowed: use a share in (0.5, 1]", c.ConfinedShare))
	}
	w := c.Weights
	sum := 0.0
	for _, p := range []struct {
		k string
		v float64
	}{{"lead", w.Lead}, {"scope", w.Scope}, {"topology", w.Topology}, {"spread", w.Spread}, {"risk", w.Risk}, {"ratio", w.Ratio}, {"symptom", w.Symptom}} {
		if p.v < 0 {
			errs = append(errs, fmt.Errorf("correlation.weights.%s: %g is not allowed: weights must be zero or more", p.k, p.v))
		}
		sum += p.v
	}
	if sum <= 0 {
		errs = append(errs, errors.New("correlation.weights: all zero is not allowed: give at least one weight a positive value"))
	}
	return errors.Join(errs...)
}
