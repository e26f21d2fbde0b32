package simulate

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Scenario is a planned outage (or a quiet period): its services and
// topology, the changes in the window, the incident and its ground truth.
// The high-volume events (logs, errors, API reads) are produced on demand
// by WriteDir and EachMessage from the scenario's seed, so a large Scale
// does not hold every event in memory.
type Scenario struct {
	Family   string              // concrete family (never "random")
	Seed     int64               //
	Opts     Options             // with defaults applied
	Topology map[string][]string // service -> services it depends on (application and AWS services)
	Truth    Truth               // what eval scores against

	services []*service
	regions  []string // [0] incident (main) region, [1] second region where the services also run
	changes  []*change
	affected map[string]*AffectedService
	actors   []actor

	badVersion string // bad-deploy: the version running between the root cause and the rollback
}

// Truth is the ground truth of a scenario, written as truth.json.
type Truth struct {
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	Window   Window `json:"window"`
	Region   string `json:"region"`   // where the errors are (the main region)
	Incident bool   `json:"incident"` // false for quiet scenarios

	// RootCauseEventID is the event_id the decoders give the root-cause
	// change: the CloudTrail eventID, the deploy's event_id or the AWS
	// Health EventBridge id. Empty when there is no incident.
	RootCauseEventID   string    `json:"root_cause_event_id"`
	RootCauseSource    string    `json:"root_cause_source,omitempty"`    // cloudtrail, deploy or health
	RootCauseService   string    `json:"root_cause_service,omitempty"`   // the change's service (elasticloadbalancing, route53, iam, the deployed service, the Health service)
	RootCauseOperation string    `json:"root_cause_operation,omitempty"` // eventName, "deploy" or the Health eventTypeCode
	RootCauseResource  string    `json:"root_cause_resource,omitempty"`
	RootCauseRegion    string    `json:"root_cause_region,omitempty"` // IAM and Route 53 calls are logged in us-east-1
	RootCauseTime      time.Time `json:"root_cause_time,omitzero"`

	Onset    time.Time         `json:"onset,omitzero"`    // first affected service's first error
	Recovery time.Time         `json:"recovery,omitzero"` // last affected service back to baseline
	Affected []AffectedService `json:"affected"`          // in onset order

	// Decoys are unrelated changes planted close to the onset (or, on a
	// quiet day, close to where an onset would be): they must not win.
	Decoys []ChangeRef `json:"decoys"`
	// Rollback is the change that ended the incident (after the onset).
	Rollback *ChangeRef `json:"rollback,omitempty"`
	// Blips are one-minute error bursts of background noise: not incidents.
	Blips []Blip `json:"blips"`

	Services []string            `json:"services"` // application services
	Topology map[string][]string `json:"topology"` // pass as the topology: config
	Topics   map[string]string   `json:"topics"`   // Kafka topic -> input format
}

// Window is the scenario's time range: Since inclusive, Until exclusive.
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// AffectedService is one service the incident reached.
type AffectedService struct {
	Service  string    `json:"service"`
	Region   string    `json:"region"`
	Onset    time.Time `json:"onset"`
	Recovery time.Time `json:"recovery"`
	Depth    int       `json:"depth"` // topology hops from the root cause (1 = depends on it directly; 0 = it is the root, bad deploy)
	Via      []string  `json:"via"`   // affected dependencies that broke before it (empty for the first)
	PeakRate float64   `json:"peak_errors_per_min"`
}

// Blip is a one-minute burst of extra errors in one service.
type Blip struct {
	Service string    `json:"service"`
	Region  string    `json:"region"`
	Minute  time.Time `json:"minute"`
	Errors  int       `json:"errors"` // extra application errors in that minute
}

// ChangeRef names a change in the scenario.
type ChangeRef struct {
	EventID   string    `json:"event_id"`
	Source    string    `json:"source"`
	Service   string    `json:"service"`
	Operation string    `json:"operation"`
	Region    string    `json:"region"`
	Time      time.Time `json:"time"`
}

// Kafka topics the simulator produces to, and their input formats.
const (
	TopicCloudTrail = "cloudtrail"
	TopicCloudWatch = "cloudwatch"
	TopicApp        = "app-errors"
	TopicAWSEvents  = "aws-events"
)

// TopicFormats maps each topic to the transform format of its messages.
var TopicFormats = map[string]string{
	TopicCloudTrail: "cloudtrail",
	TopicCloudWatch: "cloudwatch",
	TopicApp:        "app",
	TopicAWSEvents:  "awsevents",
}

// Topics lists the topics in a fixed order.
var Topics = []string{TopicCloudTrail, TopicCloudWatch, TopicApp, TopicAWSEvents}

// service is one application service.
type service struct {
	name    string
	layer   int    // 0 edge, 1 middle, 2 leaf
	runtime string // lambda or ecs
	traffic float64
	baseErr float64
	version string
	deps    []string // application services
	aws     []string // AWS services
}

func (s *service) logGroup() string {
	if s.runtime == "lambda" {
		return "/aws/lambda/" + s.name
	}
	return "/ecs/" + s.name
}

var (
	edgeNames = []string{"web", "mobile-bff", "partner-api"}
	midNames  = []string{"checkout", "cart", "search", "accounts", "orders", "profile"}
	leafNames = []string{"payments", "inventory", "catalog", "shipping", "notifications", "pricing", "auth", "reviews", "ledger", "recommendations"}
)

// Generate plans the scenario name (a family or "random") for seed. The
// result is deterministic for (scenario, seed, opts).
func Generate(scenario string, seed int64, opts Options) (*Scenario, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("simulate options: %w", err)
	}
	family, err := ResolveFamily(scenario, seed)
	if err != nil {
		return nil, err
	}
	s := &Scenario{Family: family, Seed: seed, Opts: opts, affected: map[string]*AffectedService{}}
	r := newRnd(seed, 1)
	s.pickRegions(r)
	s.buildServices(r)
	s.actors = newActors(r, opts.Account)
	s.plan(r)
	return s, nil
}

func (s *Scenario) pickRegions(r *rnd) {
	main := "us-east-1"
	if s.Family != FamilyLBChange && r.chance(0.35) {
		main = pick(r, []string{"us-west-2", "eu-west-1"})
	}
	second := "us-west-2"
	if main == "us-west-2" {
		second = "us-east-1"
	}
	s.regions = []string{main, second}
}

// otherRegions are regions where nothing of ours runs, for unrelated changes.
var otherRegions = []string{"eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"}

func (s *Scenario) buildServices(r *rnd) {
	n := s.Opts.Services
	nEdge := max(1, n/5)
	nMid := max(1, n*2/5)
	nLeaf := n - nEdge - nMid
	names := func(pool []string, k int, prefix string) []string {
		out := slices.Clone(pool)
		r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		for i := len(out); i < k; i++ {
			out = append(out, fmt.Sprintf("%s-%02d", prefix, i+1))
		}
		return out[:k]
	}
	layers := [][]string{names(edgeNames, nEdge, "edge"), names(midNames, nMid, "svc"), names(leafNames, nLeaf, "worker")}
	for li, layer := range layers {
		for _, name := range layer {
			sv := &service{
				name:    name,
				layer:   li,
				runtime: pick(r, []string{"lambda", "ecs"}),
				traffic: r.uniform(3, 8),
				baseErr: r.uniform(0.1, 0.6),
				version: fmt.Sprintf("%d.%d.%d", 1+r.IntN(3), r.IntN(20), r.IntN(10)),
			}
			if li == 0 {
				sv.runtime = "ecs"
			}
			if r.chance(0.15) { // a noisy service: higher steady error rate
				sv.baseErr = r.uniform(1.5, 3)
			}
			s.services = append(s.services, sv)
		}
	}
	// Application dependencies: each service calls one or two of the next
	// layer; every service below the edge has at least one caller.
	for li := range 2 {
		callers, callees := layers[li], layers[li+1]
		if len(callees) == 0 {
			continue
		}
		for _, c := range callers {
			sv := s.service(c)
			k := 1 + r.IntN(min(2, len(callees)))
			for _, i := range r.Perm(len(callees))[:k] {
				sv.deps = appendUnique(sv.deps, callees[i])
			}
		}
		for _, e := range callees {
			if len(s.callers(e)) == 0 {
				sv := s.service(pick(r, callers))
				sv.deps = appendUnique(sv.deps, e)
			}
		}
	}
	for _, sv := range s.services {
		if sv.layer > 0 && r.chance(0.5) {
			sv.aws = appendUnique(sv.aws, "dynamodb")
		}
		if sv.layer > 0 && r.chance(0.25) {
			sv.aws = appendUnique(sv.aws, "sqs")
		}
		if r.chance(0.2) {
			sv.aws = appendUnique(sv.aws, "s3")
		}
	}
}

func appendUnique(xs []string, x string) []string {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

func (s *Scenario) service(name string) *service {
	for _, sv := range s.services {
		if sv.name == name {
			return sv
		}
	}
	return nil
}

// callers returns the application services that depend directly on name.
func (s *Scenario) callers(name string) []string {
	var out []string
	for _, sv := range s.services {
		if slices.Contains(sv.deps, name) || slices.Contains(sv.aws, name) {
			out = append(out, sv.name)
		}
	}
	return out
}

func (s *Scenario) layer(li ...int) []string {
	var out []string
	for _, sv := range s.services {
		if slices.Contains(li, sv.layer) {
			out = append(out, sv.name)
		}
	}
	return out
}

func (s *Scenario) buildTopology() {
	s.Topology = map[string][]string{}
	for _, sv := range s.services {
		deps := append(slices.Clone(sv.deps), sv.aws...)
		sort.Strings(deps)
		s.Topology[sv.name] = deps
	}
}

// plan places the incident, the changes and the truth.
func (s *Scenario) plan(r *rnd) {
	o := s.Opts
	start, end := o.Start, o.Start.Add(o.Duration)
	main := s.regions[0]
	// Where the incident starts (also used on quiet days to place decoys).
	onset := start.Add(time.Duration(r.uniform(0.45, 0.6) * float64(o.Duration))).Truncate(time.Second)
	onset = onset.Add(time.Duration(r.IntN(1000)) * time.Millisecond)

	// The root node of the cascade and the first service(s) to break.
	var root string    // topology node the root cause acts on
	var first []string // services that break first
	switch s.Family {
	case FamilyLBChange:
		t := pick(r, s.layer(1))
		s.service(t).aws = appendUnique(s.service(t).aws, "elasticloadbalancing")
		root, first = "elasticloadbalancing", []string{t}
	case FamilyDNSChange:
		t := pick(r, s.layer(1, 2))
		s.service(t).aws = appendUnique(s.service(t).aws, "route53")
		root, first = "route53", []string{t}
	case FamilyIAMPolicy:
		t := pick(r, s.layer(1, 2))
		s.service(t).aws = appendUnique(s.service(t).aws, "iam")
		root, first = "iam", []string{t}
	case FamilyBadDeploy:
		t := pick(r, s.layer(1, 2))
		root, first = t, []string{t}
	case FamilyProviderIncident:
		root = "dynamodb"
		if r.chance(0.3) {
			root = "sqs"
		}
		if len(s.callers(root)) == 0 {
			t := pick(r, s.layer(1, 2))
			s.service(t).aws = appendUnique(s.service(t).aws, root)
		}
		first = s.callers(root)
	}
	// Edge services sit behind a load balancer unless the family is about
	// one load balancer (then only its target depends on it).
	if s.Family != FamilyLBChange {
		for _, e := range s.layer(0) {
			s.service(e).aws = appendUnique(s.service(e).aws, "elasticloadbalancing")
		}
	}
	s.buildTopology()

	s.Truth = Truth{
		Scenario: s.Family, Seed: s.Seed, Window: Window{Since: start, Until: end}, Region: main,
		Affected: []AffectedService{}, Decoys: []ChangeRef{}, Blips: []Blip{}, Topology: s.Topology, Topics: TopicFormats,
	}
	for _, sv := range s.services {
		s.Truth.Services = append(s.Truth.Services, sv.name)
	}
	sort.Strings(s.Truth.Services)

	excludeFrom, excludeTo := onset.Add(-20*time.Minute), onset.Add(40*time.Minute)
	if s.Family != FamilyQuiet {
		s.planCascade(r, first, onset, end)
		lead := r.dur(100*time.Second, 6*time.Minute)
		if s.Family == FamilyProviderIncident {
			lead = r.dur(45*time.Second, 4*time.Minute)
		}
		rc := s.rootChange(r, root, first[0], onset.Add(-lead))
		s.changes = append(s.changes, rc)
		s.Truth.Incident = true
		s.Truth.RootCauseEventID = rc.eventID
		s.Truth.RootCauseSource = rc.source
		s.Truth.RootCauseService = rc.service
		s.Truth.RootCauseOperation = rc.operation
		s.Truth.RootCauseResource = rc.resource
		s.Truth.RootCauseRegion = rc.region
		s.Truth.RootCauseTime = rc.at
		rb := s.rollback(r, rc, s.Truth.Affected[0].Recovery.Add(-r.dur(30*time.Second, 90*time.Second)))
		s.changes = append(s.changes, rb)
		ref := rb.ref()
		s.Truth.Rollback = &ref
		s.changes = append(s.changes, s.alarms(r)...)
		excludeTo = s.Truth.Recovery.Add(10 * time.Minute)
	}
	// Unrelated changes close to the onset: one in the main region on a
	// service the incident does not touch, one of the root cause's kind in
	// another region, and one response action just after the onset.
	for _, d := range s.decoys(r, onset) {
		s.changes = append(s.changes, d)
		s.Truth.Decoys = append(s.Truth.Decoys, d.ref())
	}
	s.changes = append(s.changes, s.background(r, start, end, excludeFrom, excludeTo)...)
	sort.SliceStable(s.changes, func(i, j int) bool { return s.changes[i].at.Before(s.changes[j].at) })
	s.planBlips(r, start, end, excludeFrom, excludeTo)
}

// planBlips plans one-minute error bursts (a client retrying, a node
// restarting) on random services: noise a robust spike detector should not
// call an incident. About one per 3 hours for 8 services.
func (s *Scenario) planBlips(r *rnd, start, end, exFrom, exTo time.Time) {
	mean := 180 * time.Minute * 8 / time.Duration(len(s.services))
	for at := start.Add(r.dur(20*time.Minute, 20*time.Minute+mean)); at.Before(end); at = at.Add(r.dur(mean/2, mean*3/2)) {
		sv := pick(r, s.services)
		b := Blip{Service: sv.name, Region: s.regions[0], Minute: at.Truncate(time.Minute), Errors: 3 + r.IntN(5)}
		if at.Before(exFrom) || at.After(exTo) {
			s.Truth.Blips = append(s.Truth.Blips, b)
		}
	}
}

// planCascade sets each affected service's onset and recovery along the
// topology: a service breaks after the affected dependency it calls.
func (s *Scenario) planCascade(r *rnd, first []string, onset, end time.Time) {
	main := s.regions[0]
	depth0 := 1
	if s.Family == FamilyBadDeploy {
		depth0 = 0
	}
	aff := s.affected
	for i, f := range first {
		jit := time.Duration(0)
		if i > 0 {
			jit = r.dur(5*time.Second, 25*time.Second)
		}
		aff[f] = &AffectedService{Service: f, Region: main, Onset: onset.Add(jit), Depth: depth0, Via: []string{}, PeakRate: r.uniform(12, 35)}
	}
	// Relax until stable: onset(s) = min over affected deps d of onset(d) + hop.
	hops := map[string]time.Duration{}
	for _, sv := range s.services {
		hops[sv.name] = r.dur(50*time.Second, 150*time.Second)
	}
	for changed := true; changed; {
		changed = false
		for _, sv := range s.services {
			if slices.Contains(first, sv.name) {
				continue
			}
			for _, d := range sv.deps {
				ad, ok := aff[d]
				if !ok {
					continue
				}
				t := ad.Onset.Add(hops[sv.name])
				cur, ok := aff[sv.name]
				if !ok {
					aff[sv.name] = &AffectedService{Service: sv.name, Region: main, Onset: t, Depth: ad.Depth + 1, Via: []string{}, PeakRate: max(ad.PeakRate*r.uniform(0.4, 0.8), 8) + 3*sv.baseErr}
					changed = true
				} else if t.Before(cur.Onset) {
					cur.Onset, cur.Depth = t, ad.Depth+1
					changed = true
				}
			}
		}
	}
	recovery := onset.Add(r.dur(12*time.Minute, 30*time.Minute))
	if limit := end.Add(-3 * time.Minute); recovery.After(limit) {
		recovery = limit
	}
	for _, sv := range s.services { // fixed order: the draws must not depend on map order
		a, ok := aff[sv.name]
		if !ok {
			continue
		}
		a.Onset = a.Onset.Truncate(time.Millisecond)
		if !slices.Contains(first, a.Service) {
			for _, d := range sv.deps {
				if ad, ok := aff[d]; ok && ad.Onset.Before(a.Onset) {
					a.Via = append(a.Via, d)
				}
			}
		}
		sort.Strings(a.Via)
		a.Recovery = recovery.Add(time.Duration(a.Depth) * r.dur(20*time.Second, 60*time.Second))
		if limit := end.Add(-time.Minute); a.Recovery.After(limit) {
			a.Recovery = limit
		}
		a.Recovery = a.Recovery.Truncate(time.Millisecond)
	}
	for _, sv := range s.services { // fixed order, then sort by onset
		if a, ok := aff[sv.name]; ok {
			s.Truth.Affected = append(s.Truth.Affected, *a)
		}
	}
	sort.SliceStable(s.Truth.Affected, func(i, j int) bool { return s.Truth.Affected[i].Onset.Before(s.Truth.Affected[j].Onset) })
	s.Truth.Onset = s.Truth.Affected[0].Onset
	for _, a := range s.Truth.Affected {
		if a.Recovery.After(s.Truth.Recovery) {
			s.Truth.Recovery = a.Recovery
		}
	}
}
