package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// fakeAgent answers a fixed set of routes with Nomad-shaped JSON and
// records the requests it saw.
type fakeAgent struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
	routes   map[string]fakeRoute
}

type fakeRoute struct {
	status int
	index  uint64
	body   any
}

func newFakeAgent(t *testing.T, routes map[string]fakeRoute) (*fakeAgent, *Client) {
	t.Helper()
	fa := &fakeAgent{routes: routes}
	srv := httptest.NewServer(fa)
	t.Cleanup(srv.Close)
	c, err := NewClient(&Config{Address: srv.URL})
	if err != nil {
		t.Fatalf("NewClient(%q) error = %v", srv.URL, err)
	}
	return fa, c
}

func (fa *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fa.mu.Lock()
	fa.requests = append(fa.requests, r)
	fa.bodies = append(fa.bodies, string(body))
	route, ok := fa.routes[r.Method+" "+r.URL.Path]
	fa.mu.Unlock()
	if !ok {
		http.Error(w, "no route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	if route.index != 0 {
		w.Header().Set("X-Nomad-Index", itoa(route.index))
	}
	w.Header().Set("X-Nomad-KnownLeader", "true")
	w.Header().Set("X-Nomad-LastContact", "7")
	status := route.status
	if status == 0 {
		status = http.StatusOK
	}
	if s, ok := route.body.(string); ok && status != http.StatusOK {
		w.WriteHeader(status)
		io.WriteString(w, s)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(route.body)
}

func (fa *fakeAgent) last() (*http.Request, string) {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	n := len(fa.requests)
	return fa.requests[n-1], fa.bodies[n-1]
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestNewClientAddress(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		address string
		want    string
		wantErr bool
	}{
		{name: "default", want: "http://127.0.0.1:4646"},
		{name: "nomadish env", env: map[string]string{"NOMADISH_ADDR": "http://10.0.0.1:4646", "NOMAD_ADDR": "http://10.0.0.2:4646"}, want: "http://10.0.0.1:4646"},
		{name: "nomad env", env: map[string]string{"NOMAD_ADDR": "http://10.0.0.2:4646"}, want: "http://10.0.0.2:4646"},
		{name: "config wins", env: map[string]string{"NOMADISH_ADDR": "http://10.0.0.1:4646"}, address: "https://h:1", want: "https://h:1"},
		{name: "no scheme", address: "127.0.0.1:9999", want: "http://127.0.0.1:9999"},
		{name: "trailing slash", address: "http://h:1/", want: "http://h:1"},
		{name: "bad scheme", address: "ftp://h:1", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NOMADISH_ADDR", "")
			t.Setenv("NOMAD_ADDR", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			conf := DefaultConfig()
			if tc.address != "" {
				conf.Address = tc.address
			}
			c, err := NewClient(conf)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewClient(%q) error = %v, want error %v", tc.address, err, tc.wantErr)
			}
			if err == nil && c.Address() != tc.want {
				t.Errorf("Address() = %q, want %q", c.Address(), tc.want)
			}
		})
	}
}

func TestReads(t *testing.T) {
	job := &structs.Job{ID: "example", Name: "example", Type: "service", Priority: 50, Datacenters: []string{"dc1"}}
	allocStub := &structs.AllocListStub{ID: "a1", JobID: "example", TaskGroup: "cache", ClientStatus: "running"}
	eval := &structs.Evaluation{ID: "e1", JobID: "example", Status: "complete", TriggeredBy: "job-register"}
	node := &structs.Node{ID: "n1", Name: "node1", Status: "ready", HTTPAddr: "10.0.0.9:4646"}

	_, c := newFakeAgent(t, map[string]fakeRoute{
		"GET /v1/jobs":                      {index: 11, body: []*structs.JobListStub{job.Stub(nil)}},
		"GET /v1/job/example":               {index: 12, body: job},
		"GET /v1/job/example/allocations":   {index: 13, body: []*structs.AllocListStub{allocStub}},
		"GET /v1/job/example/evaluations":   {index: 14, body: []*structs.Evaluation{eval}},
		"GET /v1/job/example/summary":       {index: 15, body: &structs.JobSummary{JobID: "example", Summary: map[string]structs.TaskGroupSummary{"cache": {Running: 1}}}},
		"GET /v1/allocations":               {index: 16, body: []*structs.AllocListStub{allocStub}},
		"GET /v1/allocation/a1":             {index: 17, body: &structs.Allocation{ID: "a1", JobID: "example"}},
		"GET /v1/evaluations":               {index: 18, body: []*structs.Evaluation{eval}},
		"GET /v1/evaluation/e1":             {index: 19, body: eval},
		"GET /v1/evaluation/e1/allocations": {index: 20, body: []*structs.AllocListStub{allocStub}},
		"GET /v1/nodes":                     {index: 21, body: []*structs.NodeListStub{node.Stub()}},
		"GET /v1/node/n1":                   {index: 22, body: node},
	})

	tests := []struct {
		name      string
		call      func() (any, *QueryMeta, error)
		wantIndex uint64
		want      string
	}{
		{"jobs list", func() (any, *QueryMeta, error) { r, m, err := c.Jobs().List(nil); return r[0].ID, m, err }, 11, "example"},
		{"job info", func() (any, *QueryMeta, error) {
			r, m, err := c.Jobs().Info("example", nil)
			return r.Datacenters[0], m, err
		}, 12, "dc1"},
		{"job allocs", func() (any, *QueryMeta, error) {
			r, m, err := c.Jobs().Allocations("example", false, nil)
			return r[0].TaskGroup, m, err
		}, 13, "cache"},
		{"job evals", func() (any, *QueryMeta, error) {
			r, m, err := c.Jobs().Evaluations("example", nil)
			return r[0].TriggeredBy, m, err
		}, 14, "job-register"},
		{"job summary", func() (any, *QueryMeta, error) {
			r, m, err := c.Jobs().Summary("example", nil)
			return r.Summary["cache"].Running, m, err
		}, 15, "1"},
		{"alloc list", func() (any, *QueryMeta, error) { r, m, err := c.Allocations().List(nil); return r[0].ID, m, err }, 16, "a1"},
		{"alloc info", func() (any, *QueryMeta, error) { r, m, err := c.Allocations().Info("a1", nil); return r.JobID, m, err }, 17, "example"},
		{"eval list", func() (any, *QueryMeta, error) { r, m, err := c.Evaluations().List(nil); return r[0].ID, m, err }, 18, "e1"},
		{"eval info", func() (any, *QueryMeta, error) { r, m, err := c.Evaluations().Info("e1", nil); return r.Status, m, err }, 19, "complete"},
		{"eval allocs", func() (any, *QueryMeta, error) {
			r, m, err := c.Evaluations().Allocations("e1", nil)
			return r[0].ClientStatus, m, err
		}, 20, "running"},
		{"node list", func() (any, *QueryMeta, error) { r, m, err := c.Nodes().List(nil); return r[0].Name, m, err }, 21, "node1"},
		{"node info", func() (any, *QueryMeta, error) { r, m, err := c.Nodes().Info("n1", nil); return r.HTTPAddr, m, err }, 22, "10.0.0.9:4646"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, qm, err := tc.call()
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if s := toString(got); s != tc.want {
				t.Errorf("value = %q, want %q", s, tc.want)
			}
			if qm.LastIndex != tc.wantIndex {
				t.Errorf("LastIndex = %d, want %d", qm.LastIndex, tc.wantIndex)
			}
			if !qm.KnownLeader || qm.LastContact != 7*time.Millisecond {
				t.Errorf("QueryMeta = %+v, want KnownLeader and LastContact 7ms", qm)
			}
		})
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestQueryParameters(t *testing.T) {
	fa, c := newFakeAgent(t, map[string]fakeRoute{
		"GET /v1/jobs":                      {body: []*structs.JobListStub{}},
		"GET /v1/job/my job/allocations":    {body: []*structs.AllocListStub{}},
		"GET /v1/allocations":               {body: []*structs.AllocListStub{}},
		"GET /v1/evaluation/e1":             {body: &structs.Evaluation{ID: "e1"}},
		"GET /v1/job/example":               {body: &structs.Job{ID: "example"}},
		"GET /v1/evaluation/e1/allocations": {body: []*structs.AllocListStub{}},
	})
	tests := []struct {
		name     string
		call     func() error
		wantPath string
		want     url.Values
	}{
		{"prefix", func() error { _, _, err := c.Jobs().PrefixList("ex"); return err }, "/v1/jobs", url.Values{"prefix": {"ex"}}},
		{"all allocs", func() error { _, _, err := c.Jobs().Allocations("my job", true, nil); return err },
			"/v1/job/my job/allocations", url.Values{"all": {"true"}}},
		{"alloc prefix", func() error { _, _, err := c.Allocations().PrefixList("abcd"); return err },
			"/v1/allocations", url.Values{"prefix": {"abcd"}}},
		{"blocking", func() error {
			_, _, err := c.Evaluations().Info("e1", &QueryOptions{WaitIndex: 42, WaitTime: 5 * time.Second})
			return err
		}, "/v1/evaluation/e1", url.Values{"index": {"42"}, "wait": {"5000ms"}}},
		{"stale and namespace", func() error {
			_, _, err := c.Jobs().Info("example", &QueryOptions{AllowStale: true, Namespace: "prod", Region: "eu"})
			return err
		}, "/v1/job/example", url.Values{"stale": {""}, "namespace": {"prod"}, "region": {"eu"}}},
		{"params", func() error {
			_, _, err := c.Evaluations().Allocations("e1", &QueryOptions{Params: map[string]string{"x": "y"}})
			return err
		}, "/v1/evaluation/e1/allocations", url.Values{"x": {"y"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatalf("error = %v", err)
			}
			r, _ := fa.last()
			if r.URL.Path != tc.wantPath {
				t.Errorf("path = %q, want %q", r.URL.Path, tc.wantPath)
			}
			if got := r.URL.Query(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("query = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRegisterAndDeregister(t *testing.T) {
	fa, c := newFakeAgent(t, map[string]fakeRoute{
		"PUT /v1/jobs": {index: 30, body: map[string]any{
			"EvalID": "e1", "EvalCreateIndex": 30, "JobModifyIndex": 29, "Warnings": "w", "Index": 30,
		}},
		"DELETE /v1/job/example": {index: 31, body: map[string]any{"EvalID": "e2", "EvalCreateIndex": 31, "JobModifyIndex": 31, "Index": 31}},
	})
	job := &structs.Job{ID: "example", Type: "batch"}

	resp, wm, err := c.Jobs().EnforceRegister(job, 0, nil)
	if err != nil {
		t.Fatalf("EnforceRegister() error = %v", err)
	}
	if resp.EvalID != "e1" || resp.JobModifyIndex != 29 || resp.Warnings != "w" || wm.LastIndex != 30 {
		t.Errorf("EnforceRegister() = %+v, %+v, want EvalID e1, JobModifyIndex 29, Warnings w, LastIndex 30", resp, wm)
	}
	r, body := fa.last()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &sent); err != nil {
		t.Fatalf("register body %q: %v", body, err)
	}
	if string(sent["EnforceIndex"]) != "true" {
		t.Errorf("register body EnforceIndex = %s, want true", sent["EnforceIndex"])
	}
	var sentJob structs.Job
	if err := json.Unmarshal(sent["Job"], &sentJob); err != nil || sentJob.ID != "example" {
		t.Errorf("register body Job = %s (%v), want job example", sent["Job"], err)
	}

	evalID, _, err := c.Jobs().Deregister("example", true, nil)
	if err != nil {
		t.Fatalf("Deregister() error = %v", err)
	}
	if evalID != "e2" {
		t.Errorf("Deregister() = %q, want e2", evalID)
	}
	r, _ = fa.last()
	if r.Method != http.MethodDelete || r.URL.Query().Get("purge") != "true" {
		t.Errorf("Deregister request = %s %s, want DELETE with purge=true", r.Method, r.URL)
	}
}

func TestStatus(t *testing.T) {
	_, c := newFakeAgent(t, map[string]fakeRoute{
		"GET /v1/status/leader": {body: "10.0.0.1:4647"},
		"GET /v1/status/peers":  {body: []string{"10.0.0.1:4647", "10.0.0.2:4647"}},
	})
	leader, err := c.Status().Leader()
	if err != nil || leader != "10.0.0.1:4647" {
		t.Errorf("Leader() = %q, %v, want 10.0.0.1:4647", leader, err)
	}
	peers, err := c.Status().Peers()
	if err != nil || len(peers) != 2 {
		t.Errorf("Peers() = %v, %v, want two peers", peers, err)
	}
}

func TestUnexpectedResponse(t *testing.T) {
	_, c := newFakeAgent(t, map[string]fakeRoute{
		"GET /v1/job/missing": {status: 404, body: "job not found\n"},
		"PUT /v1/jobs":        {status: 500, body: "1 error occurred:\n\t* group \"web\": count must be positive\n\n"},
	})
	tests := []struct {
		name     string
		call     func() error
		wantCode int
		wantText string
	}{
		{"not found", func() error { _, _, err := c.Jobs().Info("missing", nil); return err },
			404, "Unexpected response code: 404 (job not found)"},
		{"server error", func() error { _, _, err := c.Jobs().Register(&structs.Job{ID: "x"}, nil); return err },
			500, "Unexpected response code: 500 (1 error occurred:\n\t* group \"web\": count must be positive)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ue *UnexpectedResponseError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v, want *UnexpectedResponseError", err)
			}
			if ue.StatusCode() != tc.wantCode || err.Error() != tc.wantText {
				t.Errorf("error = %d %q, want %d %q", ue.StatusCode(), err.Error(), tc.wantCode, tc.wantText)
			}
			if IsNotFound(err) != (tc.wantCode == 404) {
				t.Errorf("IsNotFound() = %v, want %v", IsNotFound(err), tc.wantCode == 404)
			}
		})
	}
}

func TestLogs(t *testing.T) {
	var mu sync.Mutex
	var gotQuery url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/node/n1":
			json.NewEncoder(w).Encode(&structs.Node{ID: "n1"})
		case strings.HasPrefix(r.URL.Path, "/v1/client/fs/logs/a1"):
			mu.Lock()
			gotQuery = r.URL.Query()
			mu.Unlock()
			io.WriteString(w, "line 1\nline 2\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := NewClient(&Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	alloc := &structs.Allocation{ID: "a1", NodeID: "n1"}

	rc, err := c.AllocFS().LogsReader(alloc, LogsOptions{Task: "web", Type: LogTypeStderr, Follow: true, Origin: OriginEnd, Offset: 100}, nil)
	if err != nil {
		t.Fatalf("LogsReader() error = %v", err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "line 1\nline 2\n" {
		t.Errorf("LogsReader() read %q, want two lines", data)
	}
	mu.Lock()
	want := url.Values{"task": {"web"}, "type": {"stderr"}, "plain": {"true"}, "follow": {"true"}, "origin": {"end"}, "offset": {"100"}}
	if !reflect.DeepEqual(gotQuery, want) {
		t.Errorf("logs query = %v, want %v", gotQuery, want)
	}
	mu.Unlock()

	frames, errCh := c.AllocFS().Logs(alloc, false, "web", LogTypeStdout, OriginStart, 0, nil, nil)
	var got strings.Builder
	for f := range frames {
		got.Write(f.Data)
	}
	select {
	case err := <-errCh:
		t.Fatalf("Logs() error = %v", err)
	default:
	}
	if got.String() != "line 1\nline 2\n" {
		t.Errorf("Logs() frames = %q, want two lines", got.String())
	}
}

func TestAgent(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       any
		wantServer bool
		wantErr    bool
	}{
		{"healthy", 200, map[string]any{"server": map[string]any{"ok": true, "message": "ok"}, "client": map[string]any{"ok": true, "message": "ok"}}, true, false},
		{"no leader", 500, `{"server":{"ok":false,"message":"no known leader"}}`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFakeAgent(t, map[string]fakeRoute{
				"GET /v1/agent/health": {status: tc.status, body: tc.body},
				"GET /v1/agent/self":   {body: map[string]any{"config": map[string]any{"Region": "global"}, "member": map[string]any{"Name": "a"}, "stats": map[string]any{}}},
			})
			h, err := c.Agent().Health()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Health() error = %v, want error %v", err, tc.wantErr)
			}
			if h == nil || h.Server == nil || h.Server.Ok != tc.wantServer {
				t.Errorf("Health() = %+v, want server ok %v", h, tc.wantServer)
			}
			self, err := c.Agent().Self()
			if err != nil || self.Config["Region"] != "global" {
				t.Errorf("Self() = %+v, %v, want region global", self, err)
			}
		})
	}
}
