package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/ingest/store"
)

// Options shape a benchmark run.
type Options struct {
	Mode        string        // "quick" or "full", for the report
	Events      int           // ingest corpus size in events
	Reps        int           // interleaved repetitions of the ingest stages
	QueryEvents []int         // events tables the named queries run over
	QueryRuns   int           // timed runs per query and table (after one warm-up)
	Steady      time.Duration // how long the steady-RSS ingest runs
	Dir         string        // scratch directory ("" = a new temporary one, removed after)
	Exe         string        // the faultline binary: stages run as `Exe bench --stage X`
	ProfileDir  string        // write a CPU profile per stage run here ("" = none)
	Seed        uint64
	Only        string // "" (everything), "ingest", "storage" or "queries"
	// StorageEvents is the size of each source's sample in the storage
	// measurement (bytes per event against read_json).
	StorageEvents int
	// Python runs the Python consumer (stage h): a venv's interpreter with
	// the pinned packages of python/requirements.txt (make bench-python);
	// "" or one that lacks them skips the stage with a note.
	Python string
	// Samples is the folder of the real samples (cloudtrail/, cloudwatch/,
	// events/, gcp/, azure/), each resampled to StorageEvents records for
	// the storage measurement; "" = bench corpus only.
	Samples string
	// MemoryLimit is duckdb.memory_limit for every DuckDB file the stages
	// and the queries open (store.DefaultSettings; "" = DuckDB's default).
	MemoryLimit string
	Log         *slog.Logger
	Progress    io.Writer // one line per step (nil = none)
}

// QuickOptions: about 200k events, 3 repetitions, queries over 1M events,
// 20 s of steady ingest, storage over 50k events per source; about 5 minutes on
// 2 quiet cores.
func QuickOptions() Options {
	return Options{Mode: "quick", Events: 200_000, Reps: 3, QueryEvents: []int{1_000_000}, QueryRuns: 5, Steady: 20 * time.Second, Seed: 1, MemoryLimit: store.DefaultSettings().MemoryLimit, StorageEvents: 50_000}
}

// FullOptions: about 2M events, 5 repetitions, queries over 1M, 10M and
// 100M events (issue 19's targets), 3 minutes of steady ingest.
func FullOptions() Options {
	return Options{Mode: "full", Events: 2_000_000, Reps: 5, QueryEvents: []int{1_000_000, 10_000_000, 100_000_000}, QueryRuns: 7, Steady: 3 * time.Minute, Seed: 1, MemoryLimit: store.DefaultSettings().MemoryLimit, StorageEvents: 100_000}
}

// Validate checks the options.
func (o Options) Validate() error {
	var errs []error
	if o.Events < 1000 {
		errs = append(errs, fmt.Errorf("bench events: %d is not allowed: use at least 1000", o.Events))
	}
	if err := (store.Settings{MemoryLimit: o.MemoryLimit}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("bench --duckdb-memory-limit: %w", err))
	}
	if o.Reps < 1 {
		errs = append(errs, fmt.Errorf("bench reps: %d is not allowed: use at least 1", o.Reps))
	}
	for _, n := range o.QueryEvents {
		if n < 10000 {
			errs = append(errs, fmt.Errorf("bench query events: %d is not allowed: use at least 10000", n))
		}
	}
	if o.QueryRuns < 1 {
		errs = append(errs, fmt.Errorf("bench query runs: %d is not allowed: use at least 1", o.QueryRuns))
	}
	switch o.Only {
	case "", "ingest", "storage", "queries":
	default:
		errs = append(errs, fmt.Errorf("bench only: %q is not allowed: use ingest, storage or queries (or nothing for all)", o.Only))
	}
	if o.StorageEvents < 1000 {
		errs = append(errs, fmt.Errorf("bench storage events: %d is not allowed: use at least 1000", o.StorageEvents))
	}
	if o.Exe == "" {
		errs = append(errs, errors.New("bench: the faultline executable is unknown (Options.Exe)"))
	}
	return errors.Join(errs...)
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...)
	}
}

// Run runs the whole benchmark and returns its report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	t0 := time.Now()
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "faultline-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench scratch directory: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &Report{Mode: o.Mode, Started: t0.UTC(), Machine: machine(ctx), MemoryLimit: o.MemoryLimit}
	if o.Only == "" || o.Only == "ingest" {
		if err := o.runIngest(ctx, dir, rep); err != nil {
			return nil, err
		}
	}
	if o.Only == "" || o.Only == "storage" || o.Only == "ingest" {
		if o.Samples == "" {
			rep.Notes = append(rep.Notes, "storage: bench corpus only (real samples not found or --samples \"\"; name their folder with --samples DIR)")
		}
		st, err := measureStorage(ctx, o, dir)
		if err != nil {
			return nil, err
		}
		rep.Storage = st
	}
	if o.Only == "" || o.Only == "queries" {
		for _, n := range o.QueryEvents {
			o.progress("named queries over %d events", n)
			qr, err := benchQueries(ctx, o, dir, n)
			if err != nil {
				return nil, err
			}
			rep.Queries = append(rep.Queries, qr...)
			removeDBs(dir)
		}
	}
	rep.summarize()
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

// runIngest measures the ingest stages and the steady RSS.
func (o Options) runIngest(ctx context.Context, dir string, rep *Report) error {

	o.progress("generating %d events", o.Events)
	c := Generate(o.Events, o.Seed)
	a := StageArgs{
		Corpus: filepath.Join(dir, "corpus.bin"), NDJSON: filepath.Join(dir, "corpus.ndjson"),
		Events: int64(c.Events), Bytes: c.Bytes, Dir: dir, Duration: o.Steady, MemoryLimit: o.MemoryLimit,
	}
	if err := c.WriteFile(a.Corpus); err != nil {
		return err
	}
	nd, err := c.WriteNDJSON(a.NDJSON)
	if err != nil {
		return err
	}
	rep.Corpus = corpusInfo(c, nd)
	a.CloudTrail = filepath.Join(dir, "cloudtrail.ndjson")
	if _, err := GenerateTopic(0, LoadRecords, o.Seed).WriteNDJSON(a.CloudTrail); err != nil {
		return err
	}

	topics := map[string]int32{}
	for _, t := range Topics {
		topics[t.Name] = Partitions
	}
	br, err := broker.Start(ctx, "127.0.0.1:0", topics)
	if err != nil {
		return err
	}
	defer br.Close()
	a.Brokers = br.Addrs()
	o.progress("filling the embedded broker with %d messages (%.0f MB)", len(c.Msgs), float64(c.Bytes)/1e6)
	if err := fill(ctx, br.Addr(), c); err != nil {
		return err
	}
	c = nil
	runtime.GC()

	stages := IngestStages
	if v, err := PythonCheck(ctx, o.Python); err != nil {
		rep.Notes = append(rep.Notes, "h-python skipped: "+err.Error()+" (make bench-python installs them under .cache/pyvenv)")
	} else {
		a.Python = o.Python
		rep.Python = v
		stages = append(append([]string(nil), stages...), StagePython)
	}
	for r := 1; r <= o.Reps; r++ {
		for _, st := range stages {
			sa := a
			sa.Stage, sa.Rep = st, r
			s, err := o.child(ctx, sa)
			if err != nil {
				return err
			}
			o.progress("rep %d %-10s %8.0f events/s %6.1f MB/s %5.1f s", r, st, perSec(float64(s.Events), s.Seconds), perSec(float64(s.Bytes)/1e6, s.Seconds), s.Seconds)
			rep.Samples = append(rep.Samples, s)
			removeDBs(dir)
		}
	}
	if o.Steady > 0 {
		sa := a
		sa.Stage = StageSteady
		o.progress("steady ingest for %s", o.Steady)
		s, err := o.child(ctx, sa)
		if err != nil {
			return err
		}
		rep.Samples = append(rep.Samples, s)
		removeDBs(dir)
	}
	return nil
}

func perSec(x, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return x / sec
}

func removeDBs(dir string) {
	for _, pat := range []string{"*.duckdb", "*.duckdb.wal", "*.duckdb.tmp"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range m {
			os.RemoveAll(f)
		}
	}
}

// fill produces the corpus into the broker, round robin over partitions.
func fill(ctx context.Context, addr string, c *Corpus) error {
	w := &kafka.Writer{
		Addr: kafka.TCP(addr), Balancer: &kafka.RoundRobin{}, BatchSize: 2000, BatchBytes: 900 << 10,
		BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireOne,
	}
	defer w.Close()
	const chunk = 20000
	msgs := make([]kafka.Message, 0, chunk)
	for i, m := range c.Msgs {
		msgs = append(msgs, kafka.Message{Topic: Topics[m.Topic].Name, Value: m.Value})
		if len(msgs) == chunk || i == len(c.Msgs)-1 {
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				return fmt.Errorf("fill the embedded broker: %w", err)
			}
			msgs = msgs[:0]
		}
	}
	return nil
}

// child runs one stage in a new process of the faultline binary and
// returns its sample, with the broker's (this process's) CPU time beside.
func (o Options) child(ctx context.Context, a StageArgs) (Sample, error) {
	args := []string{"bench", "--stage", a.Stage, "--corpus", a.Corpus, "--ndjson", a.NDJSON, "--cloudtrail", a.CloudTrail, "--python", a.Python,
		"--events-in-corpus", strconv.FormatInt(a.Events, 10), "--bytes", strconv.FormatInt(a.Bytes, 10),
		"--brokers", strings.Join(a.Brokers, ","), "--dir", a.Dir, "--rep", strconv.Itoa(a.Rep),
		"--duration", a.Duration.String(), "--stage-memory-limit", a.MemoryLimit}
	if o.ProfileDir != "" {
		args = append(args, "--stage-profile", filepath.Join(o.ProfileDir, fmt.Sprintf("%s-%d.pprof", a.Stage, a.Rep)))
	}
	cmd := exec.CommandContext(ctx, o.Exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cpu0 := cpuTime()
	err := cmd.Run()
	brokerCPU := (cpuTime() - cpu0).Seconds()
	if err != nil {
		return Sample{}, fmt.Errorf("bench stage %s (rep %d): %w\n%s", a.Stage, a.Rep, err, lastLines(errb.String(), 20))
	}
	var s Sample
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return Sample{}, fmt.Errorf("bench stage %s: read its result: %w (output %q)", a.Stage, err, lastLines(out.String(), 5))
	}
	if a.Stage == StageKafka || a.Stage == StageE2E || a.Stage == StagePython || a.Stage == StageSteady {
		s.BrokerCPUSeconds = brokerCPU
	}
	return s, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// Machine describes where the numbers were measured.
type Machine struct {
	CPUs       int     `json:"cpus"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CPUModel   string  `json:"cpu_model"`
	MemoryGB   float64 `json:"memory_gb"`
	Go         string  `json:"go"`
	DuckDB     string  `json:"duckdb"`
	Kernel     string  `json:"kernel"`
	LoadAvg    string  `json:"load_avg_at_start"`
}

func machine(ctx context.Context) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if db, err := store.Open(ctx, ""); err == nil {
		m.DuckDB, _ = readModel(db).DuckDBVersion(ctx)
		db.Close()
	}
	return m
}
