package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/ingest/status"
)

// app is what every command shares: the viper instance, the loaded
// configuration and the logger. It is built once in main; no globals.
type app struct {
	v        *viper.Viper
	cfg      Config
	log      *slog.Logger
	cfgPath  string
	bindings map[*cobra.Command]map[string]string
	stdout   io.Writer
	stderr   io.Writer
}

func newRootCmd() *cobra.Command {
	a := &app{v: newViper(), bindings: map[*cobra.Command]map[string]string{}, stdout: os.Stdout, stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "faultline",
		Short: "Outage log analytics: what changed right before it broke, and how far did it spread?",
		Long: `faultline ingests CloudTrail, CloudWatch Logs, AWS events and application error
streams from Kafka (or files) into a DuckDB file, and correlates configuration
changes with error spikes across services and regions.

Configuration comes from a YAML file (--config, default ./faultline.yaml if
present), then FAULTLINE_* environment variables (FAULTLINE_KAFKA_GROUP for
kafka.group), then flags; each overrides the one before.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup(cmd)
		},
	}
	root.Version = versionString()
	root.SetVersionTemplate("faultline version {{.Version}}\n")
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{suggestFlag(cmd, err)} })
	root.SetHelpCommand(newHelpCmd())
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgPath, "config", "", "YAML configuration file (default ./faultline.yaml if present)")
	pf.String("db", "", "DuckDB file (config key db; default faultline.duckdb)")
	pf.String("log-level", "", "debug, info, warn or error (config key log.level)")
	pf.String("log-format", "", "auto, text or json (config key log.format)")
	root.AddCommand(
		newConfigCmd(a),
		newBrokerCmd(a),
		newProduceCmd(a),
		newReportCmd(a),
		newIngestCmd(a),
		newLoadCmd(a),
		newMergeCmd(a),
		newQueryCmd(a),
		newSimulateCmd(a),
		newEvalCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newBenchCmd(a),
	)
	return root
}

// newHelpCmd is cobra's help command, except that an unknown topic is a
// usage error with the closest command (cobra printed "Unknown help topic"
// and exited 0).
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, _, err := root.Find(args)
			if len(args) > 0 && (err != nil || cmd == root) {
				msg := fmt.Sprintf("unknown help topic %q", strings.Join(args, " "))
				if s := root.SuggestionsFor(args[0]); len(s) > 0 {
					msg += ": did you mean " + s[0] + "?"
				}
				return usageError{errors.New(msg + " (faultline --help lists the commands)")}
			}
			if cmd == nil {
				cmd = root
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// bind records flag-to-key bindings for cmd; they are applied only when cmd
// is the command being run, so commands may share keys.
func (a *app) bind(cmd *cobra.Command, keys map[string]string) {
	a.bindings[cmd] = keys
}

func (a *app) setup(cmd *cobra.Command) error {
	bindFlags(a.v, cmd.Root().PersistentFlags(), map[string]string{"db": "db", "log-level": "log.level", "log-format": "log.format"})
	if keys, ok := a.bindings[cmd]; ok {
		bindFlags(a.v, cmd.Flags(), keys)
	}
	cfg, err := loadConfig(a.v, a.cfgPath)
	if err != nil {
		return err
	}
	a.cfg = cfg
	a.log = newLogger(cmd.ErrOrStderr(), cfg.Log)
	return nil
}

func newLogger(w io.Writer, c LogConfig) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: lvl}
	format := c.Format
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	// JSON would write a time.Duration as nanoseconds (204000000): write
	// what text logs show ("204ms").
	opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newConfigCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets masked)",
		Long: `config prints the configuration faultline would run with: defaults, then
the file, FAULTLINE_* environment variables and flags, decoded and checked
exactly as every command does (durations as 30s, numbers as numbers), with
secrets masked. An invalid configuration is reported instead, every problem
on its own line.`,
		Example: `  faultline config
  FAULTLINE_KAFKA_GROUP=ops faultline --config prod.yaml config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tree, _ := effectiveTree(reflect.ValueOf(a.cfg)).(map[string]any)
			for k, v := range tree {
				tree[k] = masked(k, v)
			}
			out, err := yaml.Marshal(tree)
			if err != nil {
				return fmt.Errorf("print configuration: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}

// effectiveTree turns a decoded config value into maps keyed by the
// mapstructure tags (the config file's keys), durations as text ("30s").
func effectiveTree(v reflect.Value) any {
	if d, ok := v.Interface().(time.Duration); ok {
		return shortDuration(d)
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" || tag == "-" || !t.Field(i).IsExported() {
				continue
			}
			if name, _, _ := strings.Cut(tag, ","); name == "" && strings.Contains(tag, "squash") {
				// An embedded config (serve's dashboards.Config): its keys
				// are the parent's, as in the file.
				if sub, ok := effectiveTree(v.Field(i)).(map[string]any); ok {
					maps.Copy(out, sub)
				}
				continue
			}
			out[tag] = effectiveTree(v.Field(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[fmt.Sprint(k.Interface())] = effectiveTree(v.MapIndex(k))
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = effectiveTree(v.Index(i))
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return effectiveTree(v.Elem())
	}
	return v.Interface()
}

// shortDuration is d as the config file would say it: 1h, 10m, 1h30m, 500ms.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// suggestFlag adds "did you mean --x?" to an unknown-flag error when a flag
// of cmd (its own or inherited) has a close name.
func suggestFlag(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	add := func(f *pflag.Flag) { names = append(names, f.Name) }
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	if c := status.Closest(name, names); c != "" {
		return fmt.Errorf("%s (did you mean --%s?)", msg, c)
	}
	return fmt.Errorf("%s (see 'faultline %s --help' for the flags)", msg, cmd.Name())
}
