package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func freePortT(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var (
	serverOnce  sync.Once
	sharedAgent *Agent
)

// testServerAgent starts one server-only agent in process, shared by the
// tests and fuzz targets of this file.
func testServerAgent(t testing.TB) *Agent {
	t.Helper()
	serverOnce.Do(func() {
		c := DevConfig()
		f := false
		c.Client.Enabled = &f
		c.Name = "http-test"
		c.DataDir = ""
		c.LogLevel = "ERROR"
		c.Ports = &Ports{HTTP: freePortT(t), RPC: freePortT(t), Serf: freePortT(t)}
		a, err := NewAgent(c, hclog.New(&hclog.LoggerOptions{Level: hclog.Error}))
		if err != nil {
			t.Fatalf("NewAgent() error = %v", err)
		}
		sharedAgent = a
	})
	deadline := time.Now().Add(10 * time.Second)
	for sharedAgent.server.Leader() == "" {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sharedAgent
}

func do(t testing.TB, a *Agent, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const testJobJSON = `{"Job": {"ID": "%s", "Type": "batch", "Datacenters": ["dc1"], "TaskGroups": [{"Name": "g", "Count": 0, "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}}`

func TestHTTP_Metrics(t *testing.T) {
	a := testServerAgent(t)
	code, body := do(t, a, "GET", "/v1/metrics", "")
	if code != 200 {
		t.Fatalf("GET /v1/metrics = %d %s", code, body)
	}
	var m struct {
		Gauges []struct {
			Name  string
			Value float64
		}
		Counters []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("metrics JSON: %v", err)
	}
	found := false
	for _, g := range m.Gauges {
		if g.Name == "nomad_raft_leader" && g.Value == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("metrics JSON lacks nomad_raft_leader = 1: %s", body)
	}
	code, body = do(t, a, "GET", "/v1/metrics?format=prometheus", "")
	if code != 200 || !strings.Contains(body, "# TYPE nomad_http_requests_total counter") || !strings.Contains(body, "nomad_broker_total_ready") {
		t.Errorf("prometheus metrics = %d:\n%.500s", code, body)
	}
}

func TestHTTP_EventStream(t *testing.T) {
	a := testServerAgent(t)
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/event/stream?topic=Job:evjob")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if code, body := do(t, a, "PUT", "/v1/jobs", fmt.Sprintf(testJobJSON, "evjob")); code != 200 {
		t.Fatalf("register = %d %s", code, body)
	}
	if code, body := do(t, a, "PUT", "/v1/jobs", fmt.Sprintf(testJobJSON, "other")); code != 200 {
		t.Fatalf("register = %d %s", code, body)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case line := <-lines:
		var frame struct {
			Index  uint64
			Events []struct {
				Topic, Type, Key string
				Payload          map[string]json.RawMessage
			}
		}
		if err := json.Unmarshal([]byte(line), &frame); err != nil {
			t.Fatalf("frame %q: %v", line, err)
		}
		if len(frame.Events) != 1 || frame.Events[0].Key != "evjob" || frame.Events[0].Type != "JobRegistered" || frame.Events[0].Payload["Job"] == nil {
			t.Errorf("first frame = %s, want one JobRegistered event for evjob", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
}

// FuzzHTTPHandlers sends arbitrary methods, paths and bodies to the API:
// nothing may panic, and nothing may answer 5xx for bad input except a
// known internal state.
func FuzzHTTPHandlers(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"PUT", "/v1/jobs", `{"Job": {"ID": "x"}}`},
		{"PUT", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [{"Tasks": [{}]}]}}`},
		{"PUT", "/v1/jobs", `{"Job": null}`},
		{"POST", "/v1/jobs/parse", `{"JobHCL": "job \"a\" {}"}`},
		{"GET", "/v1/job/x/allocations?index=abc", ""},
		{"GET", "/v1/jobs?wait=zz", ""},
		{"DELETE", "/v1/job/", ""},
		{"GET", "/v1/event/stream?topic=:", ""},
		{"PUT", "/v1/validate/job", `{"Job": {"TaskGroups": [null]}}`},
		{"GET", "/v1/allocation/%00", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	var mu sync.Mutex
	var panics []interface{}
	panicHook = func(p interface{}) {
		mu.Lock()
		panics = append(panics, p)
		mu.Unlock()
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		a := testServerAgent(t)
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "stream") || strings.Contains(path, "follow") || strings.Contains(path, "index=") {
			return
		}
		switch method {
		case "GET", "PUT", "POST", "DELETE":
		default:
			return
		}
		req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, strings.NewReader(body))
		if err != nil {
			return
		}
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Do(req)
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		if len(panics) > 0 {
			t.Fatalf("%s %s %q: handler panicked: %v", method, path, body, panics)
		}
	})
}

func TestHTTP_FilterAndPagination(t *testing.T) {
	a := testServerAgent(t)
	for _, id := range []string{"page-a", "page-b", "page-c"} {
		if code, body := do(t, a, "PUT", "/v1/jobs", fmt.Sprintf(testJobJSON, id)); code != 200 {
			t.Fatalf("register %s = %d %s", id, code, body)
		}
	}
	ids := func(body string) []string {
		var jobs []struct{ ID string }
		if err := json.Unmarshal([]byte(body), &jobs); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		var out []string
		for _, j := range jobs {
			out = append(out, j.ID)
		}
		return out
	}
	code, body := do(t, a, "GET", "/v1/jobs?prefix=page-&filter="+urlEscape(`ID != "page-b"`), "")
	if got := ids(body); code != 200 || fmt.Sprint(got) != "[page-a page-c]" {
		t.Errorf("filter = %d %v, want [page-a page-c]", code, got)
	}
	req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+"/v1/jobs?prefix=page-&per_page=2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	next := resp.Header.Get("X-Nomad-NextToken")
	if got := ids(string(b)); fmt.Sprint(got) != "[page-a page-b]" || next != "page-c" {
		t.Errorf("page 1 = %v next %q, want [page-a page-b] next page-c", got, next)
	}
	code, body = do(t, a, "GET", "/v1/jobs?prefix=page-&per_page=2&next_token="+next, "")
	if got := ids(body); code != 200 || fmt.Sprint(got) != "[page-c]" {
		t.Errorf("page 2 = %d %v, want [page-c]", code, got)
	}
	if code, _ := do(t, a, "GET", "/v1/jobs?filter="+urlEscape(`ID ==`), ""); code != 400 {
		t.Errorf("bad filter = %d, want 400", code)
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "=", "%3D", "!", "%21").Replace(s)
}

func TestHTTP_EvaluateAndCount(t *testing.T) {
	a := testServerAgent(t)
	if code, body := do(t, a, "PUT", "/v1/jobs", fmt.Sprintf(testJobJSON, "evaljob")); code != 200 {
		t.Fatalf("register = %d %s", code, body)
	}
	_, before := do(t, a, "GET", "/v1/evaluations/count", "")
	code, body := do(t, a, "PUT", "/v1/job/evaljob/evaluate", "")
	if code != 200 || !strings.Contains(body, "EvalID") {
		t.Fatalf("evaluate = %d %s", code, body)
	}
	_, after := do(t, a, "GET", "/v1/evaluations/count", "")
	var b, c struct{ Count int }
	_ = json.Unmarshal([]byte(before), &b)
	_ = json.Unmarshal([]byte(after), &c)
	if c.Count != b.Count+1 {
		t.Errorf("eval count %d → %d, want one more", b.Count, c.Count)
	}
	if code, _ := do(t, a, "PUT", "/v1/job/missing/evaluate", ""); code != 404 {
		t.Errorf("evaluate missing job = %d, want 404", code)
	}
	if code, _ := do(t, a, "PUT", "/v1/node/missing/purge", ""); code != 404 {
		t.Errorf("purge missing node = %d, want 404", code)
	}
}
