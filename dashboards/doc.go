// Package dashboards serves faultline's HTTP surface: server-rendered
// dashboards (net/http ServeMux patterns, html/template, go:embed assets,
// inline SVG charts from dashboards/chart, a little vanilla JavaScript for live
// refresh), the JSON API documented in docs/api.md, /healthz and /metrics,
// with optional bearer-token or basic authentication, and the guard every
// request passes (guard.go: foreign Host headers and cross-site requests are
// refused; no SQL runs on GET).
//
// It reads through two small interfaces, Engine (queries.Engine) and
// Sandbox (queries.Sandbox, the only way a caller's SQL reaches DuckDB),
// plus fixed, parameterised listing SQL of its own (sql/*.sql). Handlers
// use r.Context() so a closed tab cancels its query. dashboards/client is
// the matching HTTP client.
//
// dashboards must not import ingest's Kafka code or cmd; cmd/faultline
// wires it to ingest in faultline serve. Ingest's status comes in as a
// value (ingest/status, which imports nothing of faultline): /healthz,
// /readyz, the overview and /api/ingest read it.
package dashboards
