package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/faultline/faultline/ingest/status"
)

// connQueue accepts connections on one listener for as long as serve runs
// and hands them to the current session's listener: serve's HTTP server is
// rebuilt when the database is opened again, the listening socket is not.
type connQueue struct {
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnQueue(ln net.Listener) *connQueue {
	q := &connQueue{ln: ln, conns: make(chan net.Conn), done: make(chan struct{})}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				q.Close()
				return
			}
			select {
			case q.conns <- c:
			case <-q.done:
				c.Close()
				return
			}
		}
	}()
	return q
}

// Close stops accepting and closes the listener.
func (q *connQueue) Close() error {
	var err error
	q.once.Do(func() {
		close(q.done)
		err = q.ln.Close()
	})
	return err
}

// session returns a listener that takes connections from q until it is
// closed; closing it leaves q accepting.
func (q *connQueue) session() net.Listener {
	return &sessionListener{q: q, closed: make(chan struct{})}
}

type sessionListener struct {
	q      *connQueue
	closed chan struct{}
	once   sync.Once
}

func (l *sessionListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.q.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.q.done:
		return nil, net.ErrClosed
	}
}

func (l *sessionListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *sessionListener) Addr() net.Addr { return l.q.ln.Addr() }

// serveDegraded answers on ln while the database cannot be used: /healthz
// and /readyz with 503 and st's problems (what is wrong and what to do),
// every other path with a 503 page saying the same. It returns when ctx
// ends, or after retry when retry > 0 (the caller tries to open the file
// again).
func serveDegraded(ctx context.Context, a *app, ln net.Listener, st *status.Tracker, retry time.Duration) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { status.WriteHealthz(w, st.Snapshot()) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { status.WriteReadyz(w, st.Snapshot()) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "<!doctype html><title>faultline: database unavailable</title><h1>faultline cannot use its database</h1><p>%s</p>",
			html.EscapeString(st.Snapshot().DatabaseError))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var wait <-chan time.Time
	if retry > 0 {
		t := time.NewTimer(retry)
		defer t.Stop()
		wait = t.C
	}
	select {
	case <-ctx.Done():
	case <-wait:
	case err := <-errc:
		a.log.Error("serving /healthz stopped", "err", err)
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("serving /healthz stopped", "err", err)
	}
}
