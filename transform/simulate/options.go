package simulate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Scenario families.
const (
	FamilyLBChange         = "lb-change"         // load balancer listener / target group change
	FamilyDNSChange        = "dns-change"        // Route 53 ChangeResourceRecordSets
	FamilyIAMPolicy        = "iam-policy"        // IAM policy change -> AccessDenied spikes
	FamilyBadDeploy        = "bad-deploy"        // deploy event -> that service and its dependents
	FamilyProviderIncident = "provider-incident" // AWS Health issue, no customer change
	FamilyQuiet            = "quiet"             // no incident
	FamilyRandom           = "random"            // one of the above, chosen by the seed

	// Harder families (issue 21).
	FamilyDecoyCloser  = "decoy-closer"  // lb-change or iam-policy with a change of the same type on another resource closer to the onset
	FamilyDNSDecoy     = "dns-decoy"     // dns-change with a change of another record of the same hosted zone closer to the onset
	FamilyLateHealth   = "late-health"   // provider outage seen only through errors and a Health issue published 8-40 minutes after they start
	FamilyTwoIncidents = "two-incidents" // two unrelated outages overlapping in time, each with its own root cause
	FamilySlowRamp     = "slow-ramp"     // a bad deploy or DNS change whose errors ramp up over 10-25 minutes, with a change during the ramp
	FamilyDeployDecoy  = "deploy-decoy"  // a bad deploy and, closer to the onset, a deploy of a service that calls it
	FamilyMultiCloud   = "multi-cloud"   // a Google Cloud firewall/backend service change breaks the services hosted on GCP; AWS stays healthy; an Azure NSG and an AWS security group change are decoys
)

// Families lists the concrete scenario families (not "random"), in a fixed
// order: eval cycles through them.
var Families = []string{FamilyLBChange, FamilyDNSChange, FamilyIAMPolicy, FamilyBadDeploy, FamilyProviderIncident,
	FamilyDecoyCloser, FamilyDNSDecoy, FamilyLateHealth, FamilyTwoIncidents, FamilySlowRamp, FamilyDeployDecoy, FamilyQuiet, FamilyMultiCloud}

// randomFamilies are the families "random" picks from: the single-cloud
// ones, so that a random seed keeps the family it had before multi-cloud
// was added (documented seeds stay reproducible).
var randomFamilies = Families[:12]

// DefaultStart is the default start of a scenario's window (a Monday morning).
var DefaultStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Options shape a scenario. The zero value of a field means its default.
type Options struct {
	Start    time.Time     `mapstructure:"start"`    // window start (UTC, truncated to the minute); zero = DefaultStart
	Duration time.Duration `mapstructure:"duration"` // window length; default 2h, at least 40m
	Services int           `mapstructure:"services"` // application services in the topology; default 8 (4..40)
	Scale    float64       `mapstructure:"scale"`    // multiplies every background and error rate; default 1 (about 100 events/min)
	Account  string        `mapstructure:"account"`  // 12-digit AWS account id; default 123456789012
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{Start: DefaultStart, Duration: 2 * time.Hour, Services: 8, Scale: 1, Account: "123456789012"}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Start.IsZero() {
		o.Start = d.Start
	}
	o.Start = o.Start.UTC().Truncate(time.Minute)
	if o.Duration == 0 {
		o.Duration = d.Duration
	}
	o.Duration = o.Duration.Truncate(time.Minute)
	if o.Services == 0 {
		o.Services = d.Services
	}
	if o.Scale == 0 {
		o.Scale = d.Scale
	}
	if o.Account == "" {
		o.Account = d.Account
	}
	return o
}

// Validate names every invalid option, its value and what is allowed.
func (o Options) Validate() error {
	var errs []error
	if o.Duration < 40*time.Minute || o.Duration > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("duration: %s is not allowed: use 40m to 168h (the incident needs a baseline before it)", o.Duration))
	}
	if o.Services < 4 || o.Services > 40 {
		errs = append(errs, fmt.Errorf("services: %d is not allowed: use 4 to 40", o.Services))
	}
	if !(o.Scale > 0 && o.Scale <= 10000) {
		errs = append(errs, fmt.Errorf("scale: %g is not allowed: use a number above 0 and at most 10000", o.Scale))
	}
	if len(o.Account) != 12 || !allDigits(o.Account) {
		errs = append(errs, fmt.Errorf("account: %q is not allowed: use a 12-digit AWS account id", o.Account))
	}
	return errors.Join(errs...)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// ResolveFamily returns the concrete family for name and seed: name itself,
// or for "random" one family chosen by the seed.
func ResolveFamily(name string, seed int64) (string, error) {
	if name == FamilyRandom {
		x := uint64(seed) + 0x9E3779B97F4A7C15 // splitmix64
		x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
		x = (x ^ x>>27) * 0x94D049BB133111EB
		x ^= x >> 31
		return randomFamilies[x%uint64(len(randomFamilies))], nil
	}
	for _, f := range Families {
		if f == name {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown scenario %q (allowed: %s, random)", name, strings.Join(Families, ", "))
}
