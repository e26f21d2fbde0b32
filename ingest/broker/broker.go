package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures the embedded broker (config section broker).
type Config struct {
	// Listen is the host:port to listen on; port 0 picks a free port.
	Listen string `mapstructure:"listen"`
	// Topics to create at start, each "name" or "name:partitions".
	Topics []string `mapstructure:"topics"`
	// DefaultPartitions is used for topics named without a count and for
	// auto-created topics.
	DefaultPartitions int32 `mapstructure:"default_partitions"`
	// AutoCreateTopics lets clients create topics by using them (kafka-go
	// Writer.AllowAutoTopicCreation), as Apache Kafka's
	// auto.create.topics.enable does.
	AutoCreateTopics bool `mapstructure:"auto_create_topics"`
	// DataDir keeps topics, messages and committed offsets on disk across
	// restarts; empty keeps everything in memory.
	DataDir string `mapstructure:"data_dir"`
}

// DefaultConfig returns the defaults for the broker section.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:9092", DefaultPartitions: 3}
}

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("broker.listen: %q is not allowed: use host:port such as 127.0.0.1:9092 (port 0 picks a free one)", c.Listen))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("broker.listen: port %q is not allowed: use 0-65535", port))
	}
	if c.DefaultPartitions < 1 {
		errs = append(errs, fmt.Errorf("broker.default_partitions: %d is not allowed: must be at least 1", c.DefaultPartitions))
	}
	for i, t := range c.Topics {
		if _, _, err := ParseTopic(t, 1); err != nil {
			errs = append(errs, fmt.Errorf("broker.topics[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// ParseTopic parses "name" or "name:partitions"; a name alone gets def
// partitions.
func ParseTopic(s string, def int32) (string, int32, error) {
	name, count, hasCount := strings.Cut(s, ":")
	if name == "" || strings.ContainsAny(name, " /\\") || len(name) > 249 {
		return "", 0, fmt.Errorf("topic %q is not allowed: use name or name:partitions, such as cloudtrail:3 (letters, digits, '.', '_', '-')", s)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", 0, fmt.Errorf("topic %q is not allowed: a topic name uses letters, digits, '.', '_' and '-'", s)
		}
	}
	if !hasCount {
		return name, def, nil
	}
	n, err := strconv.ParseInt(count, 10, 32)
	if err != nil || n < 1 || n > 10000 {
		return "", 0, fmt.Errorf("topic %q: partitions %q is not allowed: use a number from 1 to 10000, such as %s:3", s, count, name)
	}
	return name, int32(n), nil
}

// Broker is a running embedded broker. Its methods are safe for concurrent
// use.
type Broker struct {
	c   *kfake.Cluster
	log *slog.Logger
}

// Start starts a broker listening on listen (host:port; port 0 picks a
// free one) with the given topics (name -> partitions), keeping everything
// in memory. It returns once the broker accepts connections; ctx bounds
// startup only. Close stops it.
func Start(ctx context.Context, listen string, topics map[string]int32) (*Broker, error) {
	cfg := DefaultConfig()
	cfg.Listen = listen
	for name, p := range topics {
		cfg.Topics = append(cfg.Topics, name+":"+strconv.Itoa(int(p)))
	}
	sort.Strings(cfg.Topics)
	return StartConfig(ctx, cfg, nil)
}

// StartConfig starts a broker as configured. log may be nil (no logging);
// the broker's own messages are logged at debug level.
func StartConfig(ctx context.Context, cfg Config, log *slog.Logger) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	byCount := map[int32][]string{}
	for _, t := range cfg.Topics {
		name, p, _ := ParseTopic(t, cfg.DefaultPartitions)
		byCount[p] = append(byCount[p], name)
	}
	listen := cfg.Listen
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ClusterID("faultline"),
		kfake.DefaultNumPartitions(int(cfg.DefaultPartitions)),
		kfake.WithLogger(kfakeLogger{log}),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			var lc net.ListenConfig
			return lc.Listen(ctx, network, listen)
		}),
	}
	for p, names := range byCount {
		opts = append(opts, kfake.SeedTopics(p, names...))
	}
	if cfg.AutoCreateTopics {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if cfg.DataDir != "" {
		// A file, or a path under one, would fail below as if the address
		// were taken.
		if st, err := os.Stat(cfg.DataDir); err == nil && !st.IsDir() {
			return nil, fmt.Errorf("broker data directory %s is a file: pass --data-dir with a directory (created if missing)", cfg.DataDir)
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		hint := "pick a free address with --listen, e.g. 127.0.0.1:0"
		var opErr *net.OpError
		if cfg.DataDir != "" && !errors.As(err, &opErr) {
			hint = "check --data-dir " + cfg.DataDir + " (a directory faultline may write)"
		}
		return nil, fmt.Errorf("start the embedded broker on %s: %w (%s)", listen, err, hint)
	}
	b := &Broker{c: c, log: log}
	if cfg.DataDir != "" {
		// Topics are seeded only into an empty data directory; create the
		// ones added since.
		for p, names := range byCount {
			for _, name := range names {
				if err := b.CreateTopic(ctx, name, p); err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
					b.Close()
					return nil, err
				}
			}
		}
	}
	return b, nil
}

// Addrs returns the addresses clients connect to (host:port).
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Addr returns the first address, for the common one-broker case.
func (b *Broker) Addr() string { return b.Addrs()[0] }

// Cluster exposes the underlying kfake cluster, for tests that inject
// faults (kfake's Control functions).
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// CreateTopic creates a topic with the given number of partitions. Creating
// an existing topic returns an error wrapping kafka.TopicAlreadyExists.
func (b *Broker) CreateTopic(ctx context.Context, name string, partitions int32) error {
	if _, _, err := ParseTopic(name, 1); err != nil {
		return err
	}
	if partitions < 1 {
		return fmt.Errorf("topic %s: %d partitions is not allowed: use at least 1", name, partitions)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs()...), Timeout: 10 * time.Second}
	resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: int(partitions), ReplicationFactor: 1}},
	})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	if err := resp.Errors[name]; err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	b.log.Debug("topic created", "topic", name, "partitions", partitions)
	return nil
}

// Close stops the broker; with a data directory it saves its state first.
// Close is idempotent.
func (b *Broker) Close() { b.c.Close() }

// kfakeLogger sends kfake's messages to slog at debug level: they are
// about client requests, useful only when debugging a client.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	lvl := slog.LevelDebug
	if level == kfake.LogLevelError {
		lvl = slog.LevelWarn
	}
	if !l.log.Enabled(context.Background(), lvl) {
		return
	}
	l.log.Log(context.Background(), lvl, "kfake", "msg", fmt.Sprintf(format, args...))
}
