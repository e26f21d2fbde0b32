package dashboards

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// guard refuses what a web page open in someone's browser could make that
// browser send to serve (which has no authentication by default):
//
//   - a Host header that is not one of the server's own names or addresses
//     (DNS rebinding: a page on evil.example whose name is made to resolve
//     to 127.0.0.1 reaches serve with Host: evil.example). Allowed: IP
//     addresses of this machine (loopback included), localhost and
//     *.localhost, the host name of serve.listen, the machine's host name,
//     and serve.allowed_hosts ("*" turns the check off, for a proxy that
//     checks Host itself). /healthz is exempt.
//   - a cross-site or cross-origin request that is not a safe method (POST
//     /api/query, POST /console...), by Sec-Fetch-Site and Origin
//     (net/http's CrossOriginProtection). Requests without either header
//     (curl, faultline query --server, scripts) are not browsers' and pass.
//   - a cross-site read of the API or /metrics (Sec-Fetch-Site cross-site or
//     same-site, or an Origin that is not the server's). Links from other
//     sites to the pages (GET) keep working: pages run no SQL on GET.
func (s *Server) guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny(w, r, http.StatusForbidden, "cross-origin request refused: "+r.Method+" "+r.URL.Path+" must come from a page of this server (or from a client that is not a browser)")
	}))
	inner := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !s.hosts.allowed(r.Host) {
			deny(w, r, http.StatusForbidden, fmt.Sprintf("Host %q is not a name of this server: add it to serve.allowed_hosts if it is (docs/api.md, Host check)", r.Host))
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" {
			if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
				deny(w, r, http.StatusForbidden, "cross-site request refused: the API answers pages of this server and clients that are not browsers")
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
				deny(w, r, http.StatusForbidden, fmt.Sprintf("cross-origin request from %s refused: the API answers pages of this server and clients that are not browsers", o))
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
}

func deny(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSONError(w, code, msg)
		return
	}
	http.Error(w, msg, code)
}

// sameOrigin reports whether an Origin header names host.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// hostSet decides which Host headers name this server.
type hostSet struct {
	any   bool
	names map[string]bool // lower case, no port
	ips   map[string]bool // canonical text of this machine's addresses
}

// newHostSet builds the allowed names from serve.listen, the machine's host
// name and addresses, and serve.allowed_hosts.
func newHostSet(listen string, allowed []string) hostSet {
	h := hostSet{names: map[string]bool{"localhost": true}, ips: map[string]bool{}}
	for _, a := range allowed {
		if a == "*" {
			h.any = true
		}
		h.names[strings.ToLower(strings.TrimSuffix(a, "."))] = true
	}
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" && net.ParseIP(host) == nil {
		h.names[strings.ToLower(host)] = true
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		h.names[strings.ToLower(name)] = true
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				h.ips[n.IP.String()] = true
			}
		}
	}
	return h
}

func (h hostSet) allowed(hostport string) bool {
	if h.any || hostport == "" {
		return true
	}
	host := hostport
	if hp, _, err := net.SplitHostPort(hostport); err == nil {
		host = hp
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || h.ips[ip.String()] || h.names[strings.ToLower(host)]
	}
	host = strings.ToLower(host)
	return h.names[host] || strings.HasSuffix(host, ".localhost")
}
