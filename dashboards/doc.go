// Package dashboards serves the HTTP API and the server-rendered dashboards
// (net/http, html/template, embedded assets). Handlers use r.Context() so a
// closed tab cancels its query. It must not import ingest's Kafka code.
package dashboards
