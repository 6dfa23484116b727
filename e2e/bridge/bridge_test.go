//go:build e2e

// Package bridge tests `network { mode = "bridge" }` with real agents,
// namespaces and iptables rules: tasks of a group share localhost, the
// host reaches a mapped port at the node address, a group's upstreams are
// served on its own localhost, and the namespace, veth and rules are gone
// once the allocation stops, also when the client was killed meanwhile.
package bridge

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/docker"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/e2e/e2eutil"
	"github.com/nomadish/nomadish/nomadish/client/network"
)

type allocStub struct {
	ID            string
	ClientStatus  string
	DesiredStatus string
	NetworkStatus *struct {
		InterfaceName string
		Address       string
	}
	TaskStates map[string]struct {
		State  string
		Events []struct{ Type, DisplayMessage string }
	}
	AllocatedResources struct {
		Shared struct {
			Ports []struct {
				Label  string
				Value  int
				To     int
				HostIP string
			}
		}
	}
}

// bridge is a bridge and subnet of one test's own, so tests and other
// agents on the host do not share addresses.
type bridge struct{ name, subnet string }

func newBridge(t *testing.T, n int) *bridge {
	t.Helper()
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "bridge networking needs root")
	}
	for _, tool := range []string{"ip", "iptables", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			drivertest.SkipOrFail(t, "bridge networking e2e needs %s: %v", tool, err)
		}
	}
	pid := os.Getpid()
	b := &bridge{name: fmt.Sprintf("nshe%d%d", pid%10000, n), subnet: fmt.Sprintf("10.%d.%d.0/24", 100+pid%50, (pid+n)%250)}
	t.Cleanup(func() {
		m, err := network.New(network.Config{BridgeName: b.name, Subnet: b.subnet, StateDir: t.TempDir()})
		if err == nil {
			err = m.RemoveBridge(context.Background())
		}
		if err != nil {
			t.Errorf("remove test bridge: %v", err)
		}
	})
	return b
}

func (b *bridge) clientConfig() string {
	return fmt.Sprintf("  bridge_network_name   = %q\n  bridge_network_subnet = %q\n", b.name, b.subnet)
}

func runningAlloc(a *e2eutil.Agent, job string, tasks ...string) (*allocStub, error) {
	var allocs []allocStub
	if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		return nil, err
	}
	for _, al := range allocs {
		if al.DesiredStatus != "run" {
			continue
		}
		var full allocStub
		if err := a.GetJSON("/v1/allocation/"+al.ID, &full); err != nil {
			return nil, err
		}
		for _, task := range tasks {
			if ts := full.TaskStates[task]; ts.State != "running" {
				return nil, fmt.Errorf("task %s is %q: %+v", task, ts.State, ts.Events)
			}
		}
		return &full, nil
	}
	return nil, fmt.Errorf("no allocation of %s to run: %+v", job, allocs)
}

func catFile(a *e2eutil.Agent, alloc, path string) (string, error) {
	code, body, err := a.Get("/v1/client/fs/cat/" + alloc + "?path=" + path)
	if err != nil {
		return "", err
	}
	if code != 200 {
		return "", fmt.Errorf("cat %s: %d %s", path, code, body)
	}
	return body, nil
}

// leftovers lists what of an allocation's network is still on the host.
func leftovers(allocID string) []string {
	var out []string
	if _, err := os.Lstat("/var/run/netns/nomadish-" + allocID); err == nil {
		out = append(out, "namespace nomadish-"+allocID)
	}
	veth := "nsh" + strings.ReplaceAll(allocID, "-", "")[:12]
	if _, err := net.InterfaceByName(veth); err == nil {
		out = append(out, "veth "+veth)
	}
	rules, _ := exec.Command("iptables", "-w", "10", "-t", "nat", "-S").CombinedOutput()
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.Contains(line, allocID) {
			out = append(out, "rule "+line)
		}
	}
	return out
}

func hostPort(al *allocStub, label string) (int, string) {
	for _, p := range al.AllocatedResources.Shared.Ports {
		if p.Label == label {
			return p.Value, p.HostIP
		}
	}
	return 0, ""
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func waitGone(t *testing.T, allocID string) {
	t.Helper()
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		if left := leftovers(allocID); len(left) > 0 {
			return fmt.Errorf("still on the host: %v", left)
		}
		return nil
	})
}

// TestPod runs jobspecs/bridge.nomad.hcl, an exec and a raw_exec task in
// one bridge-mode group: the raw_exec task reads the exec task's server
// from 127.0.0.1, the host reaches it at the node address and the mapped
// port, and stopping the job removes the namespace, veth and rules.
func TestPod(t *testing.T) {
	b := newBridge(t, 1)
	a := e2eutil.StartDevAgent(t, "client {\n"+b.clientConfig()+"}\n")
	if out, errOut, code := a.CLI("job", "run", "-detach", "../../jobspecs/bridge.nomad.hcl"); code != 0 {
		t.Fatalf("job run pod = %d\n%s\n%s", code, out, errOut)
	}
	var al *allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		al, err = runningAlloc(a, "pod", "server", "client")
		return err
	})
	if al.NetworkStatus == nil || al.NetworkStatus.InterfaceName != "eth0" || !strings.HasPrefix(al.NetworkStatus.Address, strings.TrimSuffix(b.subnet, "0/24")) {
		t.Fatalf("NetworkStatus = %+v, want eth0 with an address in %s", al.NetworkStatus, b.subnet)
	}
	addr := al.NetworkStatus.Address
	want := fmt.Sprintf("hello from %s:8080\n", addr)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		got, err := catFile(a, al.ID, "alloc/data/got")
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("client task got %q, want %q", got, want)
		}
		return nil
	})
	// The raw_exec task sees the namespace's interfaces, not the host's.
	// It writes them after "got", so wait for the whole table.
	var ifaces string
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var err error
		ifaces, err = catFile(a, al.ID, "alloc/data/interfaces")
		if err != nil {
			return err
		}
		if !strings.Contains(ifaces, " lo:") || !strings.HasSuffix(ifaces, "\n") {
			return fmt.Errorf("interfaces file not written yet: %q", ifaces)
		}
		return nil
	})
	if !strings.Contains(ifaces, "eth0:") || strings.Contains(ifaces, "docker0") || strings.Contains(ifaces, b.name) {
		t.Errorf("interfaces seen by the raw_exec task:\n%s\nwant the namespace's lo and eth0 only", ifaces)
	}

	port, nodeIP := hostPort(al, "http")
	if port == 0 || nodeIP == "" {
		t.Fatalf("allocation has no http port: %+v", al.AllocatedResources)
	}
	for _, host := range []string{nodeIP, "127.0.0.1"} {
		url := fmt.Sprintf("http://%s/", net.JoinHostPort(host, fmt.Sprint(port)))
		if got, err := get(url); err != nil || got != want {
			t.Errorf("GET %s from the host = %q, %v, want %q", url, got, err, want)
		}
	}
	if left := leftovers(al.ID); len(left) < 3 {
		t.Errorf("while running, the host has %v; want the namespace, the veth and DNAT rules", left)
	}

	if out, errOut, code := a.CLI("job", "stop", "-detach", "pod"); code != 0 {
		t.Fatalf("job stop = %d\n%s\n%s", code, out, errOut)
	}
	waitGone(t, al.ID)
	if got, err := get(fmt.Sprintf("http://%s/", net.JoinHostPort(nodeIP, fmt.Sprint(port)))); err == nil {
		t.Errorf("mapped port answers %q after the job stopped", got)
	}
}

// TestCleanupAfterClientCrash kills the client agent with SIGKILL while a
// bridge-mode allocation runs, stops the job meanwhile, and restarts the
// client on its data dir: the namespace, veth and rules go with the
// allocation.
func TestCleanupAfterClientCrash(t *testing.T) {
	b := newBridge(t, 2)
	sports := e2eutil.FreePorts(t, 3)
	srv := e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: sports, Config: `name = "bridge-server"
server {
  enabled          = true
  bootstrap_expect = 1
}
`})
	cports := e2eutil.FreePorts(t, 3)
	cdata := t.TempDir()
	ccfg := fmt.Sprintf(`name = "bridge-client"
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
	if out, errOut, code := srv.CLI("job", "run", "-detach", "input/sleeper.nomad.hcl"); code != 0 {
		t.Fatalf("job run sleeper = %d\n%s\n%s", code, out, errOut)
	}
	var al *allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		al, err = runningAlloc(srv, "sleeper", "sleep")
		return err
	})
	if left := leftovers(al.ID); len(left) < 3 {
		t.Fatalf("while running, the host has %v; want the namespace, the veth and DNAT rules", left)
	}

	cl.Kill()
	if out, errOut, code := srv.CLI("job", "stop", "-detach", "sleeper"); code != 0 {
		t.Fatalf("job stop = %d\n%s\n%s", code, out, errOut)
	}
	// Nothing removes them while the client is away.
	time.Sleep(time.Second)
	if left := leftovers(al.ID); len(left) < 3 {
		t.Fatalf("with the client killed, the host has %v; want everything still there", left)
	}
	e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: cports, DataDir: cdata, Config: ccfg}) // the restarted client cleans up
	waitGone(t, al.ID)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var got allocStub
		if err := srv.GetJSON("/v1/allocation/"+al.ID, &got); err != nil {
			return err
		}
		if got.ClientStatus != "complete" {
			return fmt.Errorf("client status %q", got.ClientStatus)
		}
		return nil
	})
}

const (
	containerdAddress = "/var/run/docker/containerd/containerd.sock"
	containerdNS      = "nomadish-e2e-bridge"
	image             = "nomadish-busybox:e2e"
)

// TestContainers puts a docker and a containerd task in one bridge-mode
// group: the namespace is the docker driver's pause container's, the
// containerd task joins it by path and reads the docker task's server from
// 127.0.0.1, and the host reaches it on the mapped port.
func TestContainers(t *testing.T) {
	b := newBridge(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := docker.BuildBusyboxImage(ctx, "", image, "/bin/busybox"); err != nil {
		drivertest.SkipOrFail(t, "build %s: %v", image, err)
	}
	ref, err := containerd.ImportFromDocker(ctx, containerdAddress, containerdNS, containerd.DefaultSnapshotter, image)
	if err != nil {
		drivertest.SkipOrFail(t, "import %s into containerd: %v", image, err)
	}
	a := e2eutil.StartDevAgent(t, fmt.Sprintf(`client {
%s}
plugin "containerd" {
  config {
    address   = %q
    namespace = %q
  }
}
`, b.clientConfig(), containerdAddress, containerdNS))
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "docker_image="+image, "-var", "containerd_image="+ref, "input/containers.nomad.hcl"); code != 0 {
		t.Fatalf("job run containers = %d\n%s\n%s", code, out, errOut)
	}
	var al *allocStub
	e2eutil.WaitFor(t, 90*time.Second, func() error {
		var err error
		al, err = runningAlloc(a, "containers", "web", "fetch")
		return err
	})
	if al.NetworkStatus == nil || al.NetworkStatus.Address == "" {
		t.Fatalf("NetworkStatus = %+v, want an address", al.NetworkStatus)
	}
	want := fmt.Sprintf("hello from docker at %s\n", al.NetworkStatus.Address)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		got, err := catFile(a, al.ID, "alloc/data/got")
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("containerd task got %q, want %q", got, want)
		}
		return nil
	})
	port, nodeIP := hostPort(al, "http")
	url := fmt.Sprintf("http://%s/", net.JoinHostPort(nodeIP, fmt.Sprint(port)))
	if got, err := get(url); err != nil || got != want {
		t.Errorf("GET %s from the host = %q, %v, want %q", url, got, err, want)
	}
	pause, err := exec.Command("docker", "ps", "-q", "--filter", "label="+docker.LabelPause, "--filter", "label="+docker.LabelAllocID+"="+al.ID).Output()
	if err != nil || len(strings.Fields(string(pause))) != 1 {
		t.Fatalf("pause containers of the allocation = %q, %v, want one", pause, err)
	}

	if out, errOut, code := a.CLI("job", "stop", "-detach", "containers"); code != 0 {
		t.Fatalf("job stop = %d\n%s\n%s", code, out, errOut)
	}
	waitGone(t, al.ID)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.LabelAllocID+"="+al.ID).Output()
		if err != nil {
			return err
		}
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			return fmt.Errorf("containers of the allocation left: %v", ids)
		}
		return nil
	})
}
