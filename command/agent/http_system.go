package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("PUT /v1/system/gc", h.wrap(h.systemGC))
	})
}

// systemGC runs a garbage collection now, regardless of the age
// thresholds. As in Nomad it answers with an empty body; X-Nomad-Index is
// the index after the deletions.
func (h *HTTPServer) systemGC(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.SystemGCRequest
	args.Region = r.URL.Query().Get("region")
	var reply structs.SystemGCResponse
	if err := h.rpc("System.GarbageCollect", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return nil, nil
}
