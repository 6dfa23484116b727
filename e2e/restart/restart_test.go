//go:build e2e

// Package restart tests that a client restarted on its data dir
// re-attaches to the containers it runs on the real Docker Engine and
// containerd instead of starting them again.
package restart

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/e2e/e2eutil"
)

const (
	containerdAddress = "/var/run/docker/containerd/containerd.sock"
	namespace         = "nomadish-e2e-restart"
	image             = "nomadish-busybox:e2e"
)

type taskState struct {
	State     string
	StartedAt time.Time
	Events    []struct{ Type, DisplayMessage string }
}

type allocStub struct {
	ID            string
	TaskGroup     string
	ClientStatus  string
	DesiredStatus string
	TaskStates    map[string]taskState
}

// snapshot is what must not change across the client restart.
type snapshot struct {
	dockerContainer string
	containerdPid   string
	startedAt       map[string]time.Time
	events          map[string]int
}

func agentConfig() string {
	return fmt.Sprintf(`name = "restart"
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
}
plugin "containerd" {
  config {
    address   = %q
    namespace = %q
  }
}
`, containerdAddress, namespace)
}

func prepareImages(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := docker.BuildBusyboxImage(ctx, "", image, "/bin/busybox"); err != nil {
		t.Fatalf("build %s: %v", image, err)
	}
	ref, err := containerd.ImportFromDocker(ctx, containerdAddress, namespace, containerd.DefaultSnapshotter, image)
	if err != nil {
		t.Fatalf("import %s into containerd: %v", image, err)
	}
	return ref
}

func waitReady(t *testing.T, a *e2eutil.Agent) {
	t.Helper()
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var nodes []struct {
			Status  string
			Drivers map[string]struct{ Healthy bool }
		}
		if err := a.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0].Status != "ready" || !nodes[0].Drivers["docker"].Healthy || !nodes[0].Drivers["containerd"].Healthy {
			return fmt.Errorf("node not ready with docker and containerd: %+v", nodes)
		}
		return nil
	})
}

func allocs(a *e2eutil.Agent) (map[string]allocStub, error) {
	var all []allocStub
	if err := a.GetJSON("/v1/job/containers/allocations", &all); err != nil {
		return nil, err
	}
	out := map[string]allocStub{}
	for _, al := range all {
		if al.DesiredStatus == "run" {
			out[al.TaskGroup] = al
		}
	}
	return out, nil
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %v: %v: %s", name, args, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// dockerContainers are the running containers of an alloc.
func dockerContainers(allocID string) (string, error) {
	return run("docker", "ps", "-q", "--no-trunc", "--filter", "label="+docker.LabelAllocID+"="+allocID)
}

// containerdTasks maps task ID to "pid status" in the test namespace.
func containerdTasks() (map[string]string, error) {
	out, err := run("ctr", "-a", containerdAddress, "-n", namespace, "tasks", "ls")
	if err != nil {
		return nil, err
	}
	tasks := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 3 {
			tasks[f[0]] = f[1] + " " + f[2]
		}
	}
	return tasks, nil
}

func take(a *e2eutil.Agent) (*snapshot, error) {
	al, err := allocs(a)
	if err != nil {
		return nil, err
	}
	d, c := al["d"], al["c"]
	if d.TaskStates["docker"].State != "running" || c.TaskStates["containerd"].State != "running" {
		return nil, fmt.Errorf("tasks not running: docker %q, containerd %q", d.TaskStates["docker"].State, c.TaskStates["containerd"].State)
	}
	s := &snapshot{
		startedAt: map[string]time.Time{"docker": d.TaskStates["docker"].StartedAt, "containerd": c.TaskStates["containerd"].StartedAt},
		events:    map[string]int{},
	}
	for task, st := range map[string]taskState{"docker": d.TaskStates["docker"], "containerd": c.TaskStates["containerd"]} {
		for _, e := range st.Events {
			if e.Type == "Started" || e.Type == "Restarting" || e.Type == "Killed" {
				s.events[task+" "+e.Type]++
			}
		}
	}
	if s.dockerContainer, err = dockerContainers(d.ID); err != nil {
		return nil, err
	}
	if s.dockerContainer == "" || strings.Contains(s.dockerContainer, "\n") {
		return nil, fmt.Errorf("docker containers of alloc %s = %q, want one", d.ID, s.dockerContainer)
	}
	tasks, err := containerdTasks()
	if err != nil {
		return nil, err
	}
	var running []string
	for id, st := range tasks {
		if strings.HasSuffix(st, "RUNNING") {
			running = append(running, id+" "+st)
		}
	}
	sort.Strings(running)
	if len(running) != 1 {
		return nil, fmt.Errorf("containerd tasks = %v, want one running", tasks)
	}
	s.containerdPid = running[0]
	return s, nil
}

func TestClientRestartReattachesContainers(t *testing.T) {
	ref := prepareImages(t)
	var allocIDs []string
	cleanupContainers(nil)
	t.Cleanup(func() { cleanupContainers(allocIDs) })
	a := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: agentConfig()})
	ports, dataDir := a.Ports, a.DataDir
	waitReady(t, a)

	if _, errOut, code := a.CLI("job", "run", "-detach", "-var", "docker_image="+image, "-var", "containerd_image="+ref, "input/containers.nomad.hcl"); code != 0 {
		t.Fatalf("job run exit %d: %s", code, errOut)
	}
	var before *snapshot
	e2eutil.WaitFor(t, 90*time.Second, func() error {
		var err error
		before, err = take(a)
		return err
	})
	al, err := allocs(a)
	if err != nil {
		t.Fatal(err)
	}
	allocIDs = []string{al["d"].ID, al["c"].ID}
	t.Logf("before: docker %s, containerd %s, started %v", before.dockerContainer[:12], before.containerdPid, before.startedAt)

	a.Kill()
	if now, err := take2(before); err != nil {
		t.Fatalf("after kill -9 of the agent: %v", err)
	} else if now != "" {
		t.Fatalf("after kill -9 of the agent: %s", now)
	}

	a = e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: agentConfig(), Ports: ports, DataDir: dataDir})
	waitReady(t, a)
	// The restored client must report the same containers as running, and
	// keep doing so: poll for a while rather than once.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		after, err := take(a)
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		if after.dockerContainer != before.dockerContainer || after.containerdPid != before.containerdPid {
			t.Fatalf("after restart: docker %s, containerd %s; want docker %s, containerd %s (re-attached, not restarted)",
				after.dockerContainer, after.containerdPid, before.dockerContainer, before.containerdPid)
		}
		for task, at := range before.startedAt {
			if !after.startedAt[task].Equal(at) {
				t.Fatalf("after restart: %s StartedAt %v, want %v", task, after.startedAt[task], at)
			}
		}
		if fmt.Sprint(after.events) != fmt.Sprint(before.events) {
			t.Fatalf("after restart: task events %v, want %v (no new start, restart or kill)", after.events, before.events)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Proof that the new client watches the containers: it notices when
	// they are killed behind its back.
	if _, err := run("docker", "kill", before.dockerContainer); err != nil {
		t.Fatal(err)
	}
	ctrID := strings.Fields(before.containerdPid)[0]
	if _, err := run("ctr", "-a", containerdAddress, "-n", namespace, "tasks", "kill", "-s", "SIGKILL", ctrID); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var d, c allocStub
		if err := a.GetJSON("/v1/allocation/"+allocIDs[0], &d); err != nil {
			return err
		}
		if err := a.GetJSON("/v1/allocation/"+allocIDs[1], &c); err != nil {
			return err
		}
		if d.TaskStates["docker"].State != "dead" || c.TaskStates["containerd"].State != "dead" {
			return fmt.Errorf("after killing the containers: docker %q, containerd %q, want both dead",
				d.TaskStates["docker"].State, c.TaskStates["containerd"].State)
		}
		return nil
	})

	if _, errOut, code := a.CLI("job", "stop", "-detach", "containers"); code != 0 {
		t.Fatalf("job stop exit %d: %s", code, errOut)
	}
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		if ids, err := run("docker", "ps", "-aq", "--filter", "label="+docker.LabelAllocID+"="+allocIDs[0]); err != nil || ids != "" {
			return fmt.Errorf("docker containers left: %q, %v", ids, err)
		}
		if tasks, err := containerdTasks(); err != nil || len(tasks) != 0 {
			return fmt.Errorf("containerd tasks left: %v, %v", tasks, err)
		}
		if cs, err := run("ctr", "-a", containerdAddress, "-n", namespace, "containers", "ls", "-q"); err != nil || cs != "" {
			return fmt.Errorf("containerd containers left: %q, %v", cs, err)
		}
		return nil
	})
}

// take2 checks, without an agent, that the containers of before still run.
func take2(before *snapshot) (string, error) {
	out, err := run("docker", "inspect", "-f", "{{.State.Running}}", before.dockerContainer)
	if err != nil {
		return "", err
	}
	if out != "true" {
		return "docker container stopped with the agent", nil
	}
	tasks, err := containerdTasks()
	if err != nil {
		return "", err
	}
	id := strings.Fields(before.containerdPid)[0]
	if got := id + " " + tasks[id]; got != before.containerdPid {
		return fmt.Sprintf("containerd task %q, want %q", got, before.containerdPid), nil
	}
	return "", nil
}

// cleanupContainers removes what a failed run left in the runtimes (a
// non-dev agent leaves its tasks running when it stops, by design): the
// docker containers of the test's allocations and everything in the
// test's containerd namespace.
func cleanupContainers(allocIDs []string) {
	for _, alloc := range allocIDs {
		ids, _ := run("docker", "ps", "-aq", "--filter", "label="+docker.LabelAllocID+"="+alloc)
		for _, id := range strings.Fields(ids) {
			_, _ = run("docker", "rm", "-f", id)
		}
	}
	cs, _ := run("ctr", "-a", containerdAddress, "-n", namespace, "containers", "ls", "-q")
	for _, id := range strings.Fields(cs) {
		_, _ = run("ctr", "-a", containerdAddress, "-n", namespace, "tasks", "kill", "-s", "SIGKILL", id)
		_, _ = run("ctr", "-a", containerdAddress, "-n", namespace, "tasks", "rm", "-f", id)
		_, _ = run("ctr", "-a", containerdAddress, "-n", namespace, "containers", "rm", id)
	}
}
