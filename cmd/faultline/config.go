package main

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/dashboards"
	"github.com/faultline/faultline/dashboards/report"
	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/broker"
	"github.com/faultline/faultline/ingest/produce"
	"github.com/faultline/faultline/ingest/relay"
	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/pgwire"
	"github.com/faultline/faultline/queries"
	"github.com/faultline/faultline/transform"
)

// Config is the whole configuration: file, then FAULTLINE_* environment,
// then flags (each overriding the one before). Every key has a default;
// faultline.example.yaml documents them all.
type Config struct {
	DB        string              `mapstructure:"db"`
	DuckDB    store.Settings      `mapstructure:"duckdb"`
	Log       LogConfig           `mapstructure:"log"`
	Kafka     ingest.KafkaConfig  `mapstructure:"kafka"`
	Ingest    ingest.Config       `mapstructure:"ingest"`
	Transform transform.Config    `mapstructure:"transform"`
	Topology  map[string][]string `mapstructure:"topology"`
	Query     queries.Config      `mapstructure:"query"`
	Serve     ServeConfig         `mapstructure:"serve"`
	Broker    broker.Config       `mapstructure:"broker"`
	Produce   produce.Config      `mapstructure:"produce"`
	Reports   report.Config       `mapstructure:"reports"`
	// Correlation tunes spikes, incidents and the suspect score (queries).
	Correlation queries.CorrelationConfig `mapstructure:"correlation"`
	// Parquet exports closed time segments of raw events (ingest, serve).
	Parquet store.SegmentsConfig `mapstructure:"parquet"`
	// Relay shares every process's commits through a compacted topic.
	Relay relay.Config `mapstructure:"relay"`
}

// ServeConfig is the serve section: the HTTP side (dashboards) and the
// PostgreSQL endpoint (serve.postgres).
type ServeConfig struct {
	dashboards.Config `mapstructure:",squash"`
	Postgres          pgwire.Config `mapstructure:"postgres"`
}

// Validate checks both sides.
func (c ServeConfig) Validate() error {
	return errors.Join(c.Config.Validate(), c.Postgres.Validate())
}

// LogConfig configures log/slog.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // auto (text on a terminal, JSON otherwise), text, json
}

func defaultConfig() Config {
	return Config{
		DB:        "faultline.duckdb",
		DuckDB:    store.DefaultSettings(),
		Log:       LogConfig{Level: "info", Format: "auto"},
		Kafka:     ingest.DefaultKafkaConfig(),
		Ingest:    ingest.DefaultConfig(),
		Transform: transform.DefaultConfig(),
		Topology:  map[string][]string{},
		Query:     queries.DefaultConfig(),
		Serve:     ServeConfig{Config: dashboards.DefaultConfig(), Postgres: pgwire.DefaultConfig()},
		Broker:    broker.DefaultConfig(),
		Produce:   produce.DefaultConfig(),
		Reports:   report.DefaultConfig(),
		// correlation: spikes, incidents, suspect score.
		Correlation: queries.DefaultCorrelationConfig(),
		Parquet:     store.DefaultSegmentsConfig(),
		Relay:       relay.DefaultConfig(),
	}
}

// Validate checks every section and reports all problems at once.
func (c Config) Validate() error {
	var errs []error
	if c.DB == "" {
		errs = append(errs, errors.New("db: empty is not allowed: name a DuckDB file such as faultline.duckdb"))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not allowed: use debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not allowed: use auto, text or json", c.Log.Format))
	}
	errs = append(errs,
		c.DuckDB.Validate(),
		c.Kafka.Validate(),
		c.Ingest.Validate(),
		c.Transform.Validate(),
		c.Query.Validate(),
		c.Serve.Validate(),
		c.Broker.Validate(),
		c.Reports.Validate(),
		c.Produce.Validate(),
		c.Correlation.Validate(),
		c.Parquet.Validate(),
		c.Relay.Validate(),
	)
	return errors.Join(errs...)
}

// newViper returns a viper with a default for every key of Config, reading
// FAULTLINE_* environment variables (FAULTLINE_KAFKA_GROUP for kafka.group).
func newViper() *viper.Viper {
	v := viper.New()
	setDefaults(v, reflect.ValueOf(defaultConfig()))
	v.SetEnvPrefix("FAULTLINE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	return v
}

// setDefaults registers each leaf of the config struct cfg as a viper
// default, so every key is known to env lookup and to `faultline config`.
func setDefaults(v *viper.Viper, cfg reflect.Value) {
	configLeaves("", cfg.Type(), nil, func(key string, index []int, _ reflect.Type) {
		v.SetDefault(key, cfg.FieldByIndex(index).Interface())
	})
}

// configLeaves calls leaf with the key, the field index and the type of
// every leaf of the config struct type t, keyed as the config file names
// them: mapstructure tags joined by dots after prefix, a ",squash" struct's
// keys its parent's. A struct other than time.Time is walked; anything
// else, a list included, is a leaf.
func configLeaves(prefix string, t reflect.Type, index []int, leaf func(key string, index []int, t reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		idx := append(slices.Clip(index), i)
		if tag == ",squash" {
			configLeaves(prefix, f.Type, idx, leaf)
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type.String() != "time.Time" {
			configLeaves(key, f.Type, idx, leaf)
			continue
		}
		leaf(key, idx, f.Type)
	}
}

// loadConfig reads the file (explicit path, or faultline.yaml if present),
// applies env and bound flags, decodes strictly and validates.
func loadConfig(v *viper.Viper, path string) (Config, error) {
	switch {
	case path != "":
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return Config{}, usageError{fmt.Errorf("config file %s is a directory: pass --config with the YAML file, e.g. --config %s", path, filepath.Join(path, "faultline.yaml"))}
		}
		v.SetConfigFile(path)
		// YAML whatever the name ends in (faultline.yaml.bak, /dev/stdin,
		// a file without extension): viper otherwise guesses the type
		// from the extension and answers "Unsupported Config Type".
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			if _, statErr := os.Stat(path); statErr != nil {
				return Config{}, usageError{fmt.Errorf("config file %s: %w (check the --config path)", path, statErr)}
			}
			return Config{}, usageError{fmt.Errorf("config file %s: %w (fix the YAML; see faultline.example.yaml)", path, err)}
		}
	default:
		if _, err := os.Stat("faultline.yaml"); err == nil {
			v.SetConfigFile("faultline.yaml")
			if err := v.ReadInConfig(); err != nil {
				return Config{}, usageError{fmt.Errorf("config file faultline.yaml: %w (fix the YAML; see faultline.example.yaml)", err)}
			}
		}
	}
	// Every problem at once: unknown environment variables, unknown keys
	// and values of the wrong type, then what Validate finds in the keys
	// that did decode.
	problems := unknownEnv(v, os.Environ())
	problems = append(problems, emptyUnknownKeys(v.ConfigFileUsed())...)
	var cfg Config
	bad := map[string]bool{} // keys reported already, with what lies under them
	if err := v.UnmarshalExact(&cfg, decodeHook); err != nil {
		lines, meant := decodeProblems(err)
		for _, line := range lines {
			problems = append(problems, line)
			bad[strings.SplitN(line, ":", 2)[0]] = true
		}
		// A misspelt key of a list item leaves the key it meant unset:
		// what Validate says of that one follows from the typo.
		for _, k := range meant {
			if !itemSets(v, k) {
				bad[k.path()] = true
			}
		}
		cfg = Config{}
		_ = v.Unmarshal(&cfg, decodeHook) // what did decode, for Validate
	}
	// The items of reports.schedules take their defaults here, not when a
	// schedule runs, so that `faultline config` prints what will be used.
	cfg.Reports = cfg.Reports.WithDefaults()
	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			if key, _, ok := strings.Cut(line, ":"); ok && reported(bad, key) {
				continue // already reported as undecodable
			}
			problems = append(problems, line)
		}
	}
	switch len(problems) {
	case 0:
		return cfg, nil
	case 1:
		return Config{}, usageError{fmt.Errorf("invalid configuration: %s", problems[0])}
	}
	return Config{}, usageError{fmt.Errorf("invalid configuration (%d problems):\n%s", len(problems), strings.Join(problems, "\n"))}
}

// reported reports whether key, or a section or list item above it, is in
// bad: kafka.group is when kafka did not decode (kafka: [1, 2]), and so is
// kafka.topics[0].name when kafka.topics[0] did not.
func reported(bad map[string]bool, key string) bool {
	for {
		if bad[key] {
			return true
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return false
		}
		key = key[:i]
	}
}

// decodeHook is mappings, durations, wholeNumbers and comma-separated
// lists from the environment.
var decodeHook = viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
	mappings(),
	durations(),
	wholeNumbers(),
	func(from, to reflect.Type, data any) (any, error) {
		if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
			return data, nil
		}
		if data.(string) == "" {
			return []string{}, nil
		}
		return strings.Split(data.(string), ","), nil
	},
))

// mappings refuses a list or a single value where a section (kafka:) or a
// map (topology:) is expected, in one line for the key: mapstructure's
// "expected a map or struct, got "slice"" left the section empty, and
// Validate then reported each of its keys as missing.
func mappings() mapstructure.DecodeHookFunc {
	return func(from, to reflect.Type, data any) (any, error) {
		var want string
		switch {
		case from.Kind() == reflect.Map || from.Kind() == reflect.Struct:
			return data, nil
		case to.Kind() == reflect.Struct && to != reflect.TypeFor[time.Time]():
			want = "a mapping of settings (key: value, one per line)"
		case to.Kind() == reflect.Map:
			want = "a mapping (key: value, one per line)"
		default:
			return data, nil
		}
		got := fmt.Sprintf("%q", data)
		switch from.Kind() {
		case reflect.Slice, reflect.Array:
			got = "a list"
		case reflect.String:
		default:
			got = fmt.Sprint(data)
		}
		return nil, fmt.Errorf("expected %s, got %s: see faultline.example.yaml", want, got)
	}
}

// durations decodes a duration setting from text with a unit (30s, 500ms,
// 1h30m) and refuses a number without one: mapstructure would read
// timeout: 30 as 30ns. 0 is allowed, as "0" is in the environment
// (progress_interval, serve.refresh and serve.postgres.idle_timeout use it
// for off).
func durations() mapstructure.DecodeHookFunc {
	return func(from, to reflect.Type, data any) (any, error) {
		if to != reflect.TypeFor[time.Duration]() || from == to {
			return data, nil
		}
		var n string // the number given without a unit
		switch d := data.(type) {
		case string:
			s := strings.TrimSpace(d)
			if v, err := time.ParseDuration(s); err == nil {
				return v, nil
			}
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("%q is not a duration: use a number with a unit, e.g. 30s, 500ms or 1h30m", d)
			}
			return nil, fmt.Errorf("%q is not a duration: add a unit, e.g. %ss", d, s)
		case float64:
			n = strconv.FormatFloat(d, 'f', -1, 64)
		case float32:
			n = strconv.FormatFloat(float64(d), 'f', -1, 32)
		default:
			switch from.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				n = fmt.Sprint(data)
			default:
				return data, nil
			}
		}
		if f, _ := strconv.ParseFloat(n, 64); f == 0 {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("%s is not a duration: add a unit, e.g. %ss", n, n)
	}
}

// wholeNumbers refuses a fractional number for an integer setting (viper
// would truncate threads: 1.9 to 1).
func wholeNumbers() mapstructure.DecodeHookFunc {
	return func(from, to reflect.Type, data any) (any, error) {
		switch to.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			return data, nil
		}
		if to == reflect.TypeOf(time.Duration(0)) {
			return data, nil
		}
		var f float64
		switch d := data.(type) {
		case float64:
			f = d
		case float32:
			f = float64(d)
		case string:
			if _, err := strconv.ParseInt(strings.TrimSpace(d), 10, 64); err == nil {
				return data, nil
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(d), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number", d)
			}
			f = x
		default:
			return data, nil
		}
		if f != math.Trunc(f) {
			return nil, fmt.Errorf("%v is not a whole number: use an integer such as %d", data, int64(math.Round(f)))
		}
		return int64(f), nil
	}
}

// knownKeys lists every configuration key, from the defaults, and every
// section above one (kafka, kafka.sasl), so that a misspelt section has a
// closest key too.
func knownKeys() []string {
	return withSections(newViper().AllKeys())
}

// withSections returns keys and every dotted prefix of them, sorted and
// without repeats: kafka.sasl.mechanism gives kafka and kafka.sasl too.
func withSections(keys []string) []string {
	var out []string
	for _, k := range keys {
		for i, c := range k {
			if c == '.' {
				out = append(out, k[:i])
			}
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// itemKeys lists the keys of the items of every list of structs in Config,
// by the list's key with [] for indexes: "kafka.topics[]" holds name,
// format, ...; "reports.schedules[]" holds webhook and webhook.url among
// others.
func itemKeys() map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type, into func(string))
	walk = func(t reflect.Type, into func(string)) {
		configLeaves("", t, nil, func(key string, _ []int, ft reflect.Type) {
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				list := key + "[]"
				walk(ft.Elem(), func(k string) { out[list] = append(out[list], k) })
				return
			}
			into(key)
		})
	}
	walk(reflect.TypeFor[Config](), func(string) {})
	for list, keys := range out {
		out[list] = withSections(keys)
	}
	return out
}

// itemKey is a key inside an item of a list: kafka.topics[0].format.
type itemKey struct {
	list string // kafka.topics
	i    int
	key  string // format, webhook.url
}

func (k itemKey) path() string { return fmt.Sprintf("%s[%d].%s", k.list, k.i, k.key) }

var (
	// reItemKey splits "kafka.topics[0].formt" at its last index.
	reItemKey = regexp.MustCompile(`^(.*)\[(\d+)\]\.([^\[\]]+)$`)
	reIndex   = regexp.MustCompile(`\[\d+\]`)
)

// unknownKeyHint is the "did you mean" of an unknown key: the closest key
// of the same list item for a key inside one (with the item named by its
// index), else the closest key of all.
func unknownKeyHint(k string) (hint string, meant *itemKey) {
	m := reItemKey.FindStringSubmatch(k)
	if m == nil {
		if c := status.Closest(k, knownKeys()); c != "" {
			return "did you mean " + c + "? ", nil
		}
		return "", nil
	}
	i, _ := strconv.Atoi(m[2])
	list := reIndex.ReplaceAllString(m[1], "[]")
	where := fmt.Sprintf("in item %d of %s", i, m[1])
	if c := status.Closest(m[3], itemKeys()[list+"[]"]); c != "" {
		return where + ": did you mean " + c + "? ", &itemKey{list: m[1], i: i, key: c}
	}
	return where + "; ", nil
}

// emptyUnknownKeys reports keys of the config file (at path) that hold
// nothing, kafak: on a line of its own or corelation: {}, and name no
// setting: viper drops empty values and empty maps before the strict
// decode sees them, so a misspelt section with its settings commented out
// was accepted in silence. The keys of maps (topology:) are the user's own
// and are not checked, nor is anything inside a list (the decode sees
// those). A config that is not a regular file (/dev/stdin) cannot be read
// twice and is not checked.
func emptyUnknownKeys(path string) []string {
	if fi, err := os.Stat(path); path == "" || err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	data, err := os.ReadFile(path)
	var root map[string]any
	if err != nil || yaml.Unmarshal(data, &root) != nil {
		return nil // viper read it; what it says of the file stands
	}
	known := map[string]bool{}
	for _, k := range knownKeys() {
		known[k] = true
	}
	leaves, maps := map[string]bool{}, map[string]bool{}
	configLeaves("", reflect.TypeFor[Config](), nil, func(key string, _ []int, t reflect.Type) {
		leaves[key], maps[key] = true, t.Kind() == reflect.Map
	})
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, val := range m {
			key := strings.ToLower(k)
			if prefix != "" {
				key = prefix + "." + key
			}
			if maps[key] {
				continue // topology: the user's own names
			}
			sub, isMap := val.(map[string]any)
			if (val == nil || isMap && len(sub) == 0) && !known[key] {
				hint, _ := unknownKeyHint(key)
				out = append(out, fmt.Sprintf("%s: unknown key, and empty (%ssee faultline.example.yaml for every key)", key, hint))
			}
			if isMap && known[key] && !leaves[key] {
				walk(key, sub) // a section: kafka, kafka.sasl
			}
		}
	}
	walk("", root)
	sort.Strings(out)
	return out
}

// itemSets reports whether the item k names sets k's key.
func itemSets(v *viper.Viper, k itemKey) bool {
	items, ok := v.Get(k.list).([]any)
	if !ok || k.i >= len(items) {
		return false
	}
	cur := items[k.i]
	for part := range strings.SplitSeq(k.key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// decodeProblems turns a viper/mapstructure decode error into one line per
// problem, each starting with the key: "ingest.batch_max_events: ...", and
// the keys that misspelt keys of list items most likely meant.
func decodeProblems(err error) (out []string, meant []itemKey) {
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "*"))
		if line == "" || strings.HasPrefix(line, "decoding failed due to the following error") || strings.HasSuffix(line, "error(s) decoding:") {
			continue
		}
		if m := reUnusedKeys.FindStringSubmatch(line); m != nil {
			if m[1] == reflect.TypeFor[Config]().String() {
				m[1] = "" // the top level, named by its Go type
			}
			for _, k := range strings.Split(m[2], ",") {
				k = strings.Trim(strings.TrimSpace(k), "'\"")
				if m[1] != "" {
					k = m[1] + "." + k
				}
				hint, m := unknownKeyHint(k)
				if m != nil {
					meant = append(meant, *m)
				}
				out = append(out, fmt.Sprintf("%s: unknown key (%ssee faultline.example.yaml for every key)", k, hint))
			}
			continue
		}
		if m := reDecodeErr.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%s: %s", m[1], m[2]))
			continue
		}
		out = append(out, line)
	}
	return out, meant
}

var (
	// "'kafka' has invalid keys: brokrs" / "'main.Config' has invalid
	// keys: colour" at the top level
	reUnusedKeys = regexp.MustCompile(`^'([^']*)' has invalid keys: (.*)$`)
	// "'ingest.batch_max_events' cannot parse value as 'int': ..." and
	// "error decoding 'duckdb.threads': ..."
	reDecodeErr = regexp.MustCompile(`^(?:error decoding )?'([^']+)'[: ]\s*(.*)$`)
)

// notSettings are FAULTLINE_* variables that are not configuration keys:
// test and tooling switches read by the test suites and benchmarks.
var notSettings = []string{"FAULTLINE_TEST_", "FAULTLINE_IT_", "FAULTLINE_BENCH_", "FAULTLINE_CHROMIUM"}

// unknownEnv reports FAULTLINE_* environment variables that name no key
// (a typo such as FAULTLINE_KAFKA_BROKRS would otherwise be ignored), with
// the closest known name.
func unknownEnv(v *viper.Viper, environ []string) []string {
	known := map[string]bool{}
	var names []string
	for _, k := range v.AllKeys() {
		n := "FAULTLINE_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		known[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "FAULTLINE_") || known[name] {
			continue
		}
		skip := false
		for _, p := range notSettings {
			skip = skip || strings.HasPrefix(name, p)
		}
		if skip {
			continue
		}
		hint := "unset it or fix its name (docs/configuration.md lists the variables)"
		if c := status.Closest(name, names); c != "" {
			hint = "did you mean " + c + "? unset it or fix its name"
		}
		out = append(out, fmt.Sprintf("environment variable %s is not a faultline setting: %s", name, hint))
	}
	sort.Strings(out)
	return out
}

// bindFlags binds each named flag to a config key; a flag set on the command
// line overrides file and environment.
func bindFlags(v *viper.Viper, fs *pflag.FlagSet, keys map[string]string) {
	for flag, key := range keys {
		if f := fs.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				panic(err) // programming error: flag names are constants
			}
		}
	}
}

// secretKeys are masked by `faultline config`.
var secretKeys = []string{"password", "token", "secret"}

func masked(key string, val any) any {
	last := strings.ToLower(key[strings.LastIndex(key, ".")+1:])
	for _, s := range secretKeys {
		if strings.Contains(last, s) {
			if str, ok := val.(string); ok && str == "" {
				return ""
			}
			return "********"
		}
	}
	// Lists and maps (e.g. reports.schedules[].webhook.token) hold keys too.
	switch v := val.(type) {
	case string:
		return maskURL(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = masked(k, e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = masked(last, e)
		}
		return out
	}
	return val
}

// maskURL masks the secrets a URL can carry (a webhook.url, query.server):
// the password of user:password@, query parameters named like secrets
// (token, key, secret, password, sig, auth, credential...), and path
// segments that look like tokens (Slack and Discord webhooks carry theirs
// in the path). Anything that is not an http(s) URL is returned as it is.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString(u.User.Username())
		if _, ok := u.User.Password(); ok {
			b.WriteString(":********")
		}
		b.WriteString("@")
	}
	b.WriteString(u.Host)
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if tokenLike(seg) {
			segs[i] = "********"
		}
	}
	b.WriteString(strings.Join(segs, "/"))
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			k, _, found := strings.Cut(p, "=")
			if name, err := url.QueryUnescape(k); err == nil && found && secretParam(name) {
				params[i] = k + "=********"
			}
		}
		b.WriteString("?" + strings.Join(params, "&"))
	}
	if u.Fragment != "" {
		b.WriteString("#********")
	}
	return b.String()
}

var secretParams = []string{"token", "key", "secret", "pass", "pwd", "sig", "auth", "credential", "code", "session"}

func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range secretParams {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// tokenLike reports a path segment that looks like a secret: at least 20
// characters of letters, digits, - and _, with both letters and digits.
func tokenLike(seg string) bool {
	if len(seg) < 20 {
		return false
	}
	var letter, digit bool
	for _, c := range seg {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
			digit = true
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	return letter && digit
}
