package main

import (
	"github.com/faultline/faultline/dashboards/client"
)

// serverClient returns a client of the running faultline serve named by
// query.server (with query.token), or nil when none is configured. The
// client implements queries.Querier, report.Source and report.Stats, so
// query and report can use it in place of the DuckDB file:
//
//	if c, err := a.serverClient(); err != nil {
//		return nil, nil, err
//	} else if c != nil {
//		return c, func() {}, nil
//	}
func (a *app) serverClient() (*client.Client, error) {
	if a.cfg.Query.Server == "" {
		return nil, nil
	}
	c, err := client.New(a.cfg.Query.Server, a.cfg.Query.Token)
	if err != nil {
		return nil, usageError{err}
	}
	return c, nil
}
