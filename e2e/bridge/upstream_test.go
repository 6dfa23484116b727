//go:build e2e

package bridge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// buildPinger builds the service proxy test's workload
// (e2e/proxy/testdata/pinger): an HTTP server answering with its name,
// or, given -upstream, with its name and what the upstream answered.
func buildPinger(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pinger")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nomadish/nomadish/e2e/proxy/testdata/pinger")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build pinger: %v\n%s", err, out)
	}
	return bin
}

// front is one bridge-mode front allocation, reached on its mapped port.
type front struct {
	allocID, url string
}

// getStatus fetches url and returns the status and body.
func getStatus(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// throughUpstream asks a front once and returns the backend that
// answered through its upstream at upstream.
func throughUpstream(f front, upstream string) (string, error) {
	code, body, err := getStatus(f.url)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("front %s: %d %s", f.allocID, code, strings.TrimSpace(body))
	}
	_, rest, ok := strings.Cut(body, " via "+upstream+": ")
	if !ok {
		return "", fmt.Errorf("front %s answered %q, want it to go through %s", f.allocID, body, upstream)
	}
	return strings.TrimSpace(rest), nil
}

// fronts returns the running front allocations.
func fronts(a *e2eutil.Agent) ([]front, error) {
	var allocs []allocStub
	if err := a.GetJSON("/v1/job/front/allocations", &allocs); err != nil {
		return nil, err
	}
	var out []front
	for _, al := range allocs {
		if al.DesiredStatus != "run" {
			continue
		}
		var full allocStub
		if err := a.GetJSON("/v1/allocation/"+al.ID, &full); err != nil {
			return nil, err
		}
		if ts := full.TaskStates["pinger"]; ts.State != "running" {
			return nil, fmt.Errorf("front %s: task is %q: %+v", al.ID, ts.State, ts.Events)
		}
		port, ip := hostPort(&full, "http")
		if port == 0 {
			return nil, fmt.Errorf("front %s has no http port", al.ID)
		}
		out = append(out, front{allocID: al.ID, url: fmt.Sprintf("http://%s/", net.JoinHostPort(ip, strconv.Itoa(port)))})
	}
	return out, nil
}

// upstreamEvents lists the task events of the job's allocations about
// upstreams the client could not serve.
func upstreamEvents(t *testing.T, a *e2eutil.Agent, job string) []string {
	t.Helper()
	var allocs []allocStub
	if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, al := range allocs {
		var full allocStub
		if err := a.GetJSON("/v1/allocation/"+al.ID, &full); err != nil {
			t.Fatal(err)
		}
		for _, ts := range full.TaskStates {
			for _, ev := range ts.Events {
				if strings.Contains(ev.DisplayMessage, "pstream") {
					out = append(out, al.ID+": "+ev.DisplayMessage)
				}
			}
		}
	}
	return out
}

// TestUpstreamInBridgeMode runs two bridge-mode "front" allocations with
// an upstream to "backend" (one host-mode and one bridge-mode instance):
// each front's task reaches both backends through
// $NOMAD_UPSTREAM_ADDR_backend, 127.0.0.1 in its own namespace, where the
// client opened a listener of its own for each allocation; the host's
// 127.0.0.1 has none. When the client is killed the listeners go with it
// (the fronts, still running, answer 502); the restarted client opens
// them again in the same namespaces, and stopping the job removes them
// with the namespaces.
func TestUpstreamInBridgeMode(t *testing.T) {
	b := newBridge(t, 4)
	bin := buildPinger(t)
	upstreamPort := e2eutil.FreePorts(t, 1)[0]
	upstream := "127.0.0.1:" + strconv.Itoa(upstreamPort)

	sports := e2eutil.FreePorts(t, 3)
	srv := e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: sports, Config: `name = "upstream-server"
server {
  enabled          = true
  bootstrap_expect = 1
}
`})
	cports := e2eutil.FreePorts(t, 3)
	cdata := t.TempDir()
	ccfg := fmt.Sprintf(`name = "upstream-client"
client {
  enabled = true
  servers = ["127.0.0.1:%d"]
%s}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, sports[1], b.clientConfig())
	cl := e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: cports, DataDir: cdata, Config: ccfg})
	// Deferred, so it runs before the agents are stopped.
	defer stopOnFailure(t, srv, "front", "backend")

	if out, errOut, code := srv.CLI("job", "run", "-detach", "-var", "bin="+bin, "input/upstream-backend.nomad.hcl"); code != 0 {
		t.Fatalf("job run backend = %d\n%s\n%s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 90*time.Second, func() error {
		var regs []struct{ AllocID, Status string }
		if err := srv.GetJSON("/v1/service/backend", &regs); err != nil {
			return err
		}
		passing := 0
		for _, r := range regs {
			if r.Status == "passing" {
				passing++
			}
		}
		if len(regs) != 2 || passing != 2 {
			return fmt.Errorf("want 2 passing backend instances, got %+v", regs)
		}
		return nil
	})

	if out, errOut, code := srv.CLI("job", "run", "-detach", "-var", "bin="+bin, "-var", "upstream_port="+strconv.Itoa(upstreamPort), "input/upstream-front.nomad.hcl"); code != 0 {
		t.Fatalf("job run front = %d\n%s\n%s", code, out, errOut)
	}
	var fs []front
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		if fs, err = fronts(srv); err != nil {
			return err
		}
		if len(fs) != 2 {
			return fmt.Errorf("want 2 running fronts, got %+v", fs)
		}
		return nil
	})

	// Each front reaches both backends through its own listener; requests
	// are new connections, balanced in turn.
	reachesBoth := func() error {
		for _, f := range fs {
			seen := map[string]int{}
			for range 6 {
				got, err := throughUpstream(f, upstream)
				if err != nil {
					return err
				}
				seen[got]++
			}
			if seen["host-backend"] == 0 || seen["bridge-backend"] == 0 || len(seen) != 2 {
				return fmt.Errorf("front %s reached %v, want host-backend and bridge-backend", f.allocID, seen)
			}
		}
		return nil
	}
	e2eutil.WaitFor(t, 30*time.Second, reachesBoth)
	if evs := upstreamEvents(t, srv, "front"); len(evs) > 0 {
		t.Errorf("front allocations report upstream problems:\n%s", strings.Join(evs, "\n"))
	}
	// The listeners live in the namespaces, not on the host.
	if c, err := net.DialTimeout("tcp", upstream, time.Second); err == nil {
		c.Close()
		t.Errorf("the host's %s accepts connections; want the upstream listeners only in the fronts' namespaces", upstream)
	}

	// The listeners are the client's: killed with it, while the fronts
	// keep running in their namespaces.
	cl.Kill()
	e2eutil.WaitFor(t, 10*time.Second, func() error {
		for _, f := range fs {
			code, body, err := getStatus(f.url)
			if err != nil {
				return fmt.Errorf("front %s with the client down: %v; want it to answer", f.allocID, err)
			}
			if code != http.StatusBadGateway {
				return fmt.Errorf("front %s with the client down = %d %q, want 502: its upstream is gone", f.allocID, code, body)
			}
		}
		return nil
	})

	// The restarted client opens them again in the same namespaces.
	restarted := time.Now()
	e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: cports, DataDir: cdata, Config: ccfg})
	e2eutil.WaitFor(t, 60*time.Second, reachesBoth)
	t.Logf("upstreams served again %v after the client restart began", time.Since(restarted).Round(time.Millisecond))
	again, err := fronts(srv)
	if err != nil || len(again) != 2 || again[0] != fs[0] && again[0] != fs[1] {
		t.Errorf("fronts after the client restart = %+v, %v; want the same two %+v", again, err, fs)
	}
	if evs := upstreamEvents(t, srv, "front"); len(evs) > 0 {
		t.Errorf("after the client restart, front allocations report upstream problems:\n%s", strings.Join(evs, "\n"))
	}

	if out, errOut, code := srv.CLI("job", "stop", "-detach", "front"); code != 0 {
		t.Fatalf("job stop front = %d\n%s\n%s", code, out, errOut)
	}
	for _, f := range fs {
		waitGone(t, f.allocID)
	}
	var backends []allocStub
	if err := srv.GetJSON("/v1/job/backend/allocations", &backends); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := srv.CLI("job", "stop", "-detach", "backend"); code != 0 {
		t.Fatalf("job stop backend = %d\n%s\n%s", code, out, errOut)
	}
	for _, al := range backends {
		waitGone(t, al.ID)
	}
}

// stopOnFailure, after a failed test, stops the jobs and waits a while for
// their allocations' namespaces, veths and rules to go, so that they are
// not left on the host.
func stopOnFailure(t *testing.T, a *e2eutil.Agent, jobs ...string) {
	if !t.Failed() {
		return
	}
	var ids []string
	for _, job := range jobs {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
			t.Logf("clean up: allocations of %s: %v", job, err)
		}
		for _, al := range allocs {
			ids = append(ids, al.ID)
		}
		a.CLI("job", "stop", "-detach", job)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for len(leftovers(id)) > 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if left := leftovers(id); len(left) > 0 {
			t.Logf("clean up: allocation %s left %v", id, left)
		}
	}
}
