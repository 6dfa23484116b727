package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		for _, m := range []string{"PUT", "POST"} {
			h.mux.HandleFunc(m+" /v1/job/{id}/evaluate", h.wrap(h.jobEvaluate))
			h.mux.HandleFunc(m+" /v1/node/{id}/evaluate", h.wrap(h.nodeEvaluate))
			h.mux.HandleFunc(m+" /v1/node/{id}/purge", h.wrap(h.nodePurge))
		}
		h.mux.HandleFunc("GET /v1/evaluations/count", h.wrap(h.evalCount))
	})
}

// jobEvaluateBody is Nomad's evaluate request body; it is optional.
type jobEvaluateBody struct {
	JobID       string
	EvalOptions struct {
		ForceReschedule bool
	}
	structs.WriteRequest
}

func (h *HTTPServer) jobEvaluate(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var body jobEvaluateBody
	if r.ContentLength != 0 {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, server.NewCodedError(400, "Job ID does not match")
	}
	args := &structs.JobEvaluateRequest{JobID: id, ForceReschedule: body.EvalOptions.ForceReschedule}
	args.Namespace = r.URL.Query().Get("namespace")
	var reply structs.JobRegisterResponse
	if err := h.rpc("Job.Evaluate", args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

func (h *HTTPServer) nodeEvaluate(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var reply structs.NodeUpdateResponse
	if err := h.rpc("Node.Evaluate", &structs.NodeSpecificRequest{NodeID: r.PathValue("id")}, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return map[string]interface{}{"EvalIDs": reply.EvalIDs, "EvalCreateIndex": reply.Index, "NodeModifyIndex": reply.Index, "Index": reply.Index}, nil
}

func (h *HTTPServer) nodePurge(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var reply structs.NodeUpdateResponse
	if err := h.rpc("Node.Purge", &structs.NodeSpecificRequest{NodeID: r.PathValue("id")}, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return map[string]interface{}{"EvalIDs": reply.EvalIDs, "EvalCreateIndex": reply.Index, "NodeModifyIndex": reply.Index, "Index": reply.Index}, nil
}

func (h *HTTPServer) evalCount(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.EvalListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	if r.URL.Query().Get("namespace") == "" {
		args.Namespace = "*"
	}
	var reply structs.EvalCountResponse
	if err := h.rpc("Eval.Count", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return map[string]interface{}{"Count": reply.Count}, nil
}
