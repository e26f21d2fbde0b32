package report

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/faultline/faultline/queries"
)

// Names a person reads instead of identifiers, and the words a score is
// read in: the reports and the dashboards print both the same way.

// ResourceName is the short name of a resource: the name a person gave it
// when the identifier holds one, else its last part. The full identifier
// stays in a tooltip or beside it where it is needed.
//
//	arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/cart-tg/c8ef451987afb0f0  -> cart-tg
//	arn:aws:elasticloadbalancing:...:loadbalancer/app/cart-alb/1f4e...            -> cart-alb
//	arn:aws:elasticloadbalancing:...:listener/app/search-alb/bd88.../ea91...      -> search-alb listener
//	arn:aws:autoscaling:...:autoScalingGroup:uuid:autoScalingGroupName/cart-asg   -> cart-asg
//	arn:aws:lambda:eu-central-1:1:function:reviews                                -> reviews
//	arn:aws:cloudformation:...:stack/web/0a1b2c3d-...                             -> web
//	arn:aws:sts::1:assumed-role/NetworkAdmin/dmitri                               -> dmitri
//	projects/p/zones/us-central1-a/instances/web-1                                -> web-1
func ResourceName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	res := s
	if strings.HasPrefix(s, "arn:") {
		parts := strings.SplitN(s, ":", 6)
		if len(parts) < 6 || parts[5] == "" {
			return lastPart(s)
		}
		res = parts[5]
		if _, name, ok := strings.Cut(res, "autoScalingGroupName/"); ok && name != "" {
			return name
		}
		segs := strings.Split(res, "/")
		switch segs[0] {
		case "targetgroup":
			if len(segs) >= 2 && segs[1] != "" {
				return segs[1]
			}
		case "loadbalancer", "listener", "listener-rule":
			// loadbalancer/app/NAME/id, listener/app/NAME/lb-id/id
			// (classic load balancers: loadbalancer/NAME)
			name := ""
			switch {
			case len(segs) >= 3 && (segs[1] == "app" || segs[1] == "net" || segs[1] == "gwy"):
				name = segs[2]
			case len(segs) == 2:
				name = segs[1]
			}
			if name != "" {
				switch segs[0] {
				case "listener":
					return name + " listener"
				case "listener-rule":
					return name + " rule"
				}
				return name
			}
		}
		// type/NAME/generated-id (CloudFormation stacks, ...): the name.
		if len(segs) >= 3 && looksGenerated(segs[len(segs)-1]) && !looksGenerated(segs[len(segs)-2]) {
			return segs[len(segs)-2]
		}
	}
	return lastPart(res)
}

// arnRE matches an ARN inside text, up to a space or a separator that
// cannot be part of one.
var arnRE = regexp.MustCompile(`arn:[A-Za-z0-9-]+:[^\s,;()"'<>]+`)

// ShortNames replaces every ARN in a text (evidence, a table value) with
// its ResourceName, so a sentence reads "ModifyTargetGroup on cart-tg by
// dmitri" rather than two 70-character identifiers.
func ShortNames(s string) string {
	return arnRE.ReplaceAllStringFunc(s, ResourceName)
}

// lastPart is what follows the last / or : (the whole when nothing does).
func lastPart(s string) string {
	s = strings.TrimRight(s, "/:")
	if i := strings.LastIndexAny(s, "/:"); i >= 0 && i < len(s)-1 {
		return s[i+1:]
	}
	return s
}

// looksGenerated reports whether s is an identifier a system made up: a
// UUID or a run of 8 or more hexadecimal digits (with dashes).
func looksGenerated(s string) bool {
	if len(s) < 8 {
		return false
	}
	hex := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
			hex++
		case r == '-':
		default:
			return false
		}
	}
	return hex >= 8
}

// What the suspect score means, in the words the pages and reports print
// beside it. The score is 0 to 1: the weighted share of the evidence a
// change has (lead time, scope, topology, spread, risk, error ratio,
// symptom; docs/correlation.md). A suspect well ahead of the next one is a
// surer call than one tied with it, so confidence reads both.
const (
	HighScore   = 0.6  // at least this, and HighLead ahead of the next: high
	HighLead    = 0.15 // the lead over the next suspect a high call needs
	MediumScore = 0.4  // at least this: medium; below: low
)

// Confidence says how sure the ranking is that the suspect with score top
// caused the incident, given the next suspect's score (next < 0: there is
// none): "high", "medium" or "low".
func Confidence(top, next float64) string {
	switch {
	case top >= HighScore-1e-9 && (next < 0 || top-next >= HighLead-1e-9):
		return "high"
	case top >= MediumScore-1e-9:
		return "medium"
	default:
		return "low"
	}
}

// ScoreMeaning is the one sentence that says what a score and its
// confidence word mean.
func ScoreMeaning() string {
	return fmt.Sprintf("The score (0 to 1) weighs how well a change fits the incident: how long before the onset it came, "+
		"whether it touched the broken services, their region, account or dependencies, how many services broke after it, its risk, "+
		"and whether the errors look like what such a change breaks. Confidence is high at %.1f or more with a lead of %.2f over "+
		"the next suspect, medium from %.1f, low below.", HighScore, HighLead, MediumScore)
}

// SuspectConfidence is Confidence for the suspect at index i of an
// incident's suspects ranked best first.
func SuspectConfidence(suspects []queries.Suspect, i int) string {
	if i < 0 || i >= len(suspects) {
		return ""
	}
	next := -1.0
	if i+1 < len(suspects) {
		next = suspects[i+1].Score
	}
	return Confidence(suspects[i].Score, next)
}
