package agent

import (
	"net/http"
	"strconv"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("GET /v1/operator/scheduler/configuration", h.wrap(h.schedulerConfigGet))
		h.mux.HandleFunc("PUT /v1/operator/scheduler/configuration", h.wrap(h.schedulerConfigSet))
		h.mux.HandleFunc("POST /v1/operator/scheduler/configuration", h.wrap(h.schedulerConfigSet))
	})
}

// schedulerConfigGet answers {"SchedulerConfig": {...}, "Index": N, ...}.
func (h *HTTPServer) schedulerConfigGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.GenericRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var reply structs.SchedulerConfigurationResponse
	if err := h.rpc("Operator.SchedulerGetConfiguration", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return &reply, nil
}

// schedulerConfigSet takes the configuration as the body; ?cas=<index>
// makes the change conditional on the stored ModifyIndex. It answers
// {"Updated": bool, "Index": N}.
func (h *HTTPServer) schedulerConfigSet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.SchedulerSetConfigRequest
	if err := decodeBody(r, &args.Config); err != nil {
		return nil, err
	}
	if s := r.URL.Query().Get("cas"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, server.NewCodedError(400, "invalid cas index: "+s)
		}
		args.CAS = true
		args.Config.ModifyIndex = n
	}
	args.Region = r.URL.Query().Get("region")
	var reply structs.SchedulerSetConfigurationResponse
	if err := h.rpc("Operator.SchedulerSetConfiguration", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}
