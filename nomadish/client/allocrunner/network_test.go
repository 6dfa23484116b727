package allocrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/nomadish/client/internal/testdriver"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// netnsDriver is the test driver made able to join a group's namespace:
// it starts each task through nsenter(1) into cfg.NetworkNamespace, so the
// task is a real process in the real namespace.
type netnsDriver struct{ *testdriver.Driver }

func (d netnsDriver) Capabilities(ctx context.Context) (*drivers.Capabilities, error) {
	c, err := d.Driver.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	c.NetIsolationModes = []string{drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup}
	return c, nil
}

func (d netnsDriver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if cfg.NetworkNamespace != "" {
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return nil, err
		}
		var tc testdriver.TaskConfig
		if err := json.Unmarshal(cfg.DriverConfig, &tc); err != nil {
			return nil, err
		}
		tc = testdriver.TaskConfig{Command: nsenter, Args: append([]string{"--net=" + cfg.NetworkNamespace, "--", tc.Command}, tc.Args...)}
		c := *cfg
		c.DriverConfig, _ = json.Marshal(tc)
		cfg = &c
	}
	return d.Driver.StartTask(ctx, cfg)
}

// netHost is a bridge and subnet of this test process's own.
type netHost struct {
	bridge, subnet string
}

func needNetHost(t *testing.T) *netHost {
	t.Helper()
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "bridge networking tests need root")
	}
	for _, tool := range []string{"ip", "iptables", "nsenter", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			drivertest.SkipOrFail(t, "bridge networking tests need %s: %v", tool, err)
		}
	}
	pid := os.Getpid()
	return &netHost{bridge: fmt.Sprintf("nsha%d", pid%100000), subnet: fmt.Sprintf("10.%d.%d.0/24", 150+pid%50, pid%250)}
}

func (n *netHost) manager(t *testing.T) *network.Manager {
	t.Helper()
	m, err := network.New(network.Config{BridgeName: n.bridge, Subnet: n.subnet, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.RemoveBridge(context.Background()); err != nil {
			t.Errorf("remove test bridge: %v", err)
		}
	})
	return m
}

func (h *harness) netRunner(a *structs.Allocation, d drivers.DriverPlugin, nw Network) *AllocRunner {
	h.t.Helper()
	ar, err := New(&Config{
		Logger:    hclog.NewNullLogger(),
		Alloc:     a,
		Node:      func() *structs.Node { return &structs.Node{ID: "node1", Datacenter: "dc1"} },
		Region:    "global",
		AllocRoot: h.root,
		Drivers:   oneDriver{d},
		State:     h.store,
		OnUpdate:  h.rec.add,
		Network:   nw,
	})
	if err != nil {
		h.t.Fatalf("New() error = %v", err)
	}
	return ar
}

func bridgeAlloc(hostPort int, tasks ...*structs.Task) *structs.Allocation {
	a := testAlloc(structs.JobTypeService, tasks...)
	a.Job.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "bridge", DynamicPorts: []structs.Port{{Label: "http", To: 8080}}}}
	a.AllocatedResources = &structs.AllocatedResources{
		Tasks:  map[string]*structs.AllocatedTaskResources{},
		Shared: structs.AllocatedSharedResources{Ports: []structs.AllocatedPortMapping{{Label: "http", Value: hostPort, To: 8080, HostIP: "127.0.0.1"}}},
	}
	return a
}

// TestBridgeGroup runs a bridge-mode group of two tasks: one serves HTTP
// on the namespace's port 8080, the other fetches it from 127.0.0.1, and
// the host reaches it on the mapped host port. Once the allocation is
// stopped, its namespace and rules are gone.
func TestBridgeGroup(t *testing.T) {
	nh := needNetHost(t)
	h := newHarness(t)
	m := nh.manager(t)
	hostPort := freePort(t)
	a := bridgeAlloc(hostPort,
		&structs.Task{Name: "server", Config: sh(`echo "hello from $NOMAD_ALLOC_IP_http" > "$NOMAD_TASK_DIR/index.html"; exec busybox httpd -f -p "$NOMAD_ALLOC_PORT_http" -h "$NOMAD_TASK_DIR"`)},
		&structs.Task{Name: "client", Config: sh(`until busybox wget -q -O "$NOMAD_ALLOC_DIR/data/got" http://127.0.0.1:8080/; do sleep 0.1; done; exec sleep 60`)},
	)
	ar := h.netRunner(a, netnsDriver{h.driver}, m)
	start(t, ar)

	got := filepath.Join(h.root, a.ID, "alloc", "data", "got")
	waitFor(t, "the client task to fetch from the server over localhost", func() bool {
		b, _ := os.ReadFile(got)
		return len(b) > 0
	})
	st, ok := m.Status(a.ID)
	if !ok {
		t.Fatalf("no network recorded for the allocation")
	}
	if b, _ := os.ReadFile(got); string(b) != "hello from "+st.Address+"\n" {
		t.Errorf("client task got %q, want the server's page with its address %s", b, st.Address)
	}
	if ns := ar.Alloc().NetworkStatus; ns == nil || ns.Address != st.Address || ns.InterfaceName != "eth0" {
		t.Errorf("Alloc().NetworkStatus = %+v, want eth0 %s", ns, st.Address)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", hostPort))
	if err != nil {
		t.Fatalf("host to mapped port %d: %v", hostPort, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello from "+st.Address+"\n" {
		t.Errorf("host to mapped port = %q", body)
	}

	ar.Kill()
	waitDone(t, ar)
	if _, err := os.Lstat(st.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s after the allocation stopped: %v, want gone", st.Path, err)
	}
	if _, ok := m.Status(a.ID); ok {
		t.Errorf("network record kept after the allocation stopped")
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort), time.Second); err == nil {
		c.Close()
		t.Errorf("mapped port %d still answers after the allocation stopped", hostPort)
	}
}

// TestBridgeDriverCannotJoin fails a bridge-mode allocation whose driver
// cannot join a group namespace, with a clear event, instead of running
// its task on the host.
func TestBridgeDriverCannotJoin(t *testing.T) {
	h := newHarness(t)
	m, err := network.New(network.Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a := bridgeAlloc(20000, &structs.Task{Name: "web", Config: sh("sleep 60")})
	ar := h.netRunner(a, h.driver, m)
	start(t, ar)
	waitDone(t, ar)
	got := ar.Alloc()
	ts := got.TaskStates["web"]
	if got.ClientStatus != structs.AllocClientStatusFailed || !ts.Failed {
		t.Fatalf("ClientStatus = %s, task failed %v; want a failed allocation", got.ClientStatus, ts.Failed)
	}
	var msg string
	for _, e := range ts.Events {
		if e.Type == structs.TaskSetupFailure {
			msg = e.DisplayMessage
		}
	}
	if !strings.Contains(msg, `driver "test_exec" cannot join the group's network namespace`) {
		t.Errorf("setup failure event = %q, want it to name the driver that cannot join", msg)
	}
	if started, _ := h.driver.Counts(); started != 0 {
		t.Errorf("StartTask called %d times, want 0", started)
	}
	if _, ok := m.Status(a.ID); ok {
		t.Errorf("a network was recorded for an allocation that could not run")
	}
}

// TestUnsupportedNetworkMode fails an allocation whose mode the client
// cannot run (one that slipped past job validation, such as a CNI network).
func TestUnsupportedNetworkMode(t *testing.T) {
	h := newHarness(t)
	a := testAlloc(structs.JobTypeService, &structs.Task{Name: "web", Config: sh("sleep 60")})
	a.Job.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "cni/mynet"}}
	ar := h.netRunner(a, h.driver, nil)
	start(t, ar)
	waitDone(t, ar)
	ts := ar.Alloc().TaskStates["web"]
	if !ts.Failed || len(ts.Events) == 0 || !strings.Contains(ts.Events[len(ts.Events)-1].DisplayMessage, `network mode "cni/mynet" is not supported`) {
		t.Fatalf("task state = %+v, want failed with the unsupported mode named", ts)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServiceAddressBridge resolves address_mode "alloc" of a bridge-mode
// allocation to its own address and `to` port; host mode keeps the node's.
func TestServiceAddressBridge(t *testing.T) {
	alloc := &structs.Allocation{
		AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
			Ports: []structs.AllocatedPortMapping{{Label: "http", Value: 25000, To: 8080, HostIP: "10.1.2.3"}, {Label: "raw", Value: 25001, HostIP: "10.1.2.3"}},
		}},
		NetworkStatus: &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.9"},
	}
	tests := []struct {
		label, mode string
		addr        string
		port        int
	}{
		{"http", "alloc", "172.26.64.9", 8080},
		{"raw", "alloc", "172.26.64.9", 25001},
		{"http", "host", "10.1.2.3", 25000},
		{"http", "auto", "10.1.2.3", 25000},
	}
	for _, tc := range tests {
		addr, port, err := serviceAddress(alloc, nil, tc.label, tc.mode, "task")
		if err != nil || addr != tc.addr || port != tc.port {
			t.Errorf("serviceAddress(%q, %q) = %s, %d, %v, want %s, %d", tc.label, tc.mode, addr, port, err, tc.addr, tc.port)
		}
	}
}
