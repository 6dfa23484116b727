package agent

import (
	"net/http"
	"strings"
	"testing"
)

func TestHTTP_SystemGC(t *testing.T) {
	a := testServerAgent(t)
	req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/system/gc", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Nomad-Index") == "" {
		t.Errorf("PUT /v1/system/gc = %d, index %q; want 200 with an index", resp.StatusCode, resp.Header.Get("X-Nomad-Index"))
	}
	if code, _ := do(t, a, http.MethodGet, "/v1/system/gc", ""); code == http.StatusOK {
		t.Errorf("GET /v1/system/gc = 200, want an error: only PUT collects")
	}
}

func TestConfigGCOptions(t *testing.T) {
	fc, err := LoadConfigFile(writeFile(t, "agent.hcl", `
server {
  enabled                 = true
  job_gc_interval         = "1m"
  job_gc_threshold        = "2h"
  eval_gc_threshold       = "30m"
  batch_eval_gc_threshold = "12h"
  deployment_gc_threshold = "45m"
  node_gc_threshold       = "48h"
}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := DevConfig().Merge(fc)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if len(c.Unused) != 0 {
		t.Errorf("Unused = %v, want the gc options known", c.Unused)
	}
	s := c.Server
	got := []string{s.JobGCInterval, s.JobGCThreshold, s.EvalGCThreshold, s.BatchEvalGCThreshold, s.DeploymentGCThreshold, s.NodeGCThreshold}
	want := []string{"1m", "2h", "30m", "12h", "45m", "48h"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("gc options = %v, want %v", got, want)
	}
	for _, bad := range []string{`node_gc_threshold = "soon"`, `eval_gc_threshold = "-1h"`, `job_gc_interval = "0s"`} {
		fc, err := LoadConfigFile(writeFile(t, "agent.hcl", "server {\n  "+bad+"\n}\n"))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Fields(bad)[0]
		if err := DevConfig().Merge(fc).Validate(); err == nil || !strings.Contains(err.Error(), "server."+name) {
			t.Errorf("Validate() with %s = %v, want an error naming server.%s", bad, err, name)
		}
	}
}
