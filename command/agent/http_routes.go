package agent

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// extraRoutes are route sets other files add with registerRoutes, so that
// each feature owns its handlers' file.
var extraRoutes []func(h *HTTPServer)

// registerRoutes adds a set of routes; call it from init.
func registerRoutes(fn func(h *HTTPServer)) { extraRoutes = append(extraRoutes, fn) }

func (h *HTTPServer) routes() {
	m := h.mux
	for _, fn := range extraRoutes {
		fn(h)
	}
	m.HandleFunc("/v1/jobs", h.wrap(h.jobsRequest))
	m.HandleFunc("/v1/job/", h.wrap(h.jobSpecificRequest))
	m.HandleFunc("GET /v1/allocations", h.wrap(h.allocsList))
	m.HandleFunc("GET /v1/allocation/{id}", h.wrap(h.allocGet))
	m.HandleFunc("GET /v1/evaluations", h.wrap(h.evalsList))
	m.HandleFunc("GET /v1/evaluation/{id}", h.wrap(h.evalGet))
	m.HandleFunc("GET /v1/evaluation/{id}/allocations", h.wrap(h.evalAllocs))
	m.HandleFunc("GET /v1/nodes", h.wrap(h.nodesList))
	m.HandleFunc("GET /v1/node/{id}", h.wrap(h.nodeGet))
	m.HandleFunc("GET /v1/node/{id}/allocations", h.wrap(h.nodeAllocs))
	m.HandleFunc("GET /v1/status/leader", h.wrap(h.statusLeader))
	m.HandleFunc("GET /v1/status/peers", h.wrap(h.statusPeers))
	m.HandleFunc("GET /v1/agent/self", h.wrap(h.agentSelf))
	m.HandleFunc("GET /v1/agent/health", h.wrap(h.agentHealth))
	m.HandleFunc("GET /v1/client/fs/logs/{alloc}", h.clientLogs)
	h.operatorRoutes()
	m.HandleFunc("/", h.wrap(func(http.ResponseWriter, *http.Request) (interface{}, error) {
		return nil, server.NewCodedError(404, "Invalid URL path")
	}))
}

func (h *HTTPServer) rpc(method string, args, reply interface{}) error {
	return h.agent.RPC(method, args, reply)
}

// jobRegisterBody is the body of PUT /v1/jobs, as Nomad's api sends it.
type jobRegisterBody struct {
	Job            *structs.Job
	EnforceIndex   bool
	JobModifyIndex uint64
	PolicyOverride bool
	PreserveCounts bool
	EvalPriority   int
	// Submission is the job's source as the user wrote it; accepted, not stored.
	Submission json.RawMessage
	// PreserveResources, Prune and Tolerations exist in newer Nomad clients.
	PreserveResources bool
	structs.WriteRequest
}

func (h *HTTPServer) jobsRequest(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	switch r.Method {
	case http.MethodGet:
		var args structs.JobListRequest
		if err := parseQuery(r, &args.QueryOptions); err != nil {
			return nil, err
		}
		if r.URL.Query().Get("namespace") == "" {
			args.Namespace = "*"
		}
		var reply structs.JobListResponse
		if err := h.rpc("Job.List", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		return filterAndPage(w, r, reply.Jobs)
	case http.MethodPut, http.MethodPost:
		return h.jobRegister(w, r, "")
	}
	return nil, server.NewCodedError(405, "method not allowed")
}

func (h *HTTPServer) jobRegister(w http.ResponseWriter, r *http.Request, pathID string) (interface{}, error) {
	var body jobRegisterBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Job == nil {
		return nil, server.NewCodedError(400, "Job must be specified")
	}
	if pathID != "" && body.Job.ID != pathID {
		return nil, server.NewCodedError(400, "Job ID does not match name")
	}
	args := structs.JobRegisterRequest{
		Job:            body.Job,
		EnforceIndex:   body.EnforceIndex,
		JobModifyIndex: body.JobModifyIndex,
	}
	args.Namespace = r.URL.Query().Get("namespace")
	if body.Job.Namespace != "" {
		args.Namespace = body.Job.Namespace
	}
	var reply structs.JobRegisterResponse
	if err := h.rpc("Job.Register", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

func (h *HTTPServer) jobSpecificRequest(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/job/")
	for _, suffix := range []string{"/allocations", "/evaluations", "/summary", "/versions"} {
		if id, ok := strings.CutSuffix(path, suffix); ok && r.Method == http.MethodGet {
			return h.jobSub(w, r, id, suffix)
		}
	}
	if path == "" {
		return nil, server.NewCodedError(400, "missing job ID")
	}
	switch r.Method {
	case http.MethodGet:
		var args structs.JobSpecificRequest
		if err := parseQuery(r, &args.QueryOptions); err != nil {
			return nil, err
		}
		args.JobID = path
		var reply structs.SingleJobResponse
		if err := h.rpc("Job.GetJob", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		if reply.Job == nil {
			return nil, server.NewCodedError(404, "job not found")
		}
		return reply.Job, nil
	case http.MethodPut, http.MethodPost:
		return h.jobRegister(w, r, path)
	case http.MethodDelete:
		args := structs.JobDeregisterRequest{JobID: path, Purge: r.URL.Query().Get("purge") == "true"}
		args.Namespace = r.URL.Query().Get("namespace")
		var reply structs.JobDeregisterResponse
		if err := h.rpc("Job.Deregister", &args, &reply); err != nil {
			return nil, err
		}
		setIndex(w, reply.Index)
		return &reply, nil
	}
	return nil, server.NewCodedError(405, "method not allowed")
}

func (h *HTTPServer) jobSub(w http.ResponseWriter, r *http.Request, id, suffix string) (interface{}, error) {
	var args structs.JobSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.JobID = id
	args.All = r.URL.Query().Get("all") == "true"
	switch suffix {
	case "/allocations":
		var reply structs.JobAllocationsResponse
		if err := h.rpc("Job.Allocations", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		return reply.Allocations, nil
	case "/evaluations":
		var reply structs.JobEvaluationsResponse
		if err := h.rpc("Job.Evaluations", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		return reply.Evaluations, nil
	case "/summary":
		var reply structs.JobSummaryResponse
		if err := h.rpc("Job.Summary", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		if reply.JobSummary == nil {
			return nil, server.NewCodedError(404, "job not found")
		}
		return reply.JobSummary, nil
	default: // versions
		var reply structs.JobVersionsResponse
		if err := h.rpc("Job.GetJobVersions", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		if len(reply.Versions) == 0 {
			return nil, server.NewCodedError(404, "job not found")
		}
		return map[string]interface{}{"Versions": reply.Versions, "Diffs": nil}, nil
	}
}

func (h *HTTPServer) allocsList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.AllocListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	if r.URL.Query().Get("namespace") == "" {
		args.Namespace = "*"
	}
	var reply structs.AllocListResponse
	if err := h.rpc("Alloc.List", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return filterAndPage(w, r, reply.Allocations)
}

func (h *HTTPServer) allocGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.AllocSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.AllocID = r.PathValue("id")
	var reply structs.SingleAllocResponse
	if err := h.rpc("Alloc.GetAlloc", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Alloc == nil {
		return nil, server.NewCodedError(404, "alloc not found")
	}
	return reply.Alloc, nil
}

func (h *HTTPServer) evalsList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.EvalListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	if r.URL.Query().Get("namespace") == "" {
		args.Namespace = "*"
	}
	var reply structs.EvalListResponse
	if err := h.rpc("Eval.List", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return filterAndPage(w, r, reply.Evaluations)
}

func (h *HTTPServer) evalGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.EvalSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.EvalID = r.PathValue("id")
	var reply structs.SingleEvalResponse
	if err := h.rpc("Eval.GetEval", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Eval == nil {
		return nil, server.NewCodedError(404, "eval not found")
	}
	return reply.Eval, nil
}

func (h *HTTPServer) evalAllocs(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.EvalSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.EvalID = r.PathValue("id")
	var reply structs.EvalAllocationsResponse
	if err := h.rpc("Eval.Allocations", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return reply.Allocations, nil
}

func (h *HTTPServer) nodesList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.NodeListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var reply structs.NodeListResponse
	if err := h.rpc("Node.List", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return filterAndPage(w, r, reply.Nodes)
}

func (h *HTTPServer) nodeGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.NodeSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.NodeID = r.PathValue("id")
	var reply structs.SingleNodeResponse
	if err := h.rpc("Node.GetNode", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Node == nil {
		return nil, server.NewCodedError(404, "node not found")
	}
	return reply.Node, nil
}

func (h *HTTPServer) nodeAllocs(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.NodeSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.NodeID = r.PathValue("id")
	var reply structs.NodeAllocsResponse
	if err := h.rpc("Node.GetAllocs", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return reply.Allocs, nil
}

func (h *HTTPServer) statusLeader(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var reply structs.StatusLeaderResponse
	if err := h.rpc("Status.Leader", &structs.GenericRequest{}, &reply); err != nil {
		return nil, err
	}
	return reply.Leader, nil
}

func (h *HTTPServer) statusPeers(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var reply structs.StatusPeersResponse
	if err := h.rpc("Status.Peers", &structs.GenericRequest{}, &reply); err != nil {
		return nil, err
	}
	return reply.Peers, nil
}

func (h *HTTPServer) agentSelf(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	a := h.agent
	return map[string]interface{}{
		"config": map[string]interface{}{
			"Region": a.config.Region, "Datacenter": a.config.Datacenter, "NodeName": a.config.Name,
			"DataDir": a.config.DataDir, "Version": map[string]string{"Version": Version},
		},
		"member": map[string]interface{}{"Name": a.config.Name},
		"stats":  a.stats(),
	}, nil
}

func (h *HTTPServer) agentHealth(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	out := map[string]interface{}{}
	if h.agent.server != nil {
		ok := h.agent.server.Leader() != ""
		msg := "ok"
		if !ok {
			msg = "no known leader"
		}
		out["server"] = map[string]interface{}{"ok": ok, "message": msg}
		if !ok {
			w.WriteHeader(500)
		}
	}
	if h.agent.client != nil {
		out["client"] = map[string]interface{}{"ok": true, "message": "ok"}
	}
	return out, nil
}
