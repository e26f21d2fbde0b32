package bench

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/internal/tick"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// Ingest stages, in the order they run within one repetition.
const (
	StageKafka    = "a-kafka"    // raw kafka-go consume loop, messages discarded
	StageDecode   = "b-decode"   // decode + Arrow from memory
	StageDuckDB   = "c-duckdb"   // pre-built Arrow batches through the sink's commit path
	StageReadJSON = "d-readjson" // DuckDB read_json of the same records as NDJSON
	StageE2E      = "e-e2e"      // faultline ingest from the topic into a DuckDB file
	StageLoad     = "f-load"     // faultline load of CloudTrail NDJSON into a DuckDB file
	StageLoadRJ   = "g-readjson" // DuckDB read_json of the same file into a table of its own
	StageLoadMore = "i-load-3rd" // f into a file that already holds two loads of the same records
	StagePython   = "h-python"   // a Python consumer (confluent-kafka + duckdb) of the same topics
	StageSteady   = "steady"     // e in a loop for a while, sampling RSS
)

// IngestStages lists the stages of one repetition.
var IngestStages = []string{StageKafka, StageDecode, StageDuckDB, StageReadJSON, StageE2E, StageLoad, StageLoadRJ, StageLoadMore}

// LoadRecords is the number of CloudTrail records of f and g (issue 19's
// 100k-record comparison).
const LoadRecords = 100_000

// StageArgs is what a stage process is given.
type StageArgs struct {
	Stage  string
	Corpus string // corpus file (WriteFile)
	NDJSON string // the same records as NDJSON (d)
	// CloudTrail is LoadRecords CloudTrail records as NDJSON (f and g).
	CloudTrail string
	// Python is the interpreter that runs the Python consumer (h).
	Python   string
	Events   int64 // events the corpus decodes to
	Bytes    int64 // raw message bytes of the corpus
	Brokers  []string
	Dir      string        // scratch directory for DuckDB files
	Rep      int           // repetition number, for unique names
	Duration time.Duration // steady: how long to keep ingesting
	Profile  string        // write a CPU profile of the measured part here
	// MemoryLimit is duckdb.memory_limit for the stage's DuckDB file.
	MemoryLimit string
}

// openDB opens a stage's DuckDB file as faultline's commands do: with the
// duckdb.memory_limit under test.
func openDB(ctx context.Context, path, memoryLimit string) (*store.DB, error) {
	return store.OpenWith(ctx, path, store.Settings{MemoryLimit: memoryLimit})
}

// openWriterDB opens a stage's DuckDB file as faultline ingest and load
// do: with the duckdb.memory_limit under test, and the writer's threads.
func openWriterDB(ctx context.Context, path, memoryLimit string) (*store.DB, error) {
	return store.OpenWith(ctx, path, store.Settings{MemoryLimit: memoryLimit}.ForWriter())
}

// Sample is one measured run of one stage.
type Sample struct {
	Stage        string  `json:"stage"`
	Rep          int     `json:"rep"`
	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"`    // user+system of the stage process while measured
	GCCPUSeconds float64 `json:"gc_cpu_seconds"` // runtime/metrics /cpu/classes/gc/total:cpu-seconds
	GoCPUSeconds float64 `json:"go_cpu_seconds"` // runtime/metrics total minus idle: Go's busy CPU
	MaxRSSBytes  int64   `json:"max_rss_bytes"`  // the stage process's peak RSS (VmHWM)
	// BrokerCPUSeconds is the embedded broker's CPU while the stage ran (the
	// parent process, otherwise idle), for a and e.
	BrokerCPUSeconds float64 `json:"broker_cpu_seconds,omitempty"`
	// c: what the batches weigh in Arrow against the raw bytes they came from.
	Batches    int   `json:"batches,omitempty"`
	ArrowBytes int64 `json:"arrow_bytes,omitempty"`
	RawBytes   int64 `json:"raw_bytes,omitempty"`
	// steady: RSS sampled while ingesting.
	RSSSamples []int64 `json:"rss_samples,omitempty"`
	Loops      int     `json:"loops,omitempty"`
}

// meter measures the wall time, CPU time and GC CPU time of a stretch of a
// stage.
type meter struct {
	t0         time.Time
	cpu0       time.Duration
	gc0, busy0 float64
}

func startMeter() meter {
	runtime.GC() // setup garbage is not the stage's
	m := meter{t0: time.Now(), cpu0: cpuTime()}
	m.gc0, m.busy0 = goCPU()
	return m
}

func (m meter) stop(s *Sample) {
	s.Seconds = time.Since(m.t0).Seconds()
	s.CPUSeconds = (cpuTime() - m.cpu0).Seconds()
	gc, busy := goCPU()
	s.GCCPUSeconds, s.GoCPUSeconds = gc-m.gc0, busy-m.busy0
	s.MaxRSSBytes = maxRSS()
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is this process's peak RSS: VmHWM of /proc/self/status. (The
// getrusage Maxrss of a child process started by Go includes its parent's
// RSS: Linux folds the parent's high water mark in at exec.)
func maxRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// goCPU returns the Go runtime's own accounting of GC CPU time and of busy
// (non-idle) CPU time, both estimated the same way (from wall time of the
// Ps), so their ratio holds on an oversubscribed machine too. C threads
// (DuckDB) are not in either.
func goCPU() (gc, busy float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/cpu/classes/idle:cpu-seconds"}}
	metrics.Read(s)
	for _, x := range s {
		if x.Value.Kind() != metrics.KindFloat64 {
			return 0, 0
		}
	}
	return s[0].Value.Float64(), s[1].Value.Float64() - s[2].Value.Float64()
}

// currentRSS reads this process's resident set size from /proc.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// RunStage runs one stage in this process and measures it.
func RunStage(ctx context.Context, a StageArgs) (Sample, error) {
	var run func(context.Context, StageArgs, func() func(*Sample)) (Sample, error)
	switch a.Stage {
	case StageKafka:
		run = stageKafka
	case StageDecode:
		run = stageDecode
	case StageDuckDB:
		run = stageDuckDB
	case StageReadJSON:
		run = stageReadJSON
	case StageE2E:
		run = stageE2E
	case StageLoad:
		run = stageLoad
	case StageLoadRJ:
		run = stageLoadReadJSON
	case StageLoadMore:
		run = stageLoadMore
	case StagePython:
		run = stagePython
	case StageSteady:
		run = stageSteady
	default:
		return Sample{}, fmt.Errorf("unknown stage %q (allowed: %s, %s)", a.Stage, strings.Join(IngestStages, ", "), StageSteady)
	}
	// measure starts the meter (and the CPU profile, if asked for) and
	// returns the function that stops both.
	measure := func() func(*Sample) {
		var pf *os.File
		if a.Profile != "" {
			if f, err := os.Create(a.Profile); err == nil && pprof.StartCPUProfile(f) == nil {
				pf = f
			}
		}
		m := startMeter()
		return func(s *Sample) {
			m.stop(s)
			if pf != nil {
				pprof.StopCPUProfile()
				pf.Close()
			}
		}
	}
	s, err := run(ctx, a, measure)
	s.Stage, s.Rep = a.Stage, a.Rep
	return s, err
}

// stageKafka reads every partition of the corpus topics with one kafka-go
// reader each, as ingest does, and discards the messages.
func stageKafka(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	hwm, err := highWatermarks(ctx, a.Brokers)
	if err != nil {
		return Sample{}, err
	}
	kc := ingest.DefaultKafkaConfig()
	var bytes atomic.Int64
	s := Sample{Events: a.Events}
	stop := measure()
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range Topics {
		for p := 0; p < Partitions; p++ {
			end := hwm[t.Name][p]
			g.Go(func() error {
				rd := kafka.NewReader(kafka.ReaderConfig{
					Brokers: a.Brokers, Topic: t.Name, Partition: p,
					MinBytes: 1, MaxBytes: kc.FetchMaxBytes, MaxWait: kc.FetchMaxWait, QueueCapacity: 1000,
				})
				defer rd.Close()
				var n int64
				for off := int64(0); off < end; {
					m, err := rd.FetchMessage(gctx)
					if err != nil {
						return fmt.Errorf("read %s[%d]: %w", t.Name, p, err)
					}
					n += int64(len(m.Value))
					off = m.Offset + 1
				}
				bytes.Add(n)
				return nil
			})
		}
	}
	err = g.Wait()
	stop(&s)
	s.Bytes = bytes.Load()
	return s, err
}

// highWatermarks returns the end offset of every corpus partition.
func highWatermarks(ctx context.Context, brokers []string) (map[string][]int64, error) {
	client := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	for _, t := range Topics {
		for p := 0; p < Partitions; p++ {
			req.Topics[t.Name] = append(req.Topics[t.Name], kafka.LastOffsetOf(p))
		}
	}
	resp, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets of the corpus topics: %w", err)
	}
	out := map[string][]int64{}
	for _, t := range Topics {
		out[t.Name] = make([]int64, Partitions)
		for _, po := range resp.Topics[t.Name] {
			if po.Error != nil {
				return nil, fmt.Errorf("list offsets of %s[%d]: %w", t.Name, po.Partition, po.Error)
			}
			out[t.Name][po.Partition] = po.LastOffset
		}
	}
	return out, nil
}

// input is corpus message i as the Kafka source would hand it to Decode.
func input(c *Corpus, i int) transform.Input {
	m := c.Msgs[i]
	return transform.Input{
		Format: transform.Format(Topics[m.Topic].Format), Value: m.Value,
		Lineage: transform.Lineage{Topic: Topics[m.Topic].Name, Partition: int32(i % Partitions), Offset: int64(i)},
	}
}

// stageDecode decodes the corpus and builds Arrow batches from memory, on
// GOMAXPROCS goroutines each taking a contiguous share of the messages (the
// parallel limit of decode + Arrow on this machine).
func stageDecode(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	c, err := ReadCorpus(a.Corpus)
	if err != nil {
		return Sample{}, err
	}
	dec, err := transform.NewDecoder(transform.DefaultConfig())
	if err != nil {
		return Sample{}, err
	}
	cfg := ingest.DefaultConfig()
	workers := runtime.GOMAXPROCS(0)
	var events, dead atomic.Int64
	s := Sample{Bytes: c.Bytes}
	stop := measure()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := len(c.Msgs)*w/workers, len(c.Msgs)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := transform.NewBuilder(memory.NewGoAllocator())
			defer b.Release()
			var res transform.Result
			var raw int
			now := time.Now()
			for i := lo; i < hi; i++ {
				res.Reset()
				dec.Decode(input(c, i), now, &res)
				for j := range res.Events {
					b.Append(&res.Events[j])
				}
				events.Add(int64(len(res.Events)))
				dead.Add(int64(len(res.DeadLetters)))
				raw += len(c.Msgs[i].Value)
				if b.Len() >= cfg.BatchMaxEvents || raw >= cfg.BatchMaxBytes || i == hi-1 {
					b.NewRecordBatch().Release()
					raw = 0
				}
			}
		}()
	}
	wg.Wait()
	stop(&s)
	s.Events = events.Load()
	if d := dead.Load(); d > 0 {
		return s, fmt.Errorf("decode: %d dead letters in the generated corpus (a generator or decoder bug)", d)
	}
	return s, ctx.Err()
}

// buildBatches decodes the corpus into the batches the ingest pipeline
// would commit (same flush rule, same positions).
func buildBatches(c *Corpus) ([]store.Batch, error) {
	dec, err := transform.NewDecoder(transform.DefaultConfig())
	if err != nil {
		return nil, err
	}
	cfg := ingest.DefaultConfig()
	b := transform.NewBuilder(memory.NewGoAllocator())
	defer b.Release()
	var out []store.Batch
	var res transform.Result
	pos := map[[2]any]int64{}
	raw := 0
	now := time.Now()
	flush := func() {
		bt := store.Batch{Events: b.NewRecordBatch()}
		for k, next := range pos {
			bt.Positions = append(bt.Positions, store.Position{Source: k[0].(string), Part: k[1].(int32), Next: next})
		}
		clear(pos)
		out = append(out, bt)
		raw = 0
	}
	for i := range c.Msgs {
		in := input(c, i)
		res.Reset()
		dec.Decode(in, now, &res)
		for j := range res.Events {
			b.Append(&res.Events[j])
		}
		pos[[2]any{"kafka:" + in.Topic, in.Partition}] = in.Offset + 1
		raw += len(in.Value)
		if b.Len() >= cfg.BatchMaxEvents || raw >= cfg.BatchMaxBytes || i == len(c.Msgs)-1 {
			flush()
		}
	}
	return out, nil
}

// stageDuckDB commits pre-built Arrow batches through store.Sink into a
// new DuckDB file (Close, which checkpoints, is measured too).
func stageDuckDB(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	c, err := ReadCorpus(a.Corpus)
	if err != nil {
		return Sample{}, err
	}
	batches, err := buildBatches(c)
	if err != nil {
		return Sample{}, err
	}
	defer func() {
		for _, b := range batches {
			b.Events.Release()
		}
	}()
	s := Sample{Bytes: c.Bytes, Batches: len(batches), RawBytes: c.Bytes}
	for _, b := range batches {
		s.Events += b.Events.NumRows()
		s.ArrowBytes += recordBytes(b.Events)
	}
	c = nil
	db, err := openWriterDB(ctx, filepath.Join(a.Dir, fmt.Sprintf("c-%d.duckdb", a.Rep)), a.MemoryLimit)
	if err != nil {
		return s, err
	}
	sink, err := db.NewSink(ctx)
	if err != nil {
		db.Close()
		return s, err
	}
	stop := measure()
	for i := range batches {
		if err = sink.Commit(ctx, &batches[i]); err != nil {
			break
		}
	}
	err = errors.Join(err, sink.Close(), db.Close())
	stop(&s)
	return s, err
}

//go:embed readjson.sql
var readJSONSQL string

// stageReadJSON loads the NDJSON file into the events table with DuckDB's
// own read_json and SQL mapping each family's fields to the columns.
func stageReadJSON(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	st, err := os.Stat(a.NDJSON)
	if err != nil {
		return Sample{}, fmt.Errorf("ndjson: %w", err)
	}
	db, err := openDB(ctx, filepath.Join(a.Dir, fmt.Sprintf("d-%d.duckdb", a.Rep)), a.MemoryLimit)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Bytes: st.Size()}
	q := strings.ReplaceAll(readJSONSQL, "$path", "'"+strings.ReplaceAll(a.NDJSON, "'", "''")+"'")
	stop := measure()
	res, err := db.ExecContext(ctx, q)
	if err == nil {
		s.Events, err = res.RowsAffected()
	}
	err = errors.Join(err, db.Close())
	stop(&s)
	return s, err
}

// stageLoad runs `faultline load` (ingest.LoadPaths, as the command does)
// of the CloudTrail NDJSON file into a new DuckDB file, Close included.
func stageLoad(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	return loadStage(ctx, a, measure, "f", 0, LoadRecords)
}

// stageLoadMore is f into a file that already holds two loads of the same
// records (under other names, so neither is skipped as loaded): a user's
// file grows, and what a load costs may grow with it (a checkpoint that
// rewrites earlier row groups; docs/benchmarks.md, part 13). The two
// loads before and the close after them are not measured.
func stageLoadMore(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	return loadStage(ctx, a, measure, "i", 2, LoadRecords)
}

// loadStage loads a.CloudTrail prior times (unmeasured, each under its own
// name, then closes the file), and once more measured, Close included; the
// measured load must store want events and no dead letter.
func loadStage(ctx context.Context, a StageArgs, measure func() func(*Sample), name string, prior int, want int64) (Sample, error) {
	st, err := os.Stat(a.CloudTrail)
	if err != nil {
		return Sample{}, fmt.Errorf("cloudtrail ndjson: %w", err)
	}
	path := filepath.Join(a.Dir, fmt.Sprintf("%s-%d.duckdb", name, a.Rep))
	opts := ingest.LoadOptions{Format: transform.FormatAuto, Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig()}
	for i := 1; i <= prior; i++ {
		src := filepath.Join(a.Dir, fmt.Sprintf("%s-%d-prior-%d.ndjson", name, a.Rep, i))
		if err := os.Link(a.CloudTrail, src); err != nil {
			return Sample{}, fmt.Errorf("prior load %d: %w", i, err)
		}
		db, err := openWriterDB(ctx, path, a.MemoryLimit)
		if err != nil {
			return Sample{}, err
		}
		_, err = ingest.LoadPaths(ctx, db, []string{src}, opts)
		if err = errors.Join(err, db.Close(), os.Remove(src)); err != nil {
			return Sample{}, fmt.Errorf("prior load %d: %w", i, err)
		}
	}
	db, err := openWriterDB(ctx, path, a.MemoryLimit)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Bytes: st.Size()}
	stop := measure()
	sum, err := ingest.LoadPaths(ctx, db, []string{a.CloudTrail}, opts)
	s.Events = sum.Events
	err = errors.Join(err, db.Close())
	stop(&s)
	if err == nil && (s.Events != want || sum.DeadLetterTotal() > 0) {
		err = fmt.Errorf("load: %d events and %d dead letters, want %d events", s.Events, sum.DeadLetterTotal(), want)
	}
	return s, err
}

// stageLoadReadJSON is what a DuckDB user would run on the same file: a
// table of read_json's own making (every field a typed or STRUCT column),
// Close included.
func stageLoadReadJSON(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	st, err := os.Stat(a.CloudTrail)
	if err != nil {
		return Sample{}, fmt.Errorf("cloudtrail ndjson: %w", err)
	}
	db, err := openDB(ctx, filepath.Join(a.Dir, fmt.Sprintf("g-%d.duckdb", a.Rep)), a.MemoryLimit)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Bytes: st.Size()}
	stop := measure()
	_, err = db.ExecContext(ctx, "CREATE TABLE cloudtrail AS SELECT * FROM read_json("+quote(a.CloudTrail)+", format = 'newline_delimited', maximum_object_size = 16777216)")
	if err == nil {
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM cloudtrail").Scan(&s.Events)
	}
	err = errors.Join(err, db.Close())
	stop(&s)
	return s, err
}

//go:embed python/consumer.py
var pythonConsumer []byte

// stagePython runs the Python consumer (python/consumer.py) from the
// pre-filled topics into a new DuckDB file until it has every event; the
// sample's CPU time and peak RSS are the Python process's.
func stagePython(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	script := filepath.Join(a.Dir, "consumer.py")
	if err := os.WriteFile(script, pythonConsumer, 0o644); err != nil {
		return Sample{}, err
	}
	s := Sample{Bytes: a.Bytes}
	stop := measure()
	cmd := exec.CommandContext(ctx, a.Python, script, strings.Join(a.Brokers, ","), fmt.Sprintf("bench-h-%d-%d", a.Rep, time.Now().UnixNano()),
		filepath.Join(a.Dir, fmt.Sprintf("h-%d.duckdb", a.Rep)), strconv.FormatInt(a.Events, 10), a.MemoryLimit)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	stop(&s)
	if err != nil {
		return s, fmt.Errorf("python consumer: %w: %s", err, lastLines(errb.String(), 10))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.CPUSeconds = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		s.MaxRSSBytes = ru.Maxrss * 1024
	}
	s.GCCPUSeconds, s.GoCPUSeconds = 0, 0
	var res struct{ Events int64 }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &res); err != nil {
		return s, fmt.Errorf("python consumer: read its result: %w (%q)", err, lastLines(out.String(), 3))
	}
	s.Events = res.Events
	if s.Events != a.Events {
		return s, fmt.Errorf("python consumer: %d events, want %d", s.Events, a.Events)
	}
	return s, nil
}

// PythonCheck says whether python can run the consumer: its version line
// ("duckdb 1.5.6, confluent-kafka 2.16.1, pyarrow 26.0.1"), or why not.
func PythonCheck(ctx context.Context, python string) (string, error) {
	if python == "" {
		return "", errors.New("no Python interpreter given")
	}
	out, err := exec.CommandContext(ctx, python, "-c",
		"import duckdb, confluent_kafka, pyarrow; print('duckdb %s, confluent-kafka %s, pyarrow %s' % (duckdb.__version__, confluent_kafka.__version__, pyarrow.__version__))").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s cannot import duckdb, confluent_kafka and pyarrow: %s", python, lastLines(strings.TrimSpace(string(out)), 1))
	}
	return strings.TrimSpace(string(out)), nil
}

// ingestOptions are the options of a real ingest run over the corpus topics.
func ingestOptions(a StageArgs, db *store.DB, group string) ingest.Options {
	kc := ingest.DefaultKafkaConfig()
	kc.Brokers, kc.Group = a.Brokers, group
	for _, t := range Topics {
		kc.Topics = append(kc.Topics, ingest.TopicConfig{Name: t.Name, Format: t.Format})
	}
	cfg := ingest.DefaultConfig()
	cfg.ExitWhenCaughtUp = true
	cfg.ProgressInterval = 0
	return ingest.Options{Kafka: kc, Config: cfg, Transform: transform.DefaultConfig(), DB: db}
}

// stageE2E runs the real ingest runner from the pre-filled topics into a
// new DuckDB file until it has caught up.
func stageE2E(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	db, err := openWriterDB(ctx, filepath.Join(a.Dir, fmt.Sprintf("e-%d.duckdb", a.Rep)), a.MemoryLimit)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{}
	stop := measure()
	err = ingest.Run(ctx, ingestOptions(a, db, fmt.Sprintf("bench-e-%d-%d", a.Rep, time.Now().UnixNano())))
	if err == nil {
		s.Events, err = countEvents(ctx, db)
	}
	err = errors.Join(err, db.Close())
	stop(&s)
	if err == nil && s.Events != a.Events {
		err = fmt.Errorf("e2e: %d events in DuckDB, want %d", s.Events, a.Events)
	}
	s.Bytes = a.Bytes
	return s, err
}

// stageSteady ingests the corpus again and again into one DuckDB file
// (forgetting the stored offsets between rounds) for a.Duration, sampling
// the RSS every 250 ms.
func stageSteady(ctx context.Context, a StageArgs, measure func() func(*Sample)) (Sample, error) {
	db, err := openWriterDB(ctx, filepath.Join(a.Dir, "steady.duckdb"), a.MemoryLimit)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{}
	var mu sync.Mutex
	stopSampling := tick.Every(250*time.Millisecond, func() {
		mu.Lock()
		s.RSSSamples = append(s.RSSSamples, currentRSS())
		mu.Unlock()
	})
	stop := measure()
	deadline := time.Now().Add(a.Duration)
	for time.Now().Before(deadline) && err == nil {
		rctx, cancel := context.WithDeadline(ctx, deadline)
		err = ingest.Run(rctx, ingestOptions(a, db, fmt.Sprintf("bench-steady-%d", s.Loops)))
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = nil // the time is up in the middle of a round
		}
		cancel()
		s.Loops++
		if err == nil {
			_, err = db.ExecContext(ctx, "DELETE FROM ingest_offsets")
		}
	}
	if err == nil {
		s.Events, err = countEvents(ctx, db)
	}
	err = errors.Join(err, db.Close())
	stopSampling()
	stop(&s)
	mu.Lock()
	defer mu.Unlock()
	return s, err
}

// recordBytes is the size of a record batch's buffers: the bytes a batch
// holds in flight.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += arrayBytes(col.Data())
	}
	return n
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	return n
}

// readModel is the read side (queries) over db: the stages read what they
// ingested through it, like every other reader of the file.
func readModel(db *store.DB) *queries.Engine {
	return queries.NewEngine(db.DB, queries.DefaultCorrelationConfig(), nil)
}

// countEvents returns the number of events stored in db.
func countEvents(ctx context.Context, db *store.DB) (int64, error) {
	n, err := readModel(db).Counts(ctx)
	return n.Events, err
}
