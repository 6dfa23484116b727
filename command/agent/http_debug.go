package agent

import (
	"net/http/pprof"
	"os"
)

// debugEnv turns on the Go profiler at /debug/pprof/ when set to 1, for
// profiling a server under load (make bench-c1m PROFILE=1).
const debugEnv = "NOMADISH_ENABLE_DEBUG"

func init() {
	registerRoutes(func(h *HTTPServer) {
		if os.Getenv(debugEnv) != "1" {
			return
		}
		h.mux.HandleFunc("/debug/pprof/", pprof.Index)
		h.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		h.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		h.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		h.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	})
}
