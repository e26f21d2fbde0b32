package simulate

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Manifest describes what WriteDir wrote.
type Manifest struct {
	Dir      string         `json:"dir"`
	DataDir  string         `json:"data_dir"` // load this directory: faultline load <data_dir>
	Truth    string         `json:"truth"`    // path of truth.json
	Files    []ManifestFile `json:"files"`
	Records  map[string]int `json:"records"`  // per format: CloudTrail records, log events, app lines, EventBridge events
	Messages map[string]int `json:"messages"` // per format: what EachMessage yields (a CloudWatch message is one payload)
	// ControlMessages are the CloudWatch Logs CONTROL_MESSAGE payloads
	// (subscription health checks) among Messages["cloudwatch"], and
	// ControlLogEvents their log events, counted in Records["cloudwatch"]:
	// load skips them, so they are no events.
	ControlMessages  int   `json:"control_messages"`
	ControlLogEvents int   `json:"control_log_events"`
	Bytes            int64 `json:"bytes"`
}

// ManifestFile is one input file, relative to Manifest.Dir.
type ManifestFile struct {
	Path     string `json:"path"`
	Format   string `json:"format"`
	Records  int    `json:"records"`
	Messages int    `json:"messages"`
	Bytes    int64  `json:"bytes"`
}

// Files per format, relative to the data directory.
const (
	dirCloudTrail = "cloudtrail"
	dirCloudWatch = "cloudwatch"
	dirApp        = "app"
	dirAWSEvents  = "awsevents"
)

// WriteDir writes the scenario's inputs under dir/data in the real formats
// (CloudTrail S3 layout, CloudWatch Logs subscription payloads, app NDJSON,
// EventBridge JSON), dir/truth.json and dir/manifest.json. dir is created
// if needed; existing files of the same names are overwritten.
func (s *Scenario) WriteDir(dir string) (Manifest, error) {
	data := filepath.Join(dir, "data")
	for _, d := range []string{dirCloudTrail, dirCloudWatch, dirApp, dirAWSEvents} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
			return Manifest{}, fmt.Errorf("create output directory: %w", err)
		}
	}
	man := Manifest{Dir: dir, DataDir: data, Truth: filepath.Join(dir, "truth.json"), Records: map[string]int{}, Messages: map[string]int{}}
	w := &fileWriter{s: s, dir: dir, man: &man, names: newRnd(s.Seed, 3), buckets: map[ctBucket][]json.RawMessage{}, cwBuckets: map[ctBucket]*cwFile{}}
	w.app = &hourFile{format: "app", name: func(hr time.Time) string {
		return filepath.Join(dir, "data", dirApp, hr.Format("2006/01/02"), "app-events-"+hr.Format("15")+".ndjson")
	}}
	werr := s.walk(w.minute)
	if werr == nil {
		werr = errors.Join(w.flushCW(time.Time{}), w.flushCT(time.Time{}))
	}
	if err := w.app.close(w); err != nil && werr == nil {
		werr = err
	}
	if w.gcp != nil {
		if err := w.gcp.close(w); err != nil && werr == nil {
			werr = err
		}
	}
	if werr != nil {
		return Manifest{}, werr
	}
	sort.Slice(man.Files, func(i, j int) bool { return man.Files[i].Path < man.Files[j].Path })
	truth, err := json.MarshalIndent(s.Truth, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("encode truth: %w", err)
	}
	if err := os.WriteFile(man.Truth, append(truth, '\n'), 0o644); err != nil {
		return Manifest{}, fmt.Errorf("write truth: %w", err)
	}
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("encode manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(mj, '\n'), 0o644); err != nil {
		return Manifest{}, fmt.Errorf("write manifest: %w", err)
	}
	return man, nil
}

type ctBucket struct {
	region string
	start  time.Time // 5-minute bucket of eventTime
}

type fileWriter struct {
	s         *Scenario
	dir       string
	man       *Manifest
	names     *rnd // file name randomness, separate from the events
	buckets   map[ctBucket][]json.RawMessage
	cwBuckets map[ctBucket]*cwFile
	app       *hourFile // application events, one NDJSON file per hour
	gz        gz
	gcp       *hourFile // Google Cloud entries (multi-cloud only)
}

func (w *fileWriter) addFile(path, format string, records, messages int) {
	st, err := os.Stat(path)
	var n int64
	if err == nil {
		n = st.Size()
	}
	rel, _ := filepath.Rel(w.dir, path)
	w.man.Files = append(w.man.Files, ManifestFile{Path: filepath.ToSlash(rel), Format: format, Records: records, Messages: messages, Bytes: n})
	w.man.Records[format] += records
	w.man.Messages[format] += messages
	w.man.Bytes += n
}

func (w *fileWriter) minute(m *minuteOut) error {
	data := filepath.Join(w.dir, "data")
	// the hour's application file exists even when the minute has none
	if err := w.app.open(w, m.t); err != nil {
		return err
	}
	for _, it := range m.app {
		if err := w.app.write(w, m.t, it.raw); err != nil {
			return err
		}
	}
	if err := w.writeCloud(m); err != nil {
		return err
	}
	for _, it := range m.aws {
		var env struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(it.raw, &env)
		p := filepath.Join(data, dirAWSEvents, it.at.UTC().Format("20060102T150405Z")+"_"+env.ID+".json")
		if err := os.WriteFile(p, append(bytes.Clone(it.raw), '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		w.addFile(p, "awsevents", 1, 1)
	}
	for _, it := range m.cw {
		z, err := w.gz.compress(mustJSON(it.payload))
		if err != nil {
			return fmt.Errorf("compress payload: %w", err)
		}
		b := ctBucket{region: it.region, start: it.at.UTC().Truncate(5 * time.Minute)}
		fb := w.cwBuckets[b]
		if fb == nil {
			fb = &cwFile{}
			w.cwBuckets[b] = fb
		}
		fb.data = append(fb.data, z...)
		fb.payloads++
		fb.events += len(it.payload.LogEvents)
		if it.payload.MessageType == "CONTROL_MESSAGE" {
			w.man.ControlMessages++
			w.man.ControlLogEvents += len(it.payload.LogEvents)
		}
	}
	for _, it := range m.ct {
		b := ctBucket{region: it.rec.AWSRegion, start: it.at.UTC().Truncate(5 * time.Minute)}
		w.buckets[b] = append(w.buckets[b], it.raw)
	}
	if err := w.flushCW(m.t.Add(time.Minute)); err != nil {
		return err
	}
	return w.flushCT(m.t.Add(time.Minute))
}

// cwFile is a Kinesis Data Firehose style S3 object: the subscription
// payloads of one region and 5 minutes, each gzipped, concatenated.
type cwFile struct {
	data     []byte
	payloads int
	events   int
}

// flushCW writes every CloudWatch buffer that ends at or before now (all of
// them when now is zero), in a fixed order.
func (w *fileWriter) flushCW(now time.Time) error {
	for _, b := range readyBuckets(w.cwBuckets, now) {
		f := w.cwBuckets[b]
		delete(w.cwBuckets, b)
		delivered := b.start.Add(5*time.Minute + w.names.dur(time.Second, time.Minute))
		name := fmt.Sprintf("faultline-cwl-%s-1-%s-%s.gz", b.region, delivered.Format("2006-01-02-15-04-05"), w.names.uuid())
		path := filepath.Join(w.dir, "data", dirCloudWatch, b.region, delivered.Format("2006/01/02/15"), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", path, err)
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		w.addFile(path, "cloudwatch", f.events, f.payloads)
	}
	return nil
}

// readyBuckets returns the 5-minute buckets of m that end at or before now
// (all of them when now is zero), by start time then region.
func readyBuckets[V any](m map[ctBucket]V, now time.Time) []ctBucket {
	var ready []ctBucket
	for b := range m {
		if now.IsZero() || !b.start.Add(5*time.Minute).After(now) {
			ready = append(ready, b)
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].start.Equal(ready[j].start) {
			return ready[i].start.Before(ready[j].start)
		}
		return ready[i].region < ready[j].region
	})
	return ready
}

// flushCT writes every CloudTrail bucket that ends at or before now (all of
// them when now is zero), in a fixed order.
func (w *fileWriter) flushCT(now time.Time) error {
	ready := readyBuckets(w.buckets, now)
	acct := w.s.Opts.Account
	for _, b := range ready {
		recs := w.buckets[b]
		delete(w.buckets, b)
		delivered := b.start.Add(5*time.Minute + w.names.dur(0, 10*time.Minute))
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", acct, b.region, delivered.Format(layoutS3Key), w.names.upper(16))
		path := filepath.Join(w.dir, "data", dirCloudTrail, "AWSLogs", acct, "CloudTrail", b.region, delivered.Format("2006/01/02"), name)
		var buf bytes.Buffer
		buf.WriteString(`{"Records":[`)
		for i, rec := range recs {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(rec)
		}
		buf.WriteString("]}")
		if err := w.gz.writeFile(path, buf.Bytes()); err != nil {
			return err
		}
		w.addFile(path, "cloudtrail", len(recs), len(recs))
	}
	return nil
}

func (z *gz) writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory for %s: %w", path, err)
	}
	b, err := z.compress(data)
	if err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// gz compresses with one reused gzip writer (deterministic: no name, no
// modification time in the header).
type gz struct {
	zw *gzip.Writer
}

// compress returns a new slice holding data gzipped.
func (z *gz) compress(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data)/4 + 64)
	if z.zw == nil {
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		z.zw = zw
	} else {
		z.zw.Reset(&buf)
	}
	_, err := z.zw.Write(data)
	if err = errors.Join(err, z.zw.Close()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Message is one Kafka message of a scenario. Time is when it would
// arrive (CloudTrail records arrive minutes after the call).
type Message struct {
	Key   []byte
	Value []byte
	Time  time.Time
}

// EachMessage calls fn for every message of the scenario, topic by topic
// interleaved in order of arrival (to the minute): CloudTrail records one
// per message (JSON), CloudWatch Logs subscription payloads (gzip, one per
// service, region and minute), application lines and deploys (JSON), and
// EventBridge events (JSON). See TopicFormats. fn may keep the message.
func (s *Scenario) EachMessage(fn func(topic string, m Message) error) error {
	var pending []ctItem // CloudTrail records not yet arrived
	var z gz
	emitCT := func(until time.Time) error {
		sort.SliceStable(pending, func(i, j int) bool { return pending[i].arrival.Before(pending[j].arrival) })
		n := 0
		for ; n < len(pending) && (until.IsZero() || pending[n].arrival.Before(until)); n++ {
			it := pending[n]
			if err := fn(TopicCloudTrail, Message{Key: []byte(it.rec.EventID), Value: it.raw, Time: it.arrival}); err != nil {
				return err
			}
		}
		pending = append(pending[:0], pending[n:]...)
		return nil
	}
	err := s.walk(func(m *minuteOut) error {
		for _, it := range m.app {
			if err := fn(TopicApp, Message{Key: []byte(it.key), Value: it.raw, Time: it.arrival}); err != nil {
				return err
			}
		}
		for _, it := range m.cw {
			v, err := z.compress(mustJSON(it.payload))
			if err != nil {
				return fmt.Errorf("compress payload: %w", err)
			}
			if err := fn(TopicCloudWatch, Message{Key: []byte(it.payload.LogGroup), Value: v, Time: it.arrival}); err != nil {
				return err
			}
		}
		for _, it := range m.aws {
			if err := fn(TopicAWSEvents, Message{Key: []byte(it.key), Value: it.raw, Time: it.arrival}); err != nil {
				return err
			}
		}
		for _, it := range m.gcp { // one LogEntry per Pub/Sub message
			if err := fn(TopicGCP, Message{Key: []byte(it.key), Value: it.raw, Time: it.arrival}); err != nil {
				return err
			}
		}
		for _, it := range m.az {
			if err := fn(TopicAzure, Message{Key: []byte(it.key), Value: it.raw, Time: it.arrival}); err != nil {
				return err
			}
		}
		pending = append(pending, m.ct...)
		return emitCT(m.t.Add(time.Minute))
	})
	if err != nil {
		return err
	}
	return emitCT(time.Time{})
}

// Messages returns every message per topic (see EachMessage). For large
// scales prefer EachMessage, which does not hold them all.
func (s *Scenario) Messages() (map[string][]Message, error) {
	out := map[string][]Message{}
	err := s.EachMessage(func(topic string, m Message) error {
		out[topic] = append(out[topic], m)
		return nil
	})
	return out, err
}
