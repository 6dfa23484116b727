package command

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// fakeAgent serves the /v1 endpoints the CLI uses from in-memory state,
// with Nomad's JSON shapes. Every answer carries a higher X-Nomad-Index,
// so monitors never wait.
type fakeAgent struct {
	t *testing.T

	mu    sync.Mutex
	index uint64

	jobs      map[string]*structs.Job
	summaries map[string]*structs.JobSummary
	allocs    map[string]*structs.Allocation
	nodes     map[string]*structs.Node
	evals     map[string]*structs.Evaluation
	// evalSteps are the states an evaluation goes through, one per read;
	// the last one stays.
	evalSteps map[string][]*structs.Evaluation
	// evalAllocs are the allocations each evaluation touched.
	evalAllocs map[string][]string
	// logs are task logs by "alloc/task/type".
	logs map[string]string

	// registerResp and deregisterResp answer writes; registerErr fails them.
	registerResp   map[string]any
	registerErr    string
	deregisterResp map[string]any

	registered []string
	deleted    []string
	logQueries []string
}

func newFakeAgent(t *testing.T) *fakeAgent {
	return &fakeAgent{
		t:          t,
		jobs:       map[string]*structs.Job{},
		summaries:  map[string]*structs.JobSummary{},
		allocs:     map[string]*structs.Allocation{},
		nodes:      map[string]*structs.Node{},
		evals:      map[string]*structs.Evaluation{},
		evalSteps:  map[string][]*structs.Evaluation{},
		evalAllocs: map[string][]string{},
		logs:       map[string]string{},
	}
}

// start serves the agent and returns its address.
func (f *fakeAgent) start() string {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index++
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(f.index, 10))
	prefix := r.URL.Query().Get("prefix")
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")

	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	notFound := func(what string) { http.Error(w, what+" not found", http.StatusNotFound) }

	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/v1/jobs":
		b, _ := io.ReadAll(r.Body)
		f.registered = append(f.registered, string(b))
		if f.registerErr != "" {
			http.Error(w, f.registerErr, http.StatusInternalServerError)
			return
		}
		reply(f.registerResp)
	case r.URL.Path == "/v1/jobs":
		var out []*structs.JobListStub
		for _, id := range sortedKeys(f.jobs) {
			if strings.HasPrefix(id, prefix) {
				out = append(out, f.jobs[id].Stub(f.summaries[id]))
			}
		}
		reply(out)
	case parts[0] == "job" && len(parts) == 2 && r.Method == http.MethodDelete:
		f.deleted = append(f.deleted, r.URL.Path+"?"+r.URL.RawQuery)
		reply(f.deregisterResp)
	case parts[0] == "job" && len(parts) >= 2:
		job, ok := f.jobs[parts[1]]
		if !ok {
			notFound("job")
			return
		}
		if len(parts) == 2 {
			reply(job)
			return
		}
		switch parts[2] {
		case "summary":
			reply(f.summaries[job.ID])
		case "allocations":
			var out []*structs.AllocListStub
			for _, id := range sortedKeys(f.allocs) {
				if a := f.allocs[id]; a.JobID == job.ID {
					out = append(out, a.Stub())
				}
			}
			reply(out)
		case "evaluations":
			var out []*structs.Evaluation
			for _, id := range sortedKeys(f.evals) {
				if e := f.evals[id]; e.JobID == job.ID {
					out = append(out, e)
				}
			}
			reply(out)
		case "versions":
			reply(map[string]any{"Versions": []*structs.Job{job}, "Diffs": nil})
		default:
			notFound("route")
		}
	case r.URL.Path == "/v1/allocations":
		var out []*structs.AllocListStub
		for _, id := range sortedKeys(f.allocs) {
			if strings.HasPrefix(id, prefix) {
				out = append(out, f.allocs[id].Stub())
			}
		}
		reply(out)
	case parts[0] == "allocation" && len(parts) == 2:
		a, ok := f.allocs[parts[1]]
		if !ok {
			notFound("alloc")
			return
		}
		reply(a)
	case r.URL.Path == "/v1/evaluations":
		var out []*structs.Evaluation
		for _, id := range sortedKeys(f.evals) {
			if strings.HasPrefix(id, prefix) {
				out = append(out, f.evals[id])
			}
		}
		reply(out)
	case parts[0] == "evaluation" && len(parts) >= 2:
		id := parts[1]
		if steps := f.evalSteps[id]; len(steps) > 0 {
			f.evals[id] = steps[0]
			if len(steps) > 1 {
				f.evalSteps[id] = steps[1:]
			}
		}
		e, ok := f.evals[id]
		if !ok {
			notFound("eval")
			return
		}
		if len(parts) == 2 {
			reply(e)
			return
		}
		out := []*structs.AllocListStub{}
		for _, aid := range f.evalAllocs[id] {
			out = append(out, f.allocs[aid].Stub())
		}
		reply(out)
	case r.URL.Path == "/v1/nodes":
		var out []*structs.NodeListStub
		for _, id := range sortedKeys(f.nodes) {
			if strings.HasPrefix(id, prefix) {
				out = append(out, f.nodes[id].Stub())
			}
		}
		reply(out)
	case parts[0] == "node" && len(parts) >= 2:
		n, ok := f.nodes[parts[1]]
		if !ok {
			notFound("node")
			return
		}
		if len(parts) == 2 {
			reply(n)
			return
		}
		notFound("route")
	case parts[0] == "client" && len(parts) == 4 && parts[2] == "logs":
		q := r.URL.Query()
		f.logQueries = append(f.logQueries, r.URL.RawQuery)
		text, ok := f.logs[parts[3]+"/"+q.Get("task")+"/"+q.Get("type")]
		if !ok {
			notFound("log")
			return
		}
		if q.Get("origin") == "end" {
			off, _ := strconv.Atoi(q.Get("offset"))
			if off < len(text) {
				text = text[len(text)-off:]
			}
		}
		io.WriteString(w, text)
	default:
		notFound("route")
	}
}

// runCmd runs a command with a mock terminal and returns its exit code,
// stdout and stderr.
func runCmd(t *testing.T, cmd func(ui cli.Ui) cli.Command, input string, args ...string) (int, string, string) {
	t.Helper()
	ui := cli.NewMockUi()
	if input != "" {
		ui.InputReader = strings.NewReader(input)
	}
	code := cmd(ui).Run(args)
	return code, ui.OutputWriter.String(), ui.ErrorWriter.String()
}

var timestampRe = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`)

// stamps replaces absolute times with "<time>".
func stamps(s string) string { return timestampRe.ReplaceAllString(s, "<time>") }
