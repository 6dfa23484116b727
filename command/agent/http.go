package agent

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// maxRequestBody bounds request bodies; larger ones get 413.
const maxRequestBody = 16 << 20

// HTTPServer serves Nomad's /v1 API.
type HTTPServer struct {
	agent  *Agent
	logger hclog.Logger
	mux    *http.ServeMux
	srv    *http.Server
	ln     net.Listener
}

// CodedError is an error with an HTTP status.
type CodedError = server.CodedError

func newHTTPServer(a *Agent, addr string) (*HTTPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on http address: %w", err)
	}
	h := &HTTPServer{agent: a, logger: a.logger.Named("http"), mux: http.NewServeMux(), ln: ln}
	h.routes()
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.logger.Error("http server stopped", "error", err)
		}
	}()
	return h, nil
}

// Addr is the address the API listens on.
func (h *HTTPServer) Addr() string { return h.ln.Addr().String() }

// Shutdown stops the listener and open requests.
func (h *HTTPServer) Shutdown() {
	h.srv.Close()
}

// ServeHTTP recovers from panics so that no request can bring down the agent.
func (h *HTTPServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
	var w http.ResponseWriter = sw
	defer func() {
		if p := recover(); p != nil {
			h.logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			if panicHook != nil {
				panicHook(p)
			}
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		if h.agent.metrics != nil {
			h.agent.metrics.observe(r.Method, sw.code, time.Since(start))
		}
	}()
	// Streams are sent as they come and a websocket takes over the
	// connection: neither is compressed.
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && !strings.HasPrefix(r.URL.Path, "/v1/client/fs/") && r.Header.Get("Upgrade") == "" {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		w = &gzipWriter{ResponseWriter: w, w: gz}
	}
	h.mux.ServeHTTP(w, r)
}

// panicHook, when set (by tests), sees every recovered panic.
var panicHook func(interface{})

// statusWriter remembers the status code for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection, so that the
// exec websocket can take it over.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type gzipWriter struct {
	http.ResponseWriter
	w *gzip.Writer
}

func (g *gzipWriter) Write(b []byte) (int, error) { return g.w.Write(b) }

func (g *gzipWriter) Flush() {
	_ = g.w.Flush()
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// handlerFunc returns a value to encode as JSON, or an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) (interface{}, error)

// wrap turns a handlerFunc into an http.HandlerFunc: JSON out, errors as
// their HTTP status with a plain-text message, as Nomad answers.
func (h *HTTPServer) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		obj, err := fn(w, r)
		if err != nil {
			code, msg := errorStatus(err)
			if code >= 500 {
				h.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, msg)
			return
		}
		if obj == nil {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		if _, ok := r.URL.Query()["pretty"]; ok {
			enc.SetIndent("", "    ")
		}
		_ = enc.Encode(obj)
	}
}

func errorStatus(err error) (int, string) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: limit is %d bytes", mbe.Limit)
	}
	return server.ErrorCode(err)
}

// parseQuery reads Nomad's common query parameters.
func parseQuery(r *http.Request, q *structs.QueryOptions) error {
	v := r.URL.Query()
	if s := v.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return server.NewCodedError(400, "invalid index: "+s)
		}
		q.MinQueryIndex = n
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return server.NewCodedError(400, "invalid wait time: "+s)
		}
		q.MaxQueryTime = d
	}
	if _, ok := v["stale"]; ok && v.Get("stale") != "false" {
		q.AllowStale = true
	}
	q.Prefix = v.Get("prefix")
	q.Namespace = v.Get("namespace")
	if q.Namespace == "" {
		q.Namespace = structs.DefaultNamespace
	}
	q.Region = v.Get("region")
	return nil
}

// setMeta writes the blocking-query headers.
func setMeta(w http.ResponseWriter, m *structs.QueryMeta) {
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(m.Index, 10))
	w.Header().Set("X-Nomad-KnownLeader", strconv.FormatBool(m.KnownLeader))
	w.Header().Set("X-Nomad-LastContact", strconv.FormatInt(m.LastContact.Milliseconds(), 10))
}

func setIndex(w http.ResponseWriter, index uint64) {
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}
