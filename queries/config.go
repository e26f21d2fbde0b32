package queries

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config limits analyst SQL and says where a running server is.
type Config struct {
	Timeout       time.Duration `mapstructure:"timeout"`        // per statement, waiting for a slot included
	MaxRows       int           `mapstructure:"max_rows"`       // rows returned at most
	MaxBytes      int64         `mapstructure:"max_bytes"`      // result bytes (values as text) returned at most
	MaxConcurrent int           `mapstructure:"max_concurrent"` // analyst statements running at once per process
	// ExportMaxRows and ExportMaxBytes cap a download (Parquet or CSV of a
	// query result, Sandbox.Export) instead of MaxRows and MaxBytes.
	ExportMaxRows  int    `mapstructure:"export_max_rows"`
	ExportMaxBytes int64  `mapstructure:"export_max_bytes"`
	MemoryLimit    string `mapstructure:"memory_limit"` // "" = the database's (duckdb.memory_limit); else overrides it for the whole process, e.g. "1GB"
	Server         string `mapstructure:"server"`       // URL of a running faultline serve; "" opens the file
	Token          string `mapstructure:"token"`        // bearer token for Server
}

// DefaultConfig returns the defaults for the query section.
func DefaultConfig() Config {
	return Config{Timeout: 30 * time.Second, MaxRows: 10000, MaxBytes: 32 << 20, MaxConcurrent: 4,
		ExportMaxRows: 5_000_000, ExportMaxBytes: 1 << 30}
}

// Validate names every invalid key, its value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("query.timeout: %s is not allowed: must be a positive duration such as 30s", c.Timeout))
	}
	if c.MaxRows <= 0 {
		errs = append(errs, fmt.Errorf("query.max_rows: %d is not allowed: must be positive", c.MaxRows))
	}
	if c.MaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("query.max_bytes: %d is not allowed: use at least 1024, such as 33554432 (32 MiB)", c.MaxBytes))
	}
	if c.MaxConcurrent <= 0 {
		errs = append(errs, fmt.Errorf("query.max_concurrent: %d is not allowed: use at least 1, such as 4", c.MaxConcurrent))
	}
	if c.ExportMaxRows <= 0 || c.ExportMaxRows > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("query.export_max_rows: %d is not allowed: use 1 to %d, such as 5000000", c.ExportMaxRows, math.MaxInt32))
	}
	if c.ExportMaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("query.export_max_bytes: %d is not allowed: use at least 1024, such as 1073741824 (1 GiB)", c.ExportMaxBytes))
	}
	return errors.Join(errs...)
}
