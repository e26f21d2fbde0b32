// Package pgwire serves analyst SQL over the PostgreSQL wire protocol
// (version 3) so that psql, Grafana, DBeaver, JDBC and Python clients read
// the data faultline serve holds, live. Messages are decoded and encoded by
// jackc/pgx's pgproto3 and values by its pgtype; SCRAM-SHA-256 by
// xdg-go/scram. What this package owns is the session: startup, password
// and TLS, simple and extended query protocol, cursors, cancel requests,
// the session statements clients send on connect (SET, SHOW, BEGIN...),
// and mapping DuckDB's result types to PostgreSQL type OIDs.
//
// Every statement that reads data goes to the analyst SQL sandbox
// (queries.Sandbox through the small Sandbox interface): the same wall,
// timeout, caps and concurrency bound as the HTTP API; parameters are
// bound by DuckDB, never spliced into SQL text. The dialect that answers is
// DuckDB's. pgwire must not import dashboards, ingest or cmd.
package pgwire
