// Package dashboards serves faultline's HTTP surface: server-rendered
// dashboards (net/http ServeMux patterns, html/template, go:embed assets,
// inline SVG charts from dashboards/chart, a little vanilla JavaScript for live
// refresh), the JSON API documented in docs/api.md, /healthz and /metrics,
// with optional bearer-token or basic authentication, and the guard every
// request passes (guard.go: foreign Host headers and cross-site requests are
// refused; no SQL runs on GET).
//
// It presents what the read model (*queries.Engine) answers and runs
// analyst SQL through the small Sandbox interface (queries' sandbox, the
// only way a caller's SQL reaches DuckDB); it has no SQL and no database
// handle of its own. Correlation answers are cached per window until the
// next commit (cache.go). Handlers use r.Context() so a closed tab cancels
// its query. dashboards/client is the matching HTTP client; dashboards/report
// and dashboards/chart are the reports and charts a person reads.
//
// dashboards must not import ingest's Kafka code or cmd; cmd/faultline
// wires it to ingest in faultline serve. Ingest's status comes in as a
// value (ingest/status, which imports nothing of faultline): /healthz,
// /readyz, the overview and /api/ingest read it.
package dashboards
