package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "faultline.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// effective runs `faultline config` and returns the printed YAML as a map.
func effective(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, _, err := runCmd(t.Context(), t, append(args, "config")...)
	if err != nil {
		t.Fatalf("faultline %v config: %v", args, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("config output is not YAML: %v\n%s", err, out)
	}
	return m
}

func lookup(m map[string]any, key string) any {
	var cur any = m
	for _, p := range strings.Split(key, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
db: file.duckdb
log:
  level: warn
kafka:
  group: from-file
  client_id: file-client
broker:
  default_partitions: 5
produce:
  topic: file-topic
`)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		wants map[string]any
	}{
		{"defaults", nil, nil, map[string]any{"db": "faultline.duckdb", "kafka.group": "faultline", "log.level": "info", "broker.default_partitions": 3, "broker.listen": "127.0.0.1:9092"}},
		{"file", nil, []string{"--config", file}, map[string]any{"db": "file.duckdb", "kafka.group": "from-file", "log.level": "warn", "broker.default_partitions": 5, "produce.topic": "file-topic", "broker.listen": "127.0.0.1:9092"}},
		{"env over file", map[string]string{"FAULTLINE_DB": "env.duckdb", "FAULTLINE_KAFKA_GROUP": "from-env", "FAULTLINE_BROKER_DEFAULT_PARTITIONS": "7", "FAULTLINE_LOG_LEVEL": "error"},
			[]string{"--config", file}, map[string]any{"db": "env.duckdb", "kafka.group": "from-env", "kafka.client_id": "file-client", "broker.default_partitions": 7, "log.level": "error"}},
		{"flag over env", map[string]string{"FAULTLINE_DB": "env.duckdb", "FAULTLINE_LOG_LEVEL": "error"},
			[]string{"--config", file, "--db", "flag.duckdb", "--log-level", "debug"}, map[string]any{"db": "flag.duckdb", "log.level": "debug", "kafka.group": "from-file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			m := effective(t, tc.args...)
			for key, want := range tc.wants {
				if got := lookup(m, key); got != want {
					t.Errorf("%s = %#v, want %#v", key, got, want)
				}
			}
		})
	}
}

// The decoded Config, not only what `faultline config` prints, follows the
// same precedence, for nested keys, lists and durations too.
func TestConfigPrecedenceDecoded(t *testing.T) {
	file := writeConfig(t, "produce:\n  topic: file-topic\n  batch_size: 10\n  dial_timeout: 3s\nkafka:\n  brokers: [file:1]\n")
	t.Setenv("FAULTLINE_PRODUCE_BATCH_SIZE", "20")
	t.Setenv("FAULTLINE_KAFKA_BROKERS", "env1:1,env2:2")
	t.Setenv("FAULTLINE_PRODUCE_DIAL_TIMEOUT", "4s")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("topic", "", "")
	fs.Duration("dial-timeout", 0, "")
	fs.StringArray("broker-topic", nil, "")
	if err := fs.Parse([]string{"--topic", "flag-topic", "--broker-topic", "a:1", "--broker-topic", "b:2"}); err != nil {
		t.Fatal(err)
	}
	v := newViper()
	bindFlags(v, fs, map[string]string{"topic": "produce.topic", "dial-timeout": "produce.dial_timeout", "broker-topic": "broker.topics"})
	cfg, err := loadConfig(v, file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Produce.Topic != "flag-topic" {
		t.Errorf("produce.topic = %q, want the flag's", cfg.Produce.Topic)
	}
	if cfg.Produce.BatchSize != 20 {
		t.Errorf("produce.batch_size = %d, want the env's 20", cfg.Produce.BatchSize)
	}
	if cfg.Produce.DialTimeout != 4*time.Second {
		t.Errorf("produce.dial_timeout = %s, want the env's 4s (the flag was not set)", cfg.Produce.DialTimeout)
	}
	if !slices.Equal(cfg.Kafka.Brokers, []string{"env1:1", "env2:2"}) {
		t.Errorf("kafka.brokers = %q, want the env's two", cfg.Kafka.Brokers)
	}
	if !slices.Equal(cfg.Broker.Topics, []string{"a:1", "b:2"}) {
		t.Errorf("broker.topics = %q, want the repeated flag's", cfg.Broker.Topics)
	}
	if cfg.Kafka.Group != "faultline" {
		t.Errorf("kafka.group = %q, want the default", cfg.Kafka.Group)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		args []string
		want []string
	}{
		{"unknown top-level key", "colour: blue\n", nil, nil, []string{"colour"}},
		{"unknown nested key", "kafka:\n  brokrs: [a:1]\n", nil, nil, []string{"kafka.brokrs: unknown key (did you mean kafka.brokers?"}},
		{"misspelt key", "query:\n  max_rowz: 10\n", nil, nil, []string{"query.max_rowz: unknown key (did you mean query.max_rows?"}},
		{"bad log level", "log:\n  level: loud\n", nil, nil, []string{`log.level: "loud" is not allowed`, "debug, info, warn or error"}},
		{"bad log level flag", "", nil, []string{"--log-level", "chatty"}, []string{`log.level: "chatty"`}},
		{"bad env value", "", map[string]string{"FAULTLINE_PRODUCE_COMPRESSION": "brotli"}, nil, []string{`produce.compression: "brotli" is not allowed`, "zstd"}},
		{"bad listen", "broker:\n  listen: localhost\n", nil, nil, []string{`broker.listen: "localhost" is not allowed`, "host:port"}},
		{"bad number", "transform:\n  max_json_depth: -1\n", nil, nil, []string{"transform.max_json_depth: -1 is not allowed", "positive"}},
		{"wrong type", "ingest:\n  batch_max_events: lots\n", nil, nil, []string{"batch_max_events"}},
		{"several at once", "log:\n  format: xml\nbroker:\n  default_partitions: 0\n", nil, nil, []string{`log.format: "xml"`, "broker.default_partitions: 0"}},
		{"bad yaml", "kafka: [unclosed\n", nil, nil, []string{"fix the YAML"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"--config", writeConfig(t, tc.yaml)}, tc.args...)
			_, _, err := runCmd(t.Context(), t, append(args, "config")...)
			if err == nil {
				t.Fatal("no error")
			}
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("%v is not a usage error (exit status 2)", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	_, _, err := runCmd(t.Context(), t, "--config", filepath.Join(t.TempDir(), "missing.yaml"), "config")
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing config file: %v, want an error naming the file and --config", err)
	}
}

// TestConfigPathShapes: --config is read as YAML whatever its name ends in
// (a directory or a name without .yaml used to get viper's "Unsupported
// Config Type \"\""), and a directory is named as the mistake.
func TestConfigPathShapes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, want string // want "" = accepted
	}{
		{"faultline.yaml.bak", ""},
		{"faultline-conf", ""},
		{"faultline.yml", ""},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte("query:\n  max_rows: 7\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err := runCmd(t.Context(), t, "--config", path, "config")
		if err != nil || !strings.Contains(out, "max_rows: 7") {
			t.Errorf("--config %s: %v, want it read as YAML (max_rows: 7):\n%s", c.name, err, out)
		}
	}
	_, _, err := runCmd(t.Context(), t, "--config", dir, "config")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "is a directory: pass --config with the YAML file") {
		t.Errorf("--config DIR: %v, want a usage error saying it is a directory", err)
	}
}

// Secrets inside lists of objects are masked too.
func TestConfigMasksNestedSecrets(t *testing.T) {
	file := writeConfig(t, `
reports:
  schedules:
    - name: daily
      cron: "0 6 * * *"
      window: 24h
      format: md
      dir: reports
      webhook:
        url: https://hooks.example.com/x
        token: hook-secret-123
`)
	out, _, err := runCmd(t.Context(), t, "--config", file, "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hook-secret-123") {
		t.Errorf("faultline config printed a webhook token:\n%s", out)
	}
	if !strings.Contains(out, "https://hooks.example.com/x") || !strings.Contains(out, "********") {
		t.Errorf("faultline config lost the schedule or did not mask its token:\n%s", out)
	}
}

// Webhook URLs (and any URL in the configuration) are printed without the
// secrets they carry: user:password, token-like query parameters, tokens in
// the path.
func TestConfigMasksURLSecrets(t *testing.T) {
	file := writeConfig(t, `
query:
  server: http://analyst:qpass-777@127.0.0.1:8080
reports:
  schedules:
    - name: daily
      cron: "0 6 * * *"
      window: 24h
      format: md
      dir: reports
      webhook:
        url: https://hookuser:hook-pass-123@hooks.example.com/notify?channel=ops&token=tok-456&X-Amz-Signature=sig789abc
    - name: slack
      cron: "0 6 * * *"
      window: 24h
      format: md
      dir: reports
      webhook:
        url: https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnop12345678
`)
	out, _, err := runCmd(t.Context(), t, "--config", file, "config")
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hook-pass-123", "tok-456", "sig789abc", "qpass-777", "abcdefghijklmnop12345678"} {
		if strings.Contains(out, secret) {
			t.Errorf("faultline config printed %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{
		"https://hookuser:********@hooks.example.com/notify?channel=ops&token=********&X-Amz-Signature=********",
		"http://analyst:********@127.0.0.1:8080",
		"https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/********",
	} {
		if !strings.Contains(out, kept) {
			t.Errorf("faultline config lacks %q:\n%s", kept, out)
		}
	}
}

func TestConfigMasksSecrets(t *testing.T) {
	t.Setenv("FAULTLINE_KAFKA_SASL_PASSWORD", "hunter2")
	t.Setenv("FAULTLINE_KAFKA_SASL_USERNAME", "alice")
	out, _, err := runCmd(t.Context(), t, "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "hunter2") {
		t.Error("faultline config printed the password")
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if got := lookup(m, "kafka.sasl.password"); got != "********" {
		t.Errorf("kafka.sasl.password printed as %#v, want ********", got)
	}
	if got := lookup(m, "kafka.sasl.username"); got != "alice" {
		t.Errorf("kafka.sasl.username printed as %#v, want alice", got)
	}
	for _, key := range []string{"db", "log.level", "kafka.brokers", "broker.listen", "produce.compression", "transform.max_json_depth"} {
		if lookup(m, key) == nil {
			t.Errorf("faultline config does not print %s", key)
		}
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, LogConfig{Level: "warn", Format: "auto"}) // not a terminal: JSON
	log.Info("hidden")
	log.Warn("shown", "k", 1, "wait", 204*time.Millisecond)
	out := buf.String()
	if !strings.Contains(out, `"wait":"204ms"`) {
		t.Errorf("a duration in JSON logs is not written as one: %s", out)
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("info logged at level warn: %s", out)
	}
	if !strings.HasPrefix(out, "{") || !strings.Contains(out, `"msg":"shown"`) || !strings.Contains(out, `"k":1`) {
		t.Errorf("auto format off a terminal is not JSON: %s", out)
	}
	buf.Reset()
	log = newLogger(&buf, LogConfig{Level: "DEBUG", Format: "text"})
	log.Debug("details", "k", "v")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "msg=details") {
		t.Errorf("text format at debug: %q", got)
	}
	if !log.Enabled(t.Context(), slog.LevelDebug) {
		t.Error("debug not enabled at level DEBUG")
	}
	// The root command applies --log-level and --log-format to what
	// commands log.
	b := startBrokerCmd(t, "--log-level", "info", "--log-format", "json", "broker", "--listen", "127.0.0.1:0")
	stderr := b.stop(t)
	if !strings.Contains(stderr, `"msg":"broker started"`) || !strings.Contains(stderr, `"level":"INFO"`) {
		t.Errorf("--log-format json at info: stderr %q", stderr)
	}
	b = startBrokerCmd(t, "--log-level", "warn", "--log-format", "text", "broker", "--listen", "127.0.0.1:0")
	if stderr := b.stop(t); stderr != "" {
		t.Errorf("--log-level warn still logged: %q", stderr)
	}
	b = startBrokerCmd(t, "--log-format", "text", "broker", "--listen", "127.0.0.1:0")
	if stderr := b.stop(t); !strings.Contains(stderr, "level=INFO msg=\"broker started\"") {
		t.Errorf("--log-format text: stderr %q", stderr)
	}
}

// flatKeys lists the leaf keys of a YAML document; maps that are empty and
// lists count as leaves.
func flatKeys(prefix string, m map[string]any, out map[string]bool) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 && !mapValued[key] {
			flatKeys(key, sub, out)
			continue
		}
		out[key] = true
	}
}

// mapValued keys hold free-form maps whose entries are data, not keys.
var mapValued = map[string]bool{"topology": true, "transform.log_groups": true}

// TestExampleConfig: faultline.example.yaml loads strictly, validates, and
// documents every key faultline knows (and no other).
func TestExampleConfig(t *testing.T) {
	const path = "../../faultline.example.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(newViper(), path)
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	// It says it holds every key with its default: it must decode to the
	// defaults (it used to configure four topics).
	if got, want := effectiveTree(reflect.ValueOf(cfg)), effectiveTree(reflect.ValueOf(defaultConfig())); !reflect.DeepEqual(got, want) {
		gy, _ := yaml.Marshal(got)
		wy, _ := yaml.Marshal(want)
		t.Errorf("faultline.example.yaml does not hold the defaults:\n%s\nwant\n%s", gy, wy)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	inExample := map[string]bool{}
	flatKeys("", doc, inExample)
	known := map[string]bool{}
	for _, k := range newViper().AllKeys() {
		known[k] = true
	}
	for k := range mapValued {
		known[k] = true
	}
	for k := range known {
		if !inExample[k] {
			t.Errorf("key %s is missing from faultline.example.yaml: document it there", k)
		}
	}
	for k := range inExample {
		if !known[k] {
			t.Errorf("faultline.example.yaml has %s, which faultline does not know", k)
		}
	}
}

// TestConfigReportsEverythingAtOnce: a value of the wrong type, an unknown
// key, an environment variable with a typo and an invalid value are all
// reported in one error (a type error used to hide the rest), and a
// fractional number is refused for an integer setting instead of truncated.
func TestConfigReportsEverythingAtOnce(t *testing.T) {
	t.Setenv("FAULTLINE_KAFKA_BROKRS", "b:9092")
	file := writeConfig(t, `
ingest:
  batch_max_events: lots
kafka:
  grup: ops
duckdb:
  threads: 1.9
log:
  level: loud
`)
	_, _, err := runCmd(t.Context(), t, "--config", file, "config")
	var ue usageError
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	for _, want := range []string{
		"ingest.batch_max_events:",
		"kafka.grup: unknown key",
		"duckdb.threads:", "1.9 is not a whole number",
		`log.level: "loud" is not allowed`,
		"environment variable FAULTLINE_KAFKA_BROKRS is not a faultline setting: did you mean FAULTLINE_KAFKA_BROKERS?",
		"(5 problems)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n")[1:] {
		if strings.HasPrefix(line, "ingest.batch_max_events: 0 is not allowed") {
			t.Errorf("the undecodable key is reported twice: %q", line)
		}
	}
	t.Setenv("FAULTLINE_KAFKA_BROKRS", "")
	os.Unsetenv("FAULTLINE_KAFKA_BROKRS")
	t.Setenv("FAULTLINE_DUCKDB_THREADS", "2.5")
	if _, _, err := runCmd(t.Context(), t, "config"); err == nil || !strings.Contains(err.Error(), "duckdb.threads") || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("FAULTLINE_DUCKDB_THREADS=2.5: %v, want refused as not a whole number", err)
	}
	t.Setenv("FAULTLINE_DUCKDB_THREADS", "3")
	if got := lookup(effective(t), "duckdb.threads"); got != 3 {
		t.Errorf("FAULTLINE_DUCKDB_THREADS=3 printed as %#v, want 3", got)
	}
	// The benchmarks' own switches (docs/correlation.md, Performance) are
	// not settings, and not typos either.
	t.Setenv("FAULTLINE_BENCH_DB", "/tmp/x.duckdb")
	t.Setenv("FAULTLINE_BENCH_EVENTS", "1000")
	if _, _, err := runCmd(t.Context(), t, "config"); err != nil {
		t.Errorf("FAULTLINE_BENCH_DB and FAULTLINE_BENCH_EVENTS: %v, want allowed", err)
	}
}

// TestConfigPrintsExampleKeys: `faultline config` prints the keys of
// faultline.example.yaml, no more, no fewer: serve's embedded dashboards
// keys used to print under a key named ",squash".
func TestConfigPrintsExampleKeys(t *testing.T) {
	data, err := os.ReadFile("../../faultline.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	want, got := map[string]bool{}, map[string]bool{}
	flatKeys("", doc, want)
	flatKeys("", effective(t), got)
	for k := range got {
		if !want[k] {
			t.Errorf("faultline config prints %s, which faultline.example.yaml does not have", k)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("faultline config does not print %s", k)
		}
	}
}

// TestConfigPrintsEffectiveValues: `faultline config` prints what faultline
// runs with (decoded values), not the raw strings it was given.
func TestConfigPrintsEffectiveValues(t *testing.T) {
	t.Setenv("FAULTLINE_INGEST_BATCH_MAX_WAIT", "1500ms")
	t.Setenv("FAULTLINE_KAFKA_BROKERS", "b1:9092,b2:9092")
	m := effective(t)
	for key, want := range map[string]any{
		"ingest.batch_max_wait":     "1.5s",
		"kafka.session_timeout":     "30s",
		"correlation.lookback":      "1h",
		"broker.default_partitions": 3,
		"kafka.topics":              []any{},
	} {
		got := lookup(m, key)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
	if got := lookup(m, "kafka.brokers"); fmt.Sprint(got) != "[b1:9092 b2:9092]" {
		t.Errorf("kafka.brokers = %#v, want the two brokers as a list", got)
	}
}

// TestEventHubsConfigDoc: the Event Hubs configuration docs/ingest.md shows
// decodes as written: the user name stays the literal $ConnectionString,
// and the connection string (';' and '=' included) comes from the
// environment unchanged.
func TestEventHubsConfigDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ingest.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### Azure: diagnostic settings")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/ingest.md has no yaml block under ### Azure: diagnostic settings")
	}
	const connStr = "Endpoint=sb://contoso-logs.servicebus.windows.net/;SharedAccessKeyName=faultline-listen;SharedAccessKey=abc+/def=="
	t.Setenv("FAULTLINE_KAFKA_SASL_PASSWORD", connStr)
	cfg, err := loadConfig(newViper(), writeConfig(t, block))
	if err != nil {
		t.Fatalf("the documented Event Hubs config does not load: %v", err)
	}
	k := cfg.Kafka
	if k.SASL.Mechanism != "plain" || k.SASL.Username != "$ConnectionString" || k.SASL.Password != connStr || !k.TLS.Enabled ||
		!slices.Equal(k.Brokers, []string{"contoso-logs.servicebus.windows.net:9093"}) || len(k.Topics) != 2 || k.Topics[0].Format != "azureactivity" {
		t.Fatalf("decoded %+v", k)
	}
}

// The PostgreSQL endpoint's password (from the file or the environment) is
// masked; a non-loopback listen address without one is refused in one line.
func TestConfigPostgres(t *testing.T) {
	file := writeConfig(t, `
serve:
  postgres:
    listen: 0.0.0.0:5432
    password: pg-secret-123
`)
	out, _, err := runCmd(t.Context(), t, "--config", file, "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "pg-secret-123") || !strings.Contains(out, "********") {
		t.Errorf("faultline config shows the postgres password or not the key:\n%s", out)
	}
	t.Setenv("FAULTLINE_SERVE_POSTGRES_PASSWORD", "env-secret-456")
	out, _, err = runCmd(t.Context(), t, "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "env-secret-456") {
		t.Errorf("faultline config shows the postgres password from the environment:\n%s", out)
	}
	t.Setenv("FAULTLINE_SERVE_POSTGRES_PASSWORD", "")
	_, _, err = runCmd(t.Context(), t, "--config", writeConfig(t, "serve:\n  postgres:\n    listen: 0.0.0.0:5432\n"), "config")
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("non-loopback listen without a password: %v", err)
	}
}

// TestConfigUnknownKeyInListItem: a misspelt key inside an item of a list
// (kafka.topics, reports.schedules) names the item by its index and the
// closest key of that item, as a misspelt key elsewhere does; the problem
// it causes (the key it meant is unset) is not reported on top of it. It
// said "kafka.topics[1].formt: unknown key (see faultline.example.yaml ...)"
// and "kafka.topics[1].format: unknown format """.
func TestConfigUnknownKeyInListItem(t *testing.T) {
	yaml := `kafka:
  topics:
    - name: trail
      format: cloudtrail
    - name: app
      formt: app
    - name: cw
      format: cloudwatch
      formt: app
reports:
  schedules:
    - name: daily
      cron: "@daily"
      window: 24h
      webhook:
        url: https://example.com/hook
        tokn: secret
`
	_, _, err := runCmd(t.Context(), t, "--config", writeConfig(t, yaml), "config")
	var ue usageError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want a usage error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"invalid configuration (3 problems):",
		"kafka.topics[1].formt: unknown key (in item 1 of kafka.topics: did you mean format? see faultline.example.yaml",
		"kafka.topics[2].formt: unknown key (in item 2 of kafka.topics: did you mean format?",
		"reports.schedules[0].webhook.tokn: unknown key (in item 0 of reports.schedules: did you mean webhook.token?",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, `unknown format ""`) {
		t.Errorf("error %q reports the format the typo left unset", msg)
	}
}

// TestConfigDurationNeedsUnit: a number without a unit for a duration
// setting is an error naming the key and a unit to add, in the file as in
// the environment; it used to be read as nanoseconds (query.timeout: 30
// ran every query with a 30ns timeout). 0 stays allowed: several settings
// use it for off.
func TestConfigDurationNeedsUnit(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // "" = accepted
	}{
		{"int", "query:\n  timeout: 30\n", nil, []string{"query.timeout: 30 is not a duration: add a unit, e.g. 30s"}},
		{"float", "ingest:\n  batch_max_wait: 1.5\n", nil, []string{"ingest.batch_max_wait: 1.5 is not a duration: add a unit, e.g. 1.5s"}},
		{"negative", "correlation:\n  lookback: -5\n", nil, []string{"correlation.lookback: -5 is not a duration: add a unit, e.g. -5s"}},
		{"quoted number", "query:\n  timeout: \"30\"\n", nil, []string{`query.timeout: "30" is not a duration: add a unit, e.g. 30s`}},
		{"env number", "", map[string]string{"FAULTLINE_QUERY_TIMEOUT": "30"}, []string{`query.timeout: "30" is not a duration: add a unit, e.g. 30s`}},
		{"not a number", "query:\n  timeout: soon\n", nil, []string{`query.timeout: "soon" is not a duration: use a number with a unit, e.g. 30s`}},
		{"in a list item", "reports:\n  schedules:\n    - name: daily\n      cron: \"@daily\"\n      window: 24\n      webhook:\n        timeout: 5\n",
			nil, []string{"reports.schedules[0].window: 24 is not a duration: add a unit, e.g. 24s", "reports.schedules[0].webhook.timeout: 5 is not a duration: add a unit, e.g. 5s"}},
		{"zero", "ingest:\n  progress_interval: 0\nserve:\n  refresh: 0.0\n", map[string]string{"FAULTLINE_CORRELATION_BASELINE_GAP": "0"}, nil},
		{"with units", "query:\n  timeout: 1m30s\ningest:\n  batch_max_wait: 250ms\n", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := loadConfig(newViper(), writeConfig(t, tc.yaml))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	// Every duration key refuses a bare number, each reported once.
	doc := map[string]any{}
	var keys []string
	configLeaves("", reflect.TypeFor[Config](), nil, func(key string, _ []int, ft reflect.Type) {
		if ft != reflect.TypeFor[time.Duration]() {
			return
		}
		keys = append(keys, key)
		m := doc
		parts := strings.Split(key, ".")
		for _, p := range parts[:len(parts)-1] {
			if m[p] == nil {
				m[p] = map[string]any{}
			}
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = 30
	})
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = loadConfig(newViper(), writeConfig(t, string(data)))
	if err == nil {
		t.Fatalf("every duration key set to 30 was accepted:\n%s", data)
	}
	for _, k := range keys {
		if n := strings.Count(err.Error(), "\n"+k+": 30 is not a duration: add a unit, e.g. 30s"); n != 1 {
			t.Errorf("%s: 30 reported %d times, want once:\n%v", k, n, err)
		}
	}
}

// TestConfigUnknownKeySuggestions: a misspelt key gets the closest known
// key wherever it is: at the top level (which said "main.Config.corelation:
// unknown key" with no suggestion), a misspelt section (kafka.sals), and
// in an item of every list of objects, a misspelt object in the item
// included (reports.schedules[0].webhok had no suggestion).
func TestConfigUnknownKeySuggestions(t *testing.T) {
	const schedule = "reports:\n  schedules:\n    - name: daily\n      cron: \"@daily\"\n"
	tests := []struct {
		name string
		list string // the list of objects the case covers, if any
		yaml string
		want string
	}{
		{"top-level section", "", "corelation:\n  lookback: 2h\n", "invalid configuration: corelation: unknown key (did you mean correlation? see faultline.example.yaml"},
		{"top-level key", "", "dbb: x.duckdb\n", "invalid configuration: dbb: unknown key (did you mean db?"},
		{"top-level, nothing close", "", "colour: blue\n", "invalid configuration: colour: unknown key (see faultline.example.yaml"},
		{"nested section", "", "kafka:\n  sals:\n    mechanism: plain\n", "kafka.sals: unknown key (did you mean kafka.sasl?"},
		// empty: viper drops the key before the strict decode sees it
		{"empty top-level section", "", "kafak:\n", "invalid configuration: kafak: unknown key, and empty (did you mean kafka?"},
		{"empty nested key", "", "kafka:\n  brokrs:\n  group: g\n", "invalid configuration: kafka.brokrs: unknown key, and empty (did you mean kafka.brokers?"},
		{"empty top-level map", "", "corelation: {}\n", "invalid configuration: corelation: unknown key, and empty (did you mean correlation?"},
		{"empty nested map", "", "kafka:\n  sals: {}\n", "invalid configuration: kafka.sals: unknown key, and empty (did you mean kafka.sasl?"},
		{"topics item", "kafka.topics", "kafka:\n  topics:\n    - name: app\n      formt: app\n",
			"kafka.topics[0].formt: unknown key (in item 0 of kafka.topics: did you mean format?"},
		{"schedules item object", "reports.schedules", schedule + "      webhok:\n        url: https://example.com/hook\n",
			"reports.schedules[0].webhok: unknown key (in item 0 of reports.schedules: did you mean webhook?"},
		{"schedules item nested key", "reports.schedules", schedule + "      webhook:\n        max_bakoff: 2m\n",
			"reports.schedules[0].webhook.max_bakoff: unknown key (in item 0 of reports.schedules: did you mean webhook.max_backoff?"},
		{"catalogue item", "transform.catalogue", "transform:\n  catalogue:\n    - service: ec2\n      operaton: RunInstances\n      type: deploy\n      risk: low\n",
			"transform.catalogue[0].operaton: unknown key (in item 0 of transform.catalogue: did you mean operation?"},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.list+"[]"] = true
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(newViper(), writeConfig(t, tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "main.") {
				t.Errorf("err = %v names a Go type", err)
			}
		})
	}
	for list := range itemKeys() {
		if !covered[list] {
			t.Errorf("no case for a misspelt key in an item of %s: add one", strings.TrimSuffix(list, "[]"))
		}
	}
}

// TestConfigEmptyKnownKeys: an empty section or setting that exists is
// accepted (its defaults apply), and so is an empty entry of a map whose
// keys are the user's own (topology: a service with no dependencies).
func TestConfigEmptyKnownKeys(t *testing.T) {
	cfg, err := loadConfig(newViper(), writeConfig(t, "kafka:\n  sasl: {}\nquery:\n  max_rows:\ntopology:\n  checkout:\n  cart: []\nreports: {}\n"))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if cfg.Kafka.Group != defaultConfig().Kafka.Group {
		t.Errorf("kafka.group = %q, want the default %q", cfg.Kafka.Group, defaultConfig().Kafka.Group)
	}
}

// TestConfigWrongShape: a list or a single value where a section or a map
// is expected is one problem, for that key; kafka: [1,2] used to give six,
// five of them its keys reported as empty. Problems elsewhere are still
// reported.
func TestConfigWrongShape(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // the problems, in order
	}{
		{"section as a list", "kafka: [1, 2]\n", []string{"kafka: expected a mapping of settings (key: value, one per line), got a list: see faultline.example.yaml"}},
		{"section as text", "query: fast\n", []string{`query: expected a mapping of settings (key: value, one per line), got "fast"`}},
		{"nested section", "kafka:\n  group: ops\n  tls: [1]\n", []string{"kafka.tls: expected a mapping of settings (key: value, one per line), got a list"}},
		{"list item", "kafka:\n  topics: [7]\n", []string{"kafka.topics[0]: expected a mapping of settings (key: value, one per line), got 7"}},
		{"object in a list item", "reports:\n  schedules:\n    - name: daily\n      cron: \"@daily\"\n      webhook: [https://example.com/hook]\n",
			[]string{"reports.schedules[0].webhook: expected a mapping of settings (key: value, one per line), got a list"}},
		{"map as a list", "topology: [checkout, orders]\n", []string{"topology: expected a mapping (key: value, one per line), got a list"}},
		{"and another problem", "kafka: [1, 2]\nlog:\n  level: loud\n", []string{"kafka: expected a mapping of settings", `log.level: "loud" is not allowed`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(newViper(), writeConfig(t, tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(tc.want) == 1 {
				lines = []string{strings.TrimPrefix(err.Error(), "invalid configuration: ")}
			} else {
				lines = lines[1:]
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d is %q, want %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// TestConfigPrintsScheduleDefaults: `faultline config` prints a report
// schedule with the defaults it runs with (docs/reports.md), not the zero
// values it printed before (payload: "", max_backoff: 0s), and what it
// prints, read back as a configuration, means the same.
func TestConfigPrintsScheduleDefaults(t *testing.T) {
	const head = "reports:\n  schedules:\n    - name: daily\n      cron: \"@daily\"\n"
	tests := []struct {
		name  string
		yaml  string
		wants map[string]any // by key inside reports.schedules[0]
	}{
		{"defaults", head + "      webhook:\n        url: https://example.com/hook\n", map[string]any{
			"window": "24h", "format": "md", "dir": "reports", "title": "Impact report: daily",
			"webhook.url": "https://example.com/hook", "webhook.payload": "json", "webhook.timeout": "10s",
			"webhook.retries": 4, "webhook.backoff": "1s", "webhook.max_backoff": "1m",
		}},
		{"no retries", head + "      webhook:\n        retries: -1\n", map[string]any{"webhook.retries": -1, "webhook.payload": "json"}},
		{"set values kept", head + "      window: 1h\n      format: html\n      title: Ops\n      webhook:\n        payload: markdown\n        retries: 2\n        max_backoff: 5m\n",
			map[string]any{"window": "1h", "format": "html", "title": "Ops", "webhook.payload": "markdown", "webhook.retries": 2, "webhook.max_backoff": "5m", "webhook.backoff": "1s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := effective(t, "--config", writeConfig(t, tc.yaml))
			items, _ := lookup(m, "reports.schedules").([]any)
			if len(items) != 1 {
				t.Fatalf("reports.schedules = %#v, want one schedule", lookup(m, "reports.schedules"))
			}
			item, _ := items[0].(map[string]any)
			for key, want := range tc.wants {
				if got := lookup(item, key); got != want {
					t.Errorf("reports.schedules[0].%s = %#v, want %#v", key, got, want)
				}
			}
			printed, err := yaml.Marshal(map[string]any{"reports": m["reports"]})
			if err != nil {
				t.Fatal(err)
			}
			again := effective(t, "--config", writeConfig(t, string(printed)))
			if !reflect.DeepEqual(again["reports"], m["reports"]) {
				t.Errorf("the printed schedule read back prints differently:\n%s\nthen\n%#v", printed, again["reports"])
			}
		})
	}
}
