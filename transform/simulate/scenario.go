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
	plants   []*plant // the planted incidents (none on a quiet day)
	actors   []actor
	zone     string          // the private hosted zone of internal.example.com
	versions []versionChange // what version a service's lines carry when
}

// plant is one planted incident: its kind of root cause, where its errors
// are, the services it breaks and the change that caused it.
type plant struct {
	kind     string        // lb-change, dns-change, iam-policy, bad-deploy or provider-incident
	region   string        // where its errors are
	onset    time.Time     // first error of the first service
	ramp     time.Duration // how long the first services take to reach their peak (30 s; minutes for a slow ramp)
	lag      time.Duration // extra delay before the callers of the first services break (a slow ramp's)
	contain  []string      // services it must not break (another plant's)
	root     string        // topology node the root cause acts on
	first    []string      // services that break first
	affected map[string]*AffectedService
	rc, rb   *change
	health   time.Duration // provider incidents: the Health issue is published this long after the onset (0 = at its start)
	truth    IncidentTruth
}

// versionChange says that service's lines carry version from from until until.
type versionChange struct {
	service, version string
	from, until      time.Time
}

// Truth is the ground truth of a scenario, written as truth.json.
type Truth struct {
	Scenario string `json:"scenario"`
	Seed     int64  `json:"seed"`
	Window   Window `json:"window"`
	Region   string `json:"region"`   // where the (first) incident's errors are (the main region)
	Incident bool   `json:"incident"` // false for quiet scenarios

	// The planted incident (the first one when there are two): its root
	// cause, onset, recovery and affected services.
	IncidentTruth
	// Also lists the further planted incidents (two-incidents): each is
	// scored on its own.
	Also []IncidentTruth `json:"also,omitempty"`

	// Decoys are unrelated changes planted close to the onset (or, on a
	// quiet day, close to where an onset would be): they must not win.
	Decoys []ChangeRef `json:"decoys"`
	// Blips are one-minute error bursts of background noise: not incidents.
	Blips []Blip `json:"blips"`

	Services    []string            `json:"services"`               // application services
	GCPServices []string            `json:"gcp_services,omitempty"` // multi-cloud: the services hosted on Google Cloud (in GCPRegion); the others run on AWS
	Topology    map[string][]string `json:"topology"`               // pass as the topology: config
	Topics      map[string]string   `json:"topics"`                 // Kafka topic -> input format
}

// IncidentTruth is one planted incident.
type IncidentTruth struct {
	// Kind is the kind of root cause: lb-change, dns-change, iam-policy,
	// bad-deploy or provider-incident (the harder families plant these).
	Kind string `json:"kind,omitempty"`
	// RootCauseEventID is the event_id the decoders give the root-cause
	// change: the CloudTrail eventID, the deploy's event_id or the AWS
	// Health EventBridge id (of its first publication). Empty when there is
	// no incident.
	RootCauseEventID   string    `json:"root_cause_event_id"`
	RootCauseSource    string    `json:"root_cause_source,omitempty"`    // cloudtrail, deploy or health
	RootCauseService   string    `json:"root_cause_service,omitempty"`   // the change's service (elasticloadbalancing, route53, iam, the deployed service, the Health service)
	RootCauseOperation string    `json:"root_cause_operation,omitempty"` // eventName, "deploy" or the Health eventTypeCode
	RootCauseResource  string    `json:"root_cause_resource,omitempty"`  // ARN (the Health issue's eventArn), or service@version for a deploy
	RootCauseRegion    string    `json:"root_cause_region,omitempty"`    // IAM and Route 53 calls are logged in us-east-1
	RootCauseTime      time.Time `json:"root_cause_time,omitzero"`       // the time the decoders give it (a Health issue's startTime)

	Onset    time.Time         `json:"onset,omitzero"`    // first affected service's first error
	Recovery time.Time         `json:"recovery,omitzero"` // last affected service back to baseline
	Affected []AffectedService `json:"affected"`          // in onset order

	// Rollback is the change that ended the incident (after the onset).
	Rollback *ChangeRef `json:"rollback,omitempty"`
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

// TopicDirs maps each topic, the multi-cloud family's included, to the
// directory under WriteDir's data directory that holds its files.
var TopicDirs = map[string]string{
	TopicCloudTrail: dirCloudTrail, TopicCloudWatch: dirCloudWatch, TopicApp: dirApp, TopicAWSEvents: dirAWSEvents,
	TopicGCP: dirGCP, TopicAzure: dirAzure,
}

// Topics lists the topics of a scenario (Truth.Topics) in a fixed
// order: Topics, then the multi-cloud family's.
func (s *Scenario) Topics() []string {
	var out []string
	for _, t := range append(slices.Clone(Topics), TopicGCP, TopicAzure) {
		if _, ok := s.Truth.Topics[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// service is one application service.
type service struct {
	name    string
	layer   int    // 0 edge, 1 middle, 2 leaf
	runtime string // lambda or ecs
	traffic float64
	baseErr float64
	version string
	deps    []string // application services
	aws     []string // cloud services it uses (AWS; compute for a GKE service of the multi-cloud family)
	cloud   string   // "gcp" for a service hosted on Google Cloud (multi-cloud family); "" = AWS
}

// regionsOf returns the regions a service runs in, with the share of its
// traffic each takes: the scenario's two AWS regions, or GCPRegion alone.
func (s *Scenario) regionsOf(sv *service) ([]string, []float64) {
	if sv.cloud == "gcp" {
		return []string{GCPRegion}, []float64{1}
	}
	return s.regions, []float64{0.75, 0.25}
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
	s := &Scenario{Family: family, Seed: seed, Opts: opts}
	r := newRnd(seed, 1)
	s.pickRegions(r)
	s.buildServices(r)
	s.actors = newActors(r, opts.Account)
	s.plan(r)
	return s, nil
}

func (s *Scenario) pickRegions(r *rnd) {
	main := "us-east-1"
	if !s.lbFirst() && r.chance(0.35) {
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

// variant returns the stream of draws for a family's variations (which base
// kind, how late, how slow): separate from the plan's stream, so the common
// families plan the same whatever the variants draw.
func (s *Scenario) variant() *rnd { return newRnd(s.Seed, 4) }

// kinds returns the kinds of root cause the family plants, in order.
func (s *Scenario) kinds() []string {
	v := s.variant()
	switch s.Family {
	case FamilyQuiet:
		return nil
	case FamilyDecoyCloser:
		return []string{pick(v, []string{FamilyLBChange, FamilyIAMPolicy})}
	case FamilyDNSDecoy:
		return []string{FamilyDNSChange}
	case FamilyLateHealth:
		return []string{FamilyProviderIncident}
	case FamilyTwoIncidents:
		ks := []string{FamilyLBChange, FamilyDNSChange, FamilyIAMPolicy, FamilyBadDeploy}
		a := pick(v, ks)
		b := pick(v, ks)
		for b == a {
			b = pick(v, ks)
		}
		return []string{a, b}
	case FamilySlowRamp:
		return []string{pick(v, []string{FamilyBadDeploy, FamilyDNSChange})}
	case FamilyDeployDecoy:
		return []string{FamilyBadDeploy}
	case FamilyMultiCloud:
		return []string{KindGCPChange}
	}
	return []string{s.Family}
}

// lbFirst reports whether the first planted incident is a load balancer
// change (those are always in us-east-1).
func (s *Scenario) lbFirst() bool {
	k := s.kinds()
	return len(k) > 0 && k[0] == FamilyLBChange
}

// plan places the incidents, the changes and the truth.
func (s *Scenario) plan(r *rnd) {
	o := s.Opts
	start, end := o.Start, o.Start.Add(o.Duration)
	main := s.regions[0]
	v := s.variant()
	s.kinds() // the variant stream's first draws are the kinds
	s.zone = "Z0" + v.upper(18)
	// Where the incident starts (also used on quiet days to place decoys).
	onset := start.Add(time.Duration(r.uniform(0.45, 0.6) * float64(o.Duration))).Truncate(time.Second)
	onset = onset.Add(time.Duration(r.IntN(1000)) * time.Millisecond)

	var contain []string
	lb := false
	for i, k := range s.kinds() {
		p := &plant{kind: k, region: main, onset: onset, ramp: 30 * time.Second, affected: map[string]*AffectedService{}, contain: contain}
		switch {
		case s.Family == FamilySlowRamp:
			p.ramp = v.dur(10*time.Minute, 25*time.Minute)
			p.lag = p.ramp / 2
		case s.Family == FamilyLateHealth:
			p.health = v.dur(8*time.Minute, 40*time.Minute)
		case k == KindGCPChange:
			p.region = GCPRegion
		case i == 1: // the second of two incidents: in the second region or on other services, overlapping in time
			if v.chance(0.5) {
				p.region = s.regions[1]
			}
			p.onset = onset.Add(v.dur(-3*time.Minute, 8*time.Minute))
		}
		if !s.choose(r, p) {
			continue // no room for a second incident in a small topology
		}
		lb = lb || k == FamilyLBChange
		s.planCascade(r, p, end)
		if k == KindGCPChange { // what it breaks runs on Google Cloud
			for svc := range p.affected {
				s.service(svc).cloud = "gcp"
			}
		}
		s.plants = append(s.plants, p)
		for svc := range p.affected {
			contain = append(contain, svc)
		}
	}
	// Edge services sit behind a load balancer unless an incident is about
	// one load balancer (then only its target depends on it).
	if !lb {
		for _, e := range s.layer(0) {
			s.service(e).aws = appendUnique(s.service(e).aws, "elasticloadbalancing")
		}
	}
	s.buildTopology()

	s.Truth = Truth{
		Scenario: s.Family, Seed: s.Seed, Window: Window{Since: start, Until: end}, Region: main,
		IncidentTruth: IncidentTruth{Affected: []AffectedService{}}, Decoys: []ChangeRef{}, Blips: []Blip{}, Topology: s.Topology, Topics: TopicFormats,
	}
	for _, sv := range s.services {
		s.Truth.Services = append(s.Truth.Services, sv.name)
	}
	sort.Strings(s.Truth.Services)
	if s.Family == FamilyMultiCloud {
		s.Truth.Region = GCPRegion
		s.Truth.Topics = map[string]string{TopicGCP: "gcpaudit", TopicAzure: "azureactivity"}
		for t, f := range TopicFormats {
			s.Truth.Topics[t] = f
		}
		for _, sv := range s.services {
			if sv.cloud == "gcp" {
				s.Truth.GCPServices = append(s.Truth.GCPServices, sv.name)
			}
		}
		sort.Strings(s.Truth.GCPServices)
	}

	type window struct{ from, to time.Time }
	excludes := []window{{onset.Add(-20 * time.Minute), onset.Add(40 * time.Minute)}}
	for i, p := range s.plants {
		lead := r.dur(100*time.Second, 6*time.Minute)
		if p.kind == FamilyProviderIncident {
			lead = r.dur(45*time.Second, 4*time.Minute)
		}
		p.rc = s.rootChange(r, p, p.truth.Onset.Add(-lead))
		s.changes = append(s.changes, p.rc)
		if p.health > 0 {
			s.changes = append(s.changes, s.healthUpdates(v, p, end)...)
		}
		t := &p.truth
		t.Kind = p.kind
		t.RootCauseEventID, t.RootCauseSource, t.RootCauseService = p.rc.eventID, p.rc.source, p.rc.service
		t.RootCauseOperation, t.RootCauseResource, t.RootCauseRegion, t.RootCauseTime = p.rc.operation, p.rc.resource, p.rc.region, p.rc.eventTime()
		rbAt := t.Affected[0].Recovery.Add(-r.dur(30*time.Second, 90*time.Second))
		if p.health > 0 && !rbAt.After(p.rc.at) {
			rbAt = p.rc.at.Add(v.dur(time.Minute, 5*time.Minute)) // closed after it was first published
		}
		if limit := end.Add(-time.Minute); rbAt.After(limit) {
			rbAt = limit
		}
		p.rb = s.rollback(r, p, rbAt)
		s.changes = append(s.changes, p.rb)
		ref := p.rb.ref()
		t.Rollback = &ref
		if p.kind != KindGCPChange { // CloudWatch alarms watch AWS services only
			s.changes = append(s.changes, s.alarms(r, p)...)
		}
		if i == 0 {
			s.Truth.Incident = true
			s.Truth.IncidentTruth = *t
			excludes[0].to = t.Recovery.Add(10 * time.Minute)
		} else {
			s.Truth.Also = append(s.Truth.Also, *t)
			excludes = append(excludes, window{t.Onset.Add(-20 * time.Minute), t.Recovery.Add(10 * time.Minute)})
		}
	}
	// Unrelated changes close to the onset: one in the main region on a
	// service the incident does not touch, one of the root cause's kind in
	// another region, and one response action just after the onset; then
	// the family's own, harder decoys.
	for _, d := range append(s.decoys(r, onset), s.familyDecoys(v)...) {
		s.changes = append(s.changes, d)
		s.Truth.Decoys = append(s.Truth.Decoys, d.ref())
	}
	excluded := func(at time.Time) bool {
		for _, w := range excludes {
			if !at.Before(w.from) && !at.After(w.to) {
				return true
			}
		}
		return false
	}
	s.changes = append(s.changes, s.background(r, start, end, excluded)...)
	sort.SliceStable(s.changes, func(i, j int) bool { return s.changes[i].at.Before(s.changes[j].at) })
	s.planBlips(r, start, end, excluded)
}

// choose picks the first service(s) the plant breaks and adds the AWS
// dependency its root cause acts on. It reports false when no service is
// left for it (a second incident in a small topology).
func (s *Scenario) choose(r *rnd, p *plant) bool {
	// A second incident breaks none of the first's services (nor, since
	// those include all their callers, anything that depends on them).
	free := func(names []string) []string {
		var out []string
		for _, n := range names {
			if !slices.Contains(p.contain, n) {
				out = append(out, n)
			}
		}
		return out
	}
	switch p.kind {
	case FamilyLBChange:
		c := free(s.layer(1))
		if len(c) == 0 {
			return false
		}
		t := pick(r, c)
		s.service(t).aws = appendUnique(s.service(t).aws, "elasticloadbalancing")
		p.root, p.first = "elasticloadbalancing", []string{t}
	case FamilyDNSChange:
		c := free(s.layer(1, 2))
		if len(c) == 0 {
			return false
		}
		t := pick(r, c)
		s.service(t).aws = appendUnique(s.service(t).aws, "route53")
		p.root, p.first = "route53", []string{t}
	case FamilyIAMPolicy:
		c := free(s.layer(1, 2))
		if len(c) == 0 {
			return false
		}
		t := pick(r, c)
		s.service(t).aws = appendUnique(s.service(t).aws, "iam")
		p.root, p.first = "iam", []string{t}
	case FamilyBadDeploy:
		c := free(s.layer(1, 2))
		if len(c) == 0 {
			return false
		}
		t := pick(r, c)
		p.root, p.first = t, []string{t}
	case KindGCPChange:
		c := free(s.layer(1, 2))
		if len(c) == 0 {
			return false
		}
		t := pick(r, c)
		s.service(t).aws = appendUnique(s.service(t).aws, "compute")
		p.root, p.first = "compute", []string{t}
	case FamilyProviderIncident:
		p.root = "dynamodb"
		if r.chance(0.3) {
			p.root = "sqs"
		}
		if len(s.callers(p.root)) == 0 {
			t := pick(r, s.layer(1, 2))
			s.service(t).aws = appendUnique(s.service(t).aws, p.root)
		}
		p.first = s.callers(p.root)
	}
	return true
}

// planBlips plans one-minute error bursts (a client retrying, a node
// restarting) on random services: noise a robust spike detector should not
// call an incident. About one per 3 hours for 8 services.
func (s *Scenario) planBlips(r *rnd, start, end time.Time, excluded func(time.Time) bool) {
	mean := 180 * time.Minute * 8 / time.Duration(len(s.services))
	for at := start.Add(r.dur(20*time.Minute, 20*time.Minute+mean)); at.Before(end); at = at.Add(r.dur(mean/2, mean*3/2)) {
		sv := pick(r, s.services)
		regions, _ := s.regionsOf(sv)
		b := Blip{Service: sv.name, Region: regions[0], Minute: at.Truncate(time.Minute), Errors: 3 + r.IntN(5)}
		if !excluded(at) {
			s.Truth.Blips = append(s.Truth.Blips, b)
		}
	}
}

// planCascade sets each affected service's onset and recovery along the
// topology: a service breaks after the affected dependency it calls.
// Services another plant breaks (p.contain) are left to it.
func (s *Scenario) planCascade(r *rnd, p *plant, end time.Time) {
	depth0 := 1
	if p.kind == FamilyBadDeploy {
		depth0 = 0
	}
	aff := p.affected
	for i, f := range p.first {
		jit := time.Duration(0)
		if i > 0 {
			jit = r.dur(5*time.Second, 25*time.Second)
		}
		aff[f] = &AffectedService{Service: f, Region: p.region, Onset: p.onset.Add(jit), Depth: depth0, Via: []string{}, PeakRate: r.uniform(12, 35)}
	}
	// Relax until stable: onset(s) = min over affected deps d of onset(d) + hop.
	hops := map[string]time.Duration{}
	for _, sv := range s.services {
		hops[sv.name] = r.dur(50*time.Second, 150*time.Second)
	}
	for changed := true; changed; {
		changed = false
		for _, sv := range s.services {
			if slices.Contains(p.first, sv.name) || slices.Contains(p.contain, sv.name) {
				continue
			}
			for _, d := range sv.deps {
				ad, ok := aff[d]
				if !ok {
					continue
				}
				t := ad.Onset.Add(hops[sv.name])
				if slices.Contains(p.first, d) {
					t = t.Add(p.lag)
				}
				cur, ok := aff[sv.name]
				if !ok {
					aff[sv.name] = &AffectedService{Service: sv.name, Region: p.region, Onset: t, Depth: ad.Depth + 1, Via: []string{}, PeakRate: max(ad.PeakRate*r.uniform(0.4, 0.8), 8) + 3*sv.baseErr}
					changed = true
				} else if t.Before(cur.Onset) {
					cur.Onset, cur.Depth = t, ad.Depth+1
					changed = true
				}
			}
		}
	}
	recovery := p.onset.Add(p.lag).Add(r.dur(12*time.Minute, 30*time.Minute))
	if limit := end.Add(-3 * time.Minute); recovery.After(limit) {
		recovery = limit
	}
	for _, sv := range s.services { // fixed order: the draws must not depend on map order
		a, ok := aff[sv.name]
		if !ok {
			continue
		}
		a.Onset = a.Onset.Truncate(time.Millisecond)
		if !slices.Contains(p.first, a.Service) {
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
	t := &p.truth
	t.Affected = []AffectedService{}
	for _, sv := range s.services { // fixed order, then sort by onset
		if a, ok := aff[sv.name]; ok {
			t.Affected = append(t.Affected, *a)
		}
	}
	sort.SliceStable(t.Affected, func(i, j int) bool { return t.Affected[i].Onset.Before(t.Affected[j].Onset) })
	t.Onset = t.Affected[0].Onset
	for _, a := range t.Affected {
		if a.Recovery.After(t.Recovery) {
			t.Recovery = a.Recovery
		}
	}
}

// rampOf is how long service a takes to reach its peak in plant p.
func (p *plant) rampOf(a *AffectedService) time.Duration {
	if slices.Contains(p.first, a.Service) {
		return p.ramp
	}
	return 30 * time.Second
}
