package transform

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the decoders' limits and mappings. The zero value is not
// valid; start from DefaultConfig.
type Config struct {
	MaxMessageBytes       int    `mapstructure:"max_message_bytes"`         // a larger raw record is a dead letter
	MaxDecompressedBytes  int    `mapstructure:"max_decompressed_bytes"`    // per payload
	MaxDecompressionRatio int    `mapstructure:"max_decompression_ratio"`   // decompressed/compressed
	MaxJSONDepth          int    `mapstructure:"max_json_depth"`            // nesting limit
	InvalidUTF8           string `mapstructure:"invalid_utf8"`              // "replace" or "reject"
	DeadLetterMaxRawBytes int    `mapstructure:"dead_letter_max_raw_bytes"` // raw bytes kept per dead letter
	// MaxFutureSkew is how far past the moment of decoding an event's time
	// may be; later is a dead letter (implausible_time), as is a time before
	// 1970. AWS Health scheduled changes may be announced up to a year ahead.
	MaxFutureSkew time.Duration     `mapstructure:"max_future_skew"`
	LogGroups     map[string]string `mapstructure:"log_groups"` // CloudWatch log group -> service
	Catalogue     []CatalogueEntry  `mapstructure:"catalogue"`  // extra/overriding change catalogue entries
}

// CatalogueEntry classifies change operations. Operation may end in "*" to
// match a prefix (e.g. "Put*"). Service empty matches any service.
type CatalogueEntry struct {
	Service   string `mapstructure:"service"`
	Operation string `mapstructure:"operation"`
	Type      string `mapstructure:"type"`
	Risk      string `mapstructure:"risk"`
}

// DefaultConfig returns the default limits.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes:       8 << 20,
		MaxDecompressedBytes:  64 << 20,
		MaxDecompressionRatio: 200,
		MaxJSONDepth:          64,
		InvalidUTF8:           "replace",
		DeadLetterMaxRawBytes: 64 << 10,
		MaxFutureSkew:         time.Hour,
	}
}

// Validate reports every invalid setting, naming its key, value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	pos := func(key string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("transform.%s: %d is not allowed: must be a positive number", key, v))
		}
	}
	pos("max_message_bytes", c.MaxMessageBytes)
	pos("max_decompressed_bytes", c.MaxDecompressedBytes)
	pos("max_decompression_ratio", c.MaxDecompressionRatio)
	pos("max_json_depth", c.MaxJSONDepth)
	pos("dead_letter_max_raw_bytes", c.DeadLetterMaxRawBytes)
	if c.MaxFutureSkew <= 0 {
		errs = append(errs, fmt.Errorf("transform.max_future_skew: %s is not allowed: use a positive duration such as 1h", c.MaxFutureSkew))
	}
	if c.InvalidUTF8 != "replace" && c.InvalidUTF8 != "reject" {
		errs = append(errs, fmt.Errorf("transform.invalid_utf8: %q is not allowed: use \"replace\" or \"reject\"", c.InvalidUTF8))
	}
	for i, e := range c.Catalogue {
		if e.Operation == "" {
			errs = append(errs, fmt.Errorf("transform.catalogue[%d].operation: empty is not allowed: name an operation such as ModifyListener or a prefix such as Put*", i))
		}
		switch e.Risk {
		case "critical", "high", "medium", "low":
		default:
			errs = append(errs, fmt.Errorf("transform.catalogue[%d].risk: %q is not allowed: use critical, high, medium or low", i, e.Risk))
		}
	}
	return errors.Join(errs...)
}
