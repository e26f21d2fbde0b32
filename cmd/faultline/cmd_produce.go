package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/produce"
)

func newProduceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "produce --topic T [--format F] FILE|DIR...",
		Short: "Replay files into a Kafka topic, one message per record",
		Long: `produce sends files (directories are walked recursively) to a Kafka topic:
one message per CloudTrail record of a {"Records":[...]} file or JSON array,
per line of an NDJSON file, and the whole file for anything else (a
CloudWatch Logs payload, an EventBridge event, binary data). .gz files are
decompressed first; --raw sends every file unchanged as one message.

Keys keep one source's events in order on one partition: CloudTrail
"cloudtrail/<account>/<region>", application events "app/<service>",
EventBridge "<source>/<account>/<region>", otherwise the file path.
--format is sent as the message header faultline-format (a hint).

Progress is shown on a terminal; a summary (messages, bytes, seconds) is
printed at the end. TLS and SASL come from kafka.tls and kafka.sasl, as for
ingest.`,
		Example: `  faultline produce --brokers 127.0.0.1:9092 --topic cloudtrail ../shared/data/cloudtrail
  faultline produce --topic app-errors --format app --compression zstd errors.ndjson.gz
  faultline produce --topic cloudwatch --raw payloads/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("produce needs at least one FILE or DIR to send")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.cfg.Produce.Topic == "" { // a usage error (exit 2), before any file is read
				return usageError{errors.New("no topic: name one with --topic (config key produce.topic)")}
			}
			k := a.cfg.Kafka
			tr, err := ingest.NewTransport(k)
			if err != nil {
				return err
			}
			opts := produce.Options{
				Transport:            tr,
				Brokers:              k.Brokers,
				ClientID:             k.ClientID,
				MaxDecompressedBytes: a.cfg.Transform.MaxDecompressedBytes,
				Log:                  a.log,
			}
			if isTerminal(cmd.ErrOrStderr()) {
				opts.Progress = cmd.ErrOrStderr()
			}
			sum, err := produce.Run(cmd.Context(), a.cfg.Produce, args, opts)
			if err != nil {
				if sum.Messages > 0 {
					a.log.Warn("stopped early", "messages_delivered", sum.Messages, "files_done", sum.Files)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s to topic %s\n", sum, a.cfg.Produce.Topic)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSlice("brokers", nil, "Kafka brokers host:port, comma-separated (config key kafka.brokers; default 127.0.0.1:9092)")
	f.String("topic", "", "destination topic (config key produce.topic)")
	f.String("format", "", "format hint sent as header faultline-format: auto, cloudtrail, cloudwatch, awsevents, app, otlp, gcpaudit or azureactivity (config key produce.format)")
	f.String("compression", "", "none, gzip, snappy, lz4 or zstd (config key produce.compression; default none)")
	f.Int("batch-size", 0, "messages per write (config key produce.batch_size; default 1000)")
	f.Duration("dial-timeout", 0, "give up connecting to the brokers after this long (config key produce.dial_timeout; default 10s)")
	f.Bool("raw", false, "send each file unchanged as one message (config key produce.raw)")
	a.bind(cmd, map[string]string{
		"brokers":      "kafka.brokers",
		"topic":        "produce.topic",
		"format":       "produce.format",
		"compression":  "produce.compression",
		"batch-size":   "produce.batch_size",
		"dial-timeout": "produce.dial_timeout",
		"raw":          "produce.raw",
	})
	return cmd
}
