package produce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/internal/tick"
	"github.com/faultline/faultline/transform"
)

// FormatHeader is the message header carrying the --format hint.
const FormatHeader = "faultline-format"

// Config configures faultline produce (config section produce).
type Config struct {
	Topic           string        `mapstructure:"topic"`             // destination topic (required)
	Format          string        `mapstructure:"format"`            // optional hint, sent as header faultline-format
	Compression     string        `mapstructure:"compression"`       // none, gzip, snappy, lz4, zstd
	BatchSize       int           `mapstructure:"batch_size"`        // messages per write
	MaxMessageBytes int           `mapstructure:"max_message_bytes"` // larger records are refused before sending
	DialTimeout     time.Duration `mapstructure:"dial_timeout"`      // connecting to a broker
	Raw             bool          `mapstructure:"raw"`               // one message per file, bytes unchanged
}

// DefaultConfig returns the defaults for the produce section.
func DefaultConfig() Config {
	return Config{Compression: "none", BatchSize: 1000, MaxMessageBytes: 1 << 20, DialTimeout: 10 * time.Second}
}

// Compressions lists the accepted compression names.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Validate names every invalid key, its value and what is allowed. The topic
// is checked by Run, since it usually comes from the command line.
func (c Config) Validate() error {
	var errs []error
	if c.Format != "" {
		if _, err := transform.ParseFormat(c.Format); err != nil {
			errs = append(errs, fmt.Errorf("produce.format: %w", err))
		}
	}
	if _, err := codec(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("produce.batch_size: %d is not allowed: must be at least 1", c.BatchSize))
	}
	if c.MaxMessageBytes < 1 {
		errs = append(errs, fmt.Errorf("produce.max_message_bytes: %d is not allowed: must be positive", c.MaxMessageBytes))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("produce.dial_timeout: %s is not allowed: must be a positive duration such as 10s", c.DialTimeout))
	}
	return errors.Join(errs...)
}

func codec(name string) (kafka.Compression, error) {
	switch name {
	case "none", "":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("produce.compression: %q is not allowed: use %s", name, strings.Join(Compressions, ", "))
}

// Options are the parts of a run that do not come from the produce section.
type Options struct {
	Brokers              []string     // host:port of one or more brokers (required)
	ClientID             string       // Kafka client id; empty: the Transport's, else faultline
	MaxDecompressedBytes int          // cap per .gz file (transform.max_decompressed_bytes)
	Log                  *slog.Logger // nil: no logging
	// MaxFileBytes caps what is read of one file (0: DefaultMaxFileBytes):
	// files are read whole into memory. A regular file over it is refused
	// before anything is sent; a device or pipe that gives more (stat says
	// 0 bytes) stops the run when it reaches it, with an error naming it.
	MaxFileBytes int64
	// Transport carries TLS and SASL (ingest.NewTransport); nil: plaintext.
	// Its DialTimeout is replaced by produce.dial_timeout.
	Transport *kafka.Transport
	// Progress, if set, receives a one-line progress report (rewritten with
	// \r) a few times a second. Pass a terminal only.
	Progress io.Writer
}

// DefaultMaxFileBytes is Options.MaxFileBytes when it is 0: 1 GiB, the cap
// of faultline load.
const DefaultMaxFileBytes = 1 << 30

// Summary is what a run produced.
type Summary struct {
	Files    int
	Messages int
	Bytes    int64 // message values
	Duration time.Duration
}

func (s Summary) String() string {
	secs := s.Duration.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(s.Messages) / secs
	}
	return fmt.Sprintf("produced %d messages (%s) from %d files in %.2fs (%.0f messages/s)", s.Messages, humanBytes(s.Bytes), s.Files, secs, rate)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Run sends every file in paths (directories are walked recursively in
// lexical order; names starting with "." are skipped) to cfg.Topic and
// returns what it sent. Every path is checked before anything is sent, and
// the broker and topic are checked within cfg.DialTimeout, so a typo fails
// fast with nothing produced. An error midway leaves the messages already
// acknowledged in Kafka; Summary counts them.
func Run(ctx context.Context, cfg Config, paths []string, opts Options) (Summary, error) {
	start := time.Now()
	var sum Summary
	if err := cfg.Validate(); err != nil {
		return sum, err
	}
	if cfg.Topic == "" {
		return sum, errors.New("no topic: name one with --topic (config key produce.topic)")
	}
	if len(opts.Brokers) == 0 {
		return sum, errors.New("no brokers: name one with --brokers host:port (config key kafka.brokers)")
	}
	if len(paths) == 0 {
		return sum, errors.New("no files: name the files or directories to send")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	files, err := listFiles(paths, opts.MaxFileBytes, log)
	if err != nil {
		return sum, err
	}
	if err := checkTopic(ctx, cfg, opts, log); err != nil {
		return sum, err
	}
	comp, _ := codec(cfg.Compression)
	tr := transport(cfg, opts)
	defer tr.CloseIdleConnections() // Writer.Close closes only a transport it created itself
	w := &kafka.Writer{
		Addr:         kafka.TCP(opts.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     &kafka.Hash{},
		MaxAttempts:  5,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   int64(max(cfg.MaxMessageBytes+4096, 1<<20)),
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 30 * time.Second,
		RequiredAcks: kafka.RequireAll,
		Compression:  comp,
		Transport:    tr,
	}
	p := &producer{cfg: cfg, opts: opts, w: w, log: log, sum: &sum}
	stopProgress := p.startProgress(len(files))
	err = p.files(ctx, files)
	stopProgress()
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("flush messages to %s: %w", cfg.Topic, cerr)
	}
	sum.Duration = time.Since(start)
	return sum, err
}

// listFiles expands directories and checks that every regular file can be
// opened and is within maxFile bytes. A DuckDB database is no log file:
// named, it is an error; found in a directory, it is skipped with a
// warning (its header is read once, with the open check). A device or
// named pipe is not opened
// here: that would consume a pipe's writer (or wait for one) before it is
// read.
func listFiles(paths []string, maxFile int64, log *slog.Logger) ([]string, error) {
	var found []string
	named := map[string]bool{} // on the command line, not found in a directory
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (check the path)", root, unwrapPathErr(err))
		}
		if !st.IsDir() {
			found, named[root] = append(found, root), true
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %w (check its permissions)", path, unwrapPathErr(err))
			}
			if path != root && strings.HasPrefix(d.Name(), ".") {
				log.Info("skipping hidden path", "path", path)
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var files []string
	for _, f := range found {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (check the path and its permissions)", f, unwrapPathErr(err))
		}
		if !st.Mode().IsRegular() {
			files = append(files, f)
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (check the path and its permissions)", f, unwrapPathErr(err))
		}
		head := make([]byte, 12)
		n, _ := io.ReadFull(fh, head)
		fh.Close()
		if transform.IsDuckDBFile(head[:n]) {
			if named[f] {
				return nil, fmt.Errorf("%s is a DuckDB database, not a log file: produce sends the records of log files (faultline query reads a database, faultline merge adds one to another)", f)
			}
			log.Warn("skipped a DuckDB database file found in a directory: it is not a log file", "file", f)
			continue
		}
		if st.Size() > maxFile {
			return nil, tooLargeError(f, st, maxFile)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no files found under %s (hidden entries and DuckDB databases are skipped)", strings.Join(paths, ", "))
	}
	return files, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// transport returns a fresh Transport (each one owns a connection pool)
// with opts.Transport's TLS and SASL.
func transport(cfg Config, opts Options) *kafka.Transport {
	t := &kafka.Transport{}
	if opts.Transport != nil {
		t.TLS, t.SASL, t.ClientID = opts.Transport.TLS, opts.Transport.SASL, opts.Transport.ClientID
	}
	if opts.ClientID != "" {
		t.ClientID = opts.ClientID // Options.ClientID wins over the Transport's
	}
	if t.ClientID == "" {
		t.ClientID = "faultline"
	}
	t.DialTimeout = cfg.DialTimeout
	return t
}

// checkTopic fails fast when no broker answers or the topic is missing.
func checkTopic(ctx context.Context, cfg Config, opts Options, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	tr := transport(cfg, opts)
	defer tr.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(opts.Brokers...), Timeout: cfg.DialTimeout, Transport: tr}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{cfg.Topic}})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return err
		}
		hint := "start a local broker with 'faultline broker' or pass --brokers host:port"
		if opts.Transport != nil && (opts.Transport.SASL != nil || opts.Transport.TLS != nil) {
			hint = "check --brokers, kafka.tls and the kafka.sasl credentials"
		}
		return fmt.Errorf("cannot reach Kafka at %s within %s: %w (%s)", strings.Join(opts.Brokers, ","), cfg.DialTimeout, err, hint)
	}
	missing := true
	for _, t := range md.Topics {
		missing = missing && !(t.Name == cfg.Topic && t.Error == nil && len(t.Partitions) > 0)
	}
	if missing && autoCreate(ctx, tr, opts.Brokers, cfg.Topic) {
		log.Info("topic created by the broker (auto.create.topics.enable)", "topic", cfg.Topic)
		return nil
	}
	for _, t := range md.Topics {
		if t.Name != cfg.Topic {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				return missingTopic(ctx, client, cfg.Topic, opts.Brokers)
			}
			return fmt.Errorf("topic %s on %s: %w", cfg.Topic, strings.Join(opts.Brokers, ","), t.Error)
		}
		if len(t.Partitions) == 0 {
			return fmt.Errorf("topic %s has no partitions on %s", cfg.Topic, strings.Join(opts.Brokers, ","))
		}
		return nil
	}
	return missingTopic(ctx, client, cfg.Topic, opts.Brokers)
}

// missingTopic says that topic does not exist, naming the closest topic
// the brokers have (a typo: --topic ap for app) or how to create it.
func missingTopic(ctx context.Context, client *kafka.Client, topic string, brokers []string) error {
	hint := ""
	if md, err := client.Metadata(ctx, &kafka.MetadataRequest{}); err == nil {
		names := make([]string, 0, len(md.Topics))
		for _, t := range md.Topics {
			names = append(names, t.Name)
		}
		if c := status.Closest(topic, names); c != "" {
			hint = " (did you mean " + c + "?)"
		}
	}
	return fmt.Errorf("topic %s does not exist on %s%s: fix --topic, or create it (for the embedded broker: faultline broker --topic %s:3)", topic, strings.Join(brokers, ","), hint, topic)
}

// autoCreate asks the brokers for the topic allowing automatic creation,
// as Kafka's own producers do: a broker with auto.create.topics.enable
// (faultline broker --auto-create-topics) creates it. It reports whether
// the topic exists afterwards.
func autoCreate(ctx context.Context, tr *kafka.Transport, brokers []string, topic string) bool {
	resp, err := tr.RoundTrip(ctx, kafka.TCP(brokers...), &metadataAPI.Request{TopicNames: []string{topic}, AllowAutoTopicCreation: true})
	if err != nil {
		return false
	}
	md, ok := resp.(*metadataAPI.Response)
	if !ok {
		return false
	}
	for _, t := range md.Topics {
		if t.Name == topic && t.ErrorCode == 0 && len(t.Partitions) > 0 {
			return true
		}
	}
	return false
}

type producer struct {
	cfg  Config
	opts Options
	w    *kafka.Writer
	log  *slog.Logger

	mu      sync.Mutex // guards sum and fileNum for the progress reporter
	sum     *Summary
	fileNum int
	batch   []kafka.Message
	bbytes  int64
}

func (p *producer) files(ctx context.Context, files []string) error {
	var headers []kafka.Header
	if p.cfg.Format != "" {
		headers = []kafka.Header{{Key: FormatHeader, Value: []byte(p.cfg.Format)}}
	}
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.mu.Lock()
		p.fileNum = i + 1
		p.mu.Unlock()
		data, err := readFile(f, p.opts.MaxFileBytes)
		if err != nil {
			return err
		}
		n := 0
		add := func(pos transform.RecordPos, rec []byte) error {
			if len(rec) > p.cfg.MaxMessageBytes {
				return fmt.Errorf("%s: record %d (byte %d) is %d bytes, more than produce.max_message_bytes (%d): raise it (and the broker's message.max.bytes) or leave the file out", f, pos.Index, pos.Offset, len(rec), p.cfg.MaxMessageBytes)
			}
			p.batch = append(p.batch, kafka.Message{Key: KeyFor(rec, f), Value: rec, Headers: headers})
			p.bbytes += int64(len(rec))
			n++
			if len(p.batch) >= p.cfg.BatchSize {
				return p.flush(ctx)
			}
			return nil
		}
		if p.cfg.Raw {
			err = add(transform.RecordPos{Layout: transform.LayoutWhole}, data)
		} else {
			err = transform.SplitFile(data, p.opts.MaxDecompressedBytes, add)
		}
		if err != nil {
			if errors.Is(err, transform.ErrSplitDecompress) || errors.Is(err, transform.ErrSplitDecompressLimit) {
				return fmt.Errorf("%s: %w (send it unchanged with --raw, or leave it out)", f, err)
			}
			return err
		}
		if n == 0 {
			p.log.Warn("file holds no records, nothing sent", "file", f)
		}
		p.log.Debug("file queued", "file", f, "messages", n)
		p.mu.Lock()
		p.sum.Files++
		p.mu.Unlock()
	}
	return p.flush(ctx)
}

// readFile reads a file to send, at most limit bytes
// (transform.ReadInput): a file over it is an error that names it.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (check the path and its permissions)", path, unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPathErr(err))
	}
	size := int64(0) // a device or pipe: its size is what it gives
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	data, err := transform.ReadInput(f, size, limit)
	if errors.Is(err, transform.ErrInputTooLarge) {
		return nil, tooLargeError(path, st, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w (check the path and its permissions)", path, unwrapPathErr(err))
	}
	return data, nil
}

// tooLargeError says that the file at path (stat st) is over the limit of
// what produce reads of one file, and what to do.
func tooLargeError(path string, st os.FileInfo, limit int64) error {
	if st.Mode().IsRegular() && st.Size() > limit {
		return fmt.Errorf("%s is %d bytes, over the %d byte file limit (files are read whole into memory): split it, or leave it out", path, st.Size(), limit)
	}
	return fmt.Errorf("%s gave more than the %d byte file limit, read no further (not a regular file, or one still growing; files are read whole into memory): save what it gives in files under the limit and produce those", path, limit)
}

func (p *producer) flush(ctx context.Context) error {
	if len(p.batch) == 0 {
		return nil
	}
	if err := p.w.WriteMessages(ctx, p.batch...); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("send to topic %s on %s: %w (check that the brokers are up; messages before this batch were delivered)", p.cfg.Topic, strings.Join(p.opts.Brokers, ","), err)
	}
	p.mu.Lock()
	p.sum.Messages += len(p.batch)
	p.sum.Bytes += p.bbytes
	p.mu.Unlock()
	clear(p.batch)
	p.batch, p.bbytes = p.batch[:0], 0
	return nil
}

// startProgress reports progress to opts.Progress until the returned
// function is called, which also ends the line.
func (p *producer) startProgress(files int) func() {
	if p.opts.Progress == nil {
		return func() {}
	}
	stop := tick.Every(250*time.Millisecond, func() {
		p.mu.Lock()
		fmt.Fprintf(p.opts.Progress, "\rfile %d/%d, %d messages, %s  ", p.fileNum, files, p.sum.Messages, humanBytes(p.sum.Bytes))
		p.mu.Unlock()
	})
	return func() {
		stop()
		fmt.Fprint(p.opts.Progress, "\r\033[K")
	}
}

// keyFields are the fields KeyFor looks at. encoding/json matches names
// case-insensitively, which is harmless here: AWS spells them one way.
type keyFields struct {
	EventVersion       string `json:"eventVersion"`
	RecipientAccountID string `json:"recipientAccountId"`
	AWSRegion          string `json:"awsRegion"`
	Service            string `json:"service"`
	DetailType         string `json:"detail-type"`
	Account            string `json:"account"`
	Region             string `json:"region"`
	Source             string `json:"source"`
	LogGroup           string `json:"logGroup"`
	LogStream          string `json:"logStream"`
}

// KeyFor returns the message key for a record of file, chosen so that one
// source's events land on one partition, in order:
//
//   - CloudTrail record: "cloudtrail/<recipientAccountId>/<awsRegion>" (one
//     trail's delivery stream; S3 layouts are per account and region too)
//   - application event with a service: "app/<service>"
//   - EventBridge event: "<source>/<account>/<region>" (e.g.
//     aws.config/123456789012/us-east-1)
//   - CloudWatch Logs payload (uncompressed): "<logGroup>/<logStream>"
//   - anything else (gzip or base64 CloudWatch payloads, OTLP, binary
//     files): the file's path as given, so a file's records stay together.
func KeyFor(rec []byte, file string) []byte {
	var k keyFields
	if len(rec) > 0 && rec[0] == '{' && keyFieldsOK(json.Unmarshal(rec, &k)) {
		switch {
		case k.EventVersion != "" && k.RecipientAccountID != "":
			return []byte("cloudtrail/" + k.RecipientAccountID + "/" + k.AWSRegion)
		case k.Service != "":
			return []byte("app/" + k.Service)
		case k.DetailType != "" && k.Source != "":
			return []byte(k.Source + "/" + k.Account + "/" + k.Region)
		case k.LogGroup != "":
			return []byte(k.LogGroup + "/" + k.LogStream)
		}
	}
	return []byte(file)
}

// keyFieldsOK accepts a record whose other fields have unexpected types
// (encoding/json still fills the fields it can).
func keyFieldsOK(err error) bool {
	var ute *json.UnmarshalTypeError
	return err == nil || errors.As(err, &ute)
}
