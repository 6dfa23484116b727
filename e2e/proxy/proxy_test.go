//go:build e2e

// Package proxy tests the client's service proxy with real raw_exec tasks:
// a "front" service reaches a three-instance "backend" service through
// its upstream (NOMAD_UPSTREAM_ADDR_backend, served by the client), one
// backend instance is killed while requests keep flowing, and no request
// fails once the check interval has passed.
package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// checkInterval is the backend's check interval (input/backend.nomad.hcl).
const checkInterval = time.Second

type registration struct {
	ID, ServiceName, AllocID, Address, Status string
	Port                                      int
}

func instances(a *e2eutil.Agent, name string) ([]registration, error) {
	var regs []registration
	err := a.GetJSON("/v1/service/"+name, &regs)
	return regs, err
}

// buildPinger builds the test workload (testdata/pinger).
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

// result is one request of the load.
type result struct {
	start   time.Time
	via     string
	backend string
	err     error
}

type recorder struct {
	mu      sync.Mutex
	results []result
}

func (r *recorder) add(res result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
}

// since returns the results of requests started at or after t.
func (r *recorder) since(t time.Time) []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []result
	for _, res := range r.results {
		if !res.start.Before(t) {
			out = append(out, res)
		}
	}
	return out
}

func (r *recorder) between(from, to time.Time) []result {
	var out []result
	for _, res := range r.since(from) {
		if res.start.Before(to) {
			out = append(out, res)
		}
	}
	return out
}

// load sends GET url on a new connection every few milliseconds until
// ctx ends; backendOf reads the answering backend from the body.
func load(ctx context.Context, wg *sync.WaitGroup, rec *recorder, via, url string, backendOf func(string) (string, error)) {
	defer wg.Done()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for ctx.Err() == nil {
		res := result{start: time.Now(), via: via}
		resp, err := client.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
			default:
				res.backend, err = backendOf(string(body))
			}
		}
		res.err = err
		if ctx.Err() != nil {
			return
		}
		rec.add(res)
		time.Sleep(5 * time.Millisecond)
	}
}

// summary counts answers by backend and lists failures.
func summary(rs []result) (byBackend map[string]int, failures []string) {
	byBackend = map[string]int{}
	for _, r := range rs {
		if r.err != nil {
			failures = append(failures, fmt.Sprintf("%s %s: %v", r.start.Format("15:04:05.000"), r.via, r.err))
			continue
		}
		byBackend[r.backend]++
	}
	return byBackend, failures
}

func TestUpstreamThroughTheClientProxy(t *testing.T) {
	bin := buildPinger(t)
	upstreamPort := e2eutil.FreePorts(t, 1)[0]
	upstream := "127.0.0.1:" + strconv.Itoa(upstreamPort)
	a := e2eutil.StartDevAgent(t, "")

	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "bin="+bin, "input/backend.nomad.hcl"); code != 0 {
		t.Fatalf("job run backend = %d\n%s\n%s", code, out, errOut)
	}
	var backends []registration
	e2eutil.WaitFor(t, 90*time.Second, func() error {
		regs, err := instances(a, "backend")
		if err != nil {
			return err
		}
		passing := 0
		for _, r := range regs {
			if r.Status == "passing" {
				passing++
			}
		}
		if len(regs) != 3 || passing != 3 {
			return fmt.Errorf("want 3 passing backend instances, got %+v", regs)
		}
		backends = regs
		return nil
	})
	allocs := map[string]bool{}
	for _, r := range backends {
		allocs[r.AllocID] = true
	}

	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "bin="+bin, "-var", "upstream_port="+strconv.Itoa(upstreamPort), "input/front.nomad.hcl"); code != 0 {
		t.Fatalf("job run front = %d\n%s\n%s", code, out, errOut)
	}
	var fronts []registration
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		regs, err := instances(a, "front")
		if err != nil {
			return err
		}
		if len(regs) != 2 {
			return fmt.Errorf("want 2 front instances, got %+v", regs)
		}
		fronts = regs
		return nil
	})
	frontURL := fmt.Sprintf("http://%s/", net.JoinHostPort(fronts[0].Address, strconv.Itoa(fronts[0].Port)))

	// The front task reaches a backend through NOMAD_UPSTREAM_ADDR_backend.
	viaFront := func(body string) (string, error) {
		_, rest, ok := strings.Cut(body, " via "+upstream+": ")
		if !ok {
			return "", fmt.Errorf("front answered %q, want it to go through %s", body, upstream)
		}
		return strings.TrimSpace(rest), nil
	}
	direct := func(body string) (string, error) { return strings.TrimSpace(body), nil }
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		resp, err := http.Get(frontURL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		b, err := viaFront(string(body))
		if err != nil {
			return err
		}
		if !allocs[b] {
			return fmt.Errorf("front answered through backend %q, not one of %v", b, allocs)
		}
		return nil
	})

	// Both front allocations share the client's one listener: neither
	// reports a listener it could not open.
	if evs := upstreamEvents(t, a, "front"); len(evs) > 0 {
		t.Errorf("front allocations report upstream problems:\n%s", strings.Join(evs, "\n"))
	}

	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go load(ctx, &wg, rec, "front", frontURL, viaFront)
	go load(ctx, &wg, rec, "direct", "http://"+upstream+"/", direct)
	defer func() {
		cancel()
		wg.Wait()
	}()

	// Phase 1: every instance gets traffic and nothing fails.
	begin := time.Now()
	time.Sleep(3 * time.Second)
	byBackend, failures := summary(rec.since(begin))
	if len(failures) > 0 {
		t.Fatalf("%d requests failed with every instance up:\n%s", len(failures), strings.Join(failures, "\n"))
	}
	for id := range allocs {
		if byBackend[id] == 0 {
			t.Fatalf("backend %s got no traffic: %v", id, byBackend)
		}
	}
	t.Logf("all up: %d requests, by backend %v", len(rec.since(begin)), byBackend)

	// Kill one instance's process.
	victim := backends[0].AllocID
	code, pidText, err := a.Get("/v1/client/fs/cat/" + victim + "?path=pinger/local/pid")
	if err != nil || code != 200 {
		t.Fatalf("read pid of %s: %d %v %s", victim, code, err, pidText)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidText))
	if err != nil {
		t.Fatalf("pid file %q: %v", pidText, err)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	// How long the servers take to drop the instance (the proxy follows
	// with its blocking query).
	for time.Since(killed) < 5*time.Second {
		regs, err := instances(a, "backend")
		gone := err == nil
		for _, r := range regs {
			if r.AllocID == victim && r.Status != "critical" {
				gone = false
			}
		}
		if gone {
			t.Logf("killed instance out of the healthy set %v after the kill", time.Since(killed).Round(time.Millisecond))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The task restarts after the restart delay (5s); watch the 3.5s
	// from one check interval after the kill.
	time.Sleep(time.Until(killed.Add(checkInterval + 3500*time.Millisecond)))
	window := rec.between(killed.Add(checkInterval), killed.Add(checkInterval+3500*time.Millisecond))
	byBackend, failures = summary(window)
	allAfter, allFailures := summary(rec.since(killed))
	t.Logf("after the kill: %d requests in the window, by backend %v; %d failures since the kill (%v)", len(window), byBackend, len(allFailures), allAfter)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed after the check interval:\n%s", len(failures), len(window), strings.Join(failures, "\n"))
	}
	if byBackend[victim] != 0 {
		t.Errorf("killed backend %s still answered %d requests after the check interval", victim, byBackend[victim])
	}
	for id := range allocs {
		if id != victim && byBackend[id] == 0 {
			t.Errorf("healthy backend %s got no traffic after the kill: %v", id, byBackend)
		}
	}
	if len(window) < 50 {
		t.Errorf("only %d requests in the window: the load stalled", len(window))
	}

	// The restarted instance registers again and gets traffic back.
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		b, _ := summary(rec.since(time.Now().Add(-time.Second)))
		if b[victim] == 0 {
			return fmt.Errorf("restarted backend %s has no traffic yet: %v", victim, b)
		}
		return nil
	})
	cancel()
	wg.Wait()
	all, allFailures := summary(rec.since(begin))
	// Only a request in flight on the killed instance may fail: one that
	// started just before the kill.
	for _, r := range rec.since(begin) {
		if r.err != nil && (r.start.Before(killed.Add(-time.Second)) || !r.start.Before(killed.Add(checkInterval))) {
			t.Errorf("request at %s (kill at %s) failed: %v", r.start.Format("15:04:05.000"), killed.Format("15:04:05.000"), r.err)
		}
	}
	t.Logf("whole run: %d requests, %d failed, by backend %v; killed at %s %s", len(rec.since(begin)), len(allFailures), all, killed.Format("15:04:05.000"), strings.Join(allFailures, "; "))

	// Stopping the front job releases the listener.
	if out, errOut, code := a.CLI("job", "stop", "-detach", "front"); code != 0 {
		t.Fatalf("job stop front = %d\n%s\n%s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		c, err := net.DialTimeout("tcp", upstream, time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("%s still accepts connections", upstream)
		}
		return nil
	})
}

// upstreamEvents returns the task events of the job's allocations that
// report an upstream the client could not serve.
func upstreamEvents(t *testing.T, a *e2eutil.Agent, job string) []string {
	t.Helper()
	var allocs []struct {
		ID         string
		TaskStates map[string]struct {
			Events []struct{ Type, DisplayMessage string }
		}
	}
	if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, al := range allocs {
		for _, ts := range al.TaskStates {
			for _, ev := range ts.Events {
				if strings.Contains(ev.DisplayMessage, "pstream") {
					out = append(out, al.ID+": "+ev.DisplayMessage)
				}
			}
		}
	}
	return out
}
