package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest/broker"
)

func newBrokerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker (local use, tests, the demo)",
		Long: `broker runs an in-process Kafka-protocol broker (franz-go's kfake) until
Ctrl-C or SIGTERM. Any Kafka client, faultline's own included, can produce to
it, consume from it and join consumer groups. It keeps everything in memory
unless --data-dir is given. It is for local use, tests and the demo: use
Apache Kafka, MSK or Confluent in production.

The first line on standard output is "listening on HOST:PORT".`,
		Example: `  faultline broker --listen 127.0.0.1:9092 --topic cloudtrail:3 --topic app-errors:3
  faultline broker --listen 127.0.0.1:0 --topic cloudtrail   # free port, default partitions
  faultline broker --data-dir .cache/broker --auto-create-topics`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := a.cfg.Broker
			b, err := broker.StartConfig(cmd.Context(), cfg, a.log)
			if err != nil {
				return err
			}
			defer b.Close()
			addr := strings.Join(b.Addrs(), ",")
			fmt.Fprintf(cmd.OutOrStdout(), "listening on %s\n", addr)
			for _, t := range cfg.Topics {
				name, parts, _ := broker.ParseTopic(t, cfg.DefaultPartitions)
				fmt.Fprintf(cmd.OutOrStdout(), "topic %s: %d partitions\n", name, parts)
			}
			a.log.Info("broker started", "addr", addr, "topics", len(cfg.Topics), "data_dir", cfg.DataDir)
			<-cmd.Context().Done()
			b.Close()
			a.log.Info("broker stopped", "addr", addr)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("listen", "", "host:port to listen on, port 0 picks a free one (config key broker.listen; default 127.0.0.1:9092)")
	f.StringArray("topic", nil, "topic to create, name or name:partitions; repeat for more (config key broker.topics)")
	f.Int32("default-partitions", 0, "partitions of topics named without a count and of auto-created ones (config key broker.default_partitions; default 3)")
	f.String("data-dir", "", "keep topics, messages and group offsets in this directory across restarts (config key broker.data_dir; default: memory only)")
	f.Bool("auto-create-topics", false, "create a topic when a client first uses it (config key broker.auto_create_topics)")
	a.bind(cmd, map[string]string{
		"listen":             "broker.listen",
		"topic":              "broker.topics",
		"default-partitions": "broker.default_partitions",
		"data-dir":           "broker.data_dir",
		"auto-create-topics": "broker.auto_create_topics",
	})
	return cmd
}

// noArgs is cobra.NoArgs as a usage error (exit status 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// atLeastOneArg is cobra.MinimumNArgs(1) as a usage error (exit status 2)
// that names what is missing: what is "FILE or DIR" for load.
func atLeastOneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{fmt.Errorf("%s needs at least one %s (usage: %s)", cmd.CommandPath(), what, cmd.UseLine())}
		}
		return nil
	}
}
