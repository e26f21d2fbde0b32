package dashboards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/queries"
)

//go:embed static
var staticFS embed.FS

// Sandbox runs analyst SQL with a timeout, row and byte caps and no access
// to files, extensions or settings (queries' sandbox), streaming the result
// to w. A refusal or a bad statement is returned as an error the caller may
// show to the user as it is.
type Sandbox interface {
	Stream(ctx context.Context, query string, w queries.RowWriter) (queries.Summary, error)
	// Export is Stream with the export caps, for downloads (export.go).
	Export(ctx context.Context, query string, w queries.RowWriter) (queries.Summary, error)
}

// Options is everything a Server reads from. Engine and Sandbox are
// required; the rest is optional.
type Options struct {
	Config Config
	// Engine is the read model: the correlation, the listings and the
	// state of ingest that the pages and the API present.
	Engine  *queries.Engine
	Sandbox Sandbox // analyst SQL (queries' sandbox)
	// Registry is served on /metrics and receives the HTTP metrics; pass
	// ingest's registry when ingest runs in the same process. nil = a new
	// registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Ingest is ingest's status when it runs in this process (nil: it does
	// not). Pages refresh live while it runs; /healthz and /readyz report
	// its problems (brokers unreachable, missing topics, failing commits);
	// the pages and /api/ingest show its lag and connectivity.
	Ingest func() status.Status
	// MaxRows and MaxBytes cap a named query's Table (query.max_rows,
	// query.max_bytes; the sandbox caps analyst SQL itself). 0 = no cap.
	MaxRows  int
	MaxBytes int64
	Log      *slog.Logger
	Now      func() time.Time // nil = time.Now
}

// Server serves the dashboards, the JSON API, /healthz and /metrics.
type Server struct {
	cfg      Config
	engine   *queries.Engine
	cache    *cache // nil: serve.cache_entries is 0
	sandbox  Sandbox
	registry *prometheus.Registry
	ingest   func() status.Status
	maxRows  int
	maxBytes int64
	log      *slog.Logger
	now      func() time.Time
	hosts    hostSet
	pages    map[string]*pageTemplate
	requests *prometheus.CounterVec
	handler  http.Handler
}

// New checks the options and builds the routes.
func New(o Options) (*Server, error) {
	if o.Engine == nil || o.Sandbox == nil {
		return nil, errors.New("dashboards: Engine and Sandbox are required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: o.Config, engine: o.Engine, sandbox: o.Sandbox,
		registry: o.Registry, ingest: o.Ingest, maxRows: o.MaxRows, maxBytes: o.MaxBytes, log: o.Log, now: o.Now,
		hosts: newHostSet(o.Config.Listen, o.Config.AllowedHosts),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ingest == nil {
		s.ingest = func() status.Status { return (*status.Tracker)(nil).Snapshot() }
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faultline_http_requests_total",
		Help: "HTTP requests served by faultline serve, by route pattern and status code.",
	}, []string{"route", "code"})
	if err := s.registry.Register(s.requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
		s.requests = are.ExistingCollector.(*prometheus.CounterVec)
	}
	var err error
	if o.Config.CacheEntries > 0 {
		if s.cache, err = newCache(o.Engine.DataVersion, o.Config.CacheEntries, s.registry); err != nil {
			return nil, err
		}
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler is the whole HTTP surface, authentication included.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status.WriteHealthz(w, s.ingest())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status.WriteReadyz(w, s.ingest())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))

	mux.HandleFunc("GET /{$}", s.page("overview", s.overviewPage))
	mux.HandleFunc("GET /incidents", s.page("incidents", s.incidentsPage))
	mux.HandleFunc("GET /incidents/{id}", s.page("incident", s.incidentPage))
	mux.HandleFunc("GET /events/{id}", s.page("event", s.eventPage))
	mux.HandleFunc("GET /changes", s.page("changes", s.changesPage))
	mux.HandleFunc("GET /services", s.page("services", s.servicesPage))
	mux.HandleFunc("GET /console", s.page("console", s.consolePage))
	mux.HandleFunc("POST /console", s.page("console", s.consolePage))

	mux.HandleFunc("GET /api/incidents", s.api(s.apiIncidents))
	mux.HandleFunc("GET /api/incidents/{id}", s.api(s.apiIncident))
	mux.HandleFunc("GET /api/events/{id}", s.api(s.apiEvents))
	mux.HandleFunc("GET /api/suspects", s.api(s.apiSuspects))
	mux.HandleFunc("GET /api/cascade", s.api(s.apiCascade))
	mux.HandleFunc("GET /api/regions", s.api(s.apiRegions))
	mux.HandleFunc("GET /api/change-failure-rate", s.api(s.apiChangeFailureRate))
	mux.HandleFunc("GET /api/series", s.api(s.apiSeries))
	mux.HandleFunc("GET /api/changes", s.api(s.apiChanges))
	mux.HandleFunc("GET /api/services", s.api(s.apiServices))
	mux.HandleFunc("GET /api/ingest", s.api(s.apiIngest))
	mux.HandleFunc("GET /api/stats", s.api(s.apiStats))
	mux.HandleFunc("GET /api/topology", s.api(s.apiTopology))
	mux.HandleFunc("POST /api/query", s.apiQuery)
	mux.HandleFunc("POST /api/export", s.apiExport)
	mux.HandleFunc("POST /console/export", s.apiExport)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no API route %s %s: see docs/api.md", r.Method, r.URL.Path))
	})
	// A known API route asked with the wrong method: 405 with the allowed
	// method, as JSON like every API answer (net/http's own 405 is text).
	for route, allow := range map[string]string{
		"/api/query": http.MethodPost, "/api/export": http.MethodPost, "/api/incidents": http.MethodGet, "/api/incidents/{id}": http.MethodGet, "/api/events/{id}": http.MethodGet,
		"/api/suspects": http.MethodGet, "/api/cascade": http.MethodGet, "/api/regions": http.MethodGet,
		"/api/change-failure-rate": http.MethodGet, "/api/series": http.MethodGet, "/api/changes": http.MethodGet,
		"/api/services": http.MethodGet, "/api/ingest": http.MethodGet, "/api/stats": http.MethodGet, "/api/topology": http.MethodGet,
	} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeJSONError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not allowed: use %s (docs/api.md)", r.Method, r.URL.Path, allow))
		})
	}

	return s.observe(s.secure(s.guard(s.authenticate(mux))))
}

// authenticate requires the bearer token or basic-auth credentials, when
// configured, on every route but /healthz. Either is accepted when both are
// set. Comparisons are constant-time over SHA-256 digests.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.cfg.Token == "" && s.cfg.Username == "" {
		return next
	}
	eq := func(a, b string) bool {
		ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
		return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		ok := false
		if s.cfg.Token != "" {
			if tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && eq(tok, s.cfg.Token) {
				ok = true
			}
		}
		if !ok && s.cfg.Username != "" {
			if u, p, found := r.BasicAuth(); found && eq(u, s.cfg.Username) && eq(p, s.cfg.Password) {
				ok = true
			}
		}
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if s.cfg.Username != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="faultline", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faultline"`)
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSONError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <serve.token> or basic auth")
			return
		}
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// secure sets headers that keep pages from loading anything but their own
// assets and from being framed.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Everything from this server only: scripts and styles from files
		// (no inline script or style attribute runs), data only fetched
		// from here, no plugins, no framing, no <base> rewriting.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe counts requests by route pattern and status and logs failures.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, fmt.Sprint(sw.code)).Inc()
		if sw.code >= 500 {
			s.log.Warn("http request failed", "method", r.Method, "path", r.URL.Path, "code", sw.code, "duration", time.Since(start))
		} else {
			s.log.Debug("http request", "method", r.Method, "path", r.URL.Path, "code", sw.code, "duration", time.Since(start))
		}
	})
}

// api adapts a handler returning a value or an error to JSON responses.
func (s *Server) api(fn func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		if err != nil {
			code, msg := s.errorStatus(r, err)
			writeJSONError(w, code, msg)
			return
		}
		// Encode first: a value JSON cannot hold is a 500 that says so,
		// never a 200 with an empty or cut body.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // JSON, served with nosniff: keep "->" readable
		if err := enc.Encode(v); err != nil {
			s.log.Error("encode json response", "path", r.URL.Path, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "internal error: encode the response: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write(buf.Bytes()); err != nil {
			s.log.Debug("write json response", "path", r.URL.Path, "err", err)
		}
	}
}

// errorStatus maps an error to a status code and a message safe to show.
func (s *Server) errorStatus(r *http.Request, err error) (int, string) {
	var he httpError
	switch {
	case errors.As(err, &he):
		return he.code, he.msg
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return 499, "request cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "query timed out: narrow the time range"
	default:
		s.log.Error("http handler", "method", r.Method, "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, "internal error: " + err.Error()
	}
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully,
// letting in-flight requests finish within serve.shutdown_timeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(<-errc, http.ErrServerClosed) && err == nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
}

// ListenAndServe listens on serve.listen and serves until ctx is cancelled.
func (s *Server) ListenAndServe(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is serve.listen free?)", s.cfg.Listen, err)
	}
	s.log.Info("serving dashboards", "url", "http://"+ln.Addr().String())
	return s.Serve(ctx, ln)
}
