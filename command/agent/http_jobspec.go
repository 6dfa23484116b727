package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/nomadish/nomadish/nomadish/jobspec"
	"github.com/nomadish/nomadish/nomadish/server"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("POST /v1/jobs/parse", h.wrap(h.jobsParse))
		h.mux.HandleFunc("PUT /v1/jobs/parse", h.wrap(h.jobsParse))
	})
}

// jobsParseRequest is the body of /v1/jobs/parse, as Nomad's.
type jobsParseRequest struct {
	JobHCL       string
	HCLv1        bool `json:"hclv1,omitempty"`
	Variables    string
	Canonicalize bool
}

// jobsParse turns HCL into the job's API JSON. The server has no file
// system to offer the job, so file functions are off.
func (h *HTTPServer) jobsParse(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var req jobsParseRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.JobHCL) == "" {
		return nil, server.NewCodedError(400, "Job spec is empty")
	}
	if req.HCLv1 {
		return nil, server.NewCodedError(400, "HCL version 1 job files are not supported; use HCL2")
	}
	cfg := &jobspec.ParseConfig{Path: "input.hcl", Body: []byte(req.JobHCL)}
	if req.Variables != "" {
		// Variables arrive as the contents of a var file.
		dir, err := os.MkdirTemp("", "nomadish-parse-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "variables.hcl")
		if err := os.WriteFile(path, []byte(req.Variables), 0o600); err != nil {
			return nil, err
		}
		cfg.VarFiles = []string{path}
	}
	job, err := jobspec.Parse(cfg)
	if err != nil {
		return nil, server.NewCodedError(400, err.Error())
	}
	return job, nil
}
