package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
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
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
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
		Example: `  faultline config
  FAULTLINE_KAFKA_GROUP=ops faultline --config prod.yaml config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys := a.v.AllKeys()
			sort.Strings(keys)
			tree := map[string]any{}
			for _, k := range keys {
				val := masked(k, a.v.Get(k))
				parts := strings.Split(k, ".")
				m := tree
				for _, p := range parts[:len(parts)-1] {
					sub, ok := m[p].(map[string]any)
					if !ok {
						sub = map[string]any{}
						m[p] = sub
					}
					m = sub
				}
				m[parts[len(parts)-1]] = val
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
