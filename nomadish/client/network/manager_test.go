package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers/drivertest"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{BridgeName: DefaultBridgeName, Subnet: DefaultSubnet, StateDir: "/x"}, ""},
		{"long bridge name", Config{BridgeName: "a-very-long-bridge", Subnet: DefaultSubnet, StateDir: "/x"}, "longer than 15"},
		{"slash in bridge name", Config{BridgeName: "br/0", Subnet: DefaultSubnet, StateDir: "/x"}, "must not contain"},
		{"not a cidr", Config{BridgeName: "br0", Subnet: "10.1.2.3", StateDir: "/x"}, "is not a CIDR"},
		{"ipv6", Config{BridgeName: "br0", Subnet: "fd00::/64", StateDir: "/x"}, "not an IPv4 subnet"},
		{"too small", Config{BridgeName: "br0", Subnet: "10.0.0.0/30", StateDir: "/x"}, "too small"},
		{"no state dir", Config{BridgeName: "br0", Subnet: DefaultSubnet}, "state dir is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestRequestValidate(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"path in alloc id", Request{AllocID: "../etc", Mode: ModeBridge}, "only letters"},
		{"empty alloc id", Request{Mode: ModeBridge}, "want 1 to 64"},
		{"cni mode", Request{AllocID: "a1", Mode: "cni/mynet"}, `network mode "cni/mynet"`},
		{"host port", Request{AllocID: "a1", Mode: ModeBridge, Ports: []PortMapping{{Label: "http", HostPort: 70000}}}, `port "http": host port 70000`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Setup(context.Background(), &tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Setup(%+v) = %v, want error containing %q", tc.req, err, tc.wantErr)
			}
		})
	}
}

// TestAddresses checks address assignment without touching the host: a
// /29 has five allocation addresses after the gateway; they are kept
// across a restart, freed ones come back, and running out is an error.
func TestAddresses(t *testing.T) {
	dir := t.TempDir()
	m, err := New(Config{StateDir: dir, Subnet: "10.99.0.0/29"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 1; i <= 5; i++ {
		rec, fresh, err := m.reserve(&Request{AllocID: fmt.Sprintf("a%d", i), Mode: ModeBridge})
		if err != nil || !fresh {
			t.Fatalf("reserve(a%d) = %v, fresh %v", i, err, fresh)
		}
		got = append(got, rec.Address)
	}
	want := []string{"10.99.0.2/29", "10.99.0.3/29", "10.99.0.4/29", "10.99.0.5/29", "10.99.0.6/29"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("addresses = %v, want %v", got, want)
	}
	if _, _, err := m.reserve(&Request{AllocID: "a6", Mode: ModeBridge}); err == nil || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("reserve(a6) in a full subnet = %v, want no free address", err)
	}

	// A restarted client keeps every address.
	m2, err := New(Config{StateDir: dir, Subnet: "10.99.0.0/29"})
	if err != nil {
		t.Fatal(err)
	}
	rec, fresh, err := m2.reserve(&Request{AllocID: "a3", Mode: ModeBridge})
	if err != nil || fresh || rec.Address != "10.99.0.4/29" {
		t.Fatalf("reserve(a3) after restart = %+v, fresh %v, %v; want the recorded 10.99.0.4/29", rec, fresh, err)
	}
	st, ok := m2.Status("a3")
	if !ok || st.Address != "10.99.0.4" || st.Interface != "eth0" || st.Gateway != "10.99.0.1" || st.Path != "/var/run/netns/nomadish-a3" {
		t.Fatalf("Status(a3) = %+v, %v", st, ok)
	}
	if _, _, err := m2.reserve(&Request{AllocID: "a3", Mode: ModeNone}); err == nil {
		t.Fatalf("reserve(a3, none) = nil, want an error: it has a bridge network")
	}

	// A freed address is given out again once the others are taken.
	if err := os.Remove(m2.recordPath("a2")); err != nil {
		t.Fatal(err)
	}
	rec, _, err = m2.reserve(&Request{AllocID: "a7", Mode: ModeBridge})
	if err != nil || rec.Address != "10.99.0.3/29" {
		t.Fatalf("reserve(a7) = %+v, %v, want the freed 10.99.0.3/29", rec, err)
	}
}

// host is what the privileged tests need of the machine.
type host struct {
	bridge string
	subnet netip.Prefix
	nodeIP string
}

// needHost skips where network namespaces cannot be made (the tests need
// root, ip(8) and iptables(8)); CI, which sets NOMADISH_REQUIRE_RUNTIMES,
// fails instead.
func needHost(t *testing.T) *host {
	t.Helper()
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "bridge networking tests need root")
	}
	for _, tool := range []struct{ name, pkg string }{{"ip", "iproute2"}, {"iptables", "iptables"}} {
		if _, err := findTool(tool.name, tool.pkg); err != nil {
			drivertest.SkipOrFail(t, "%v", err)
		}
	}
	pid := os.Getpid()
	h := &host{
		bridge: fmt.Sprintf("nsht%d", pid%100000),
		subnet: netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.0/24", 200+pid%50, pid%250)),
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !h.subnet.Contains(netip.MustParseAddr(n.IP.String())) {
			h.nodeIP = n.IP.String()
			break
		}
	}
	t.Cleanup(func() {
		m, err := New(Config{BridgeName: h.bridge, Subnet: h.subnet.String(), StateDir: t.TempDir()})
		if err == nil {
			err = m.RemoveBridge(context.Background())
		}
		if err != nil {
			t.Errorf("remove test bridge: %v", err)
		}
	})
	return h
}

func (h *host) manager(t *testing.T, dir string) *Manager {
	t.Helper()
	m, err := New(Config{
		BridgeName: h.bridge,
		Subnet:     h.subnet.String(),
		StateDir:   dir,
		Logger:     hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testAllocID(t *testing.T, n int) string {
	return fmt.Sprintf("%06x%02x-0000-4000-8000-000000000000", os.Getpid()&0xffffff, n)
}

// serve answers every connection with greeting, from a listener opened
// inside the namespace at path.
func serve(t *testing.T, path, addr, greeting string) {
	t.Helper()
	var ln net.Listener
	err := InNamespace(path, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen in namespace: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, greeting)
			c.Close()
		}
	}()
}

// read dials addr (from inside the namespace at path when set) and
// returns what the server says.
func read(path, addr string) (string, error) {
	var c net.Conn
	dial := func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	}
	var err error
	if path == "" {
		err = dial()
	} else {
		err = InNamespace(path, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func rulesOf(t *testing.T, allocID string) []string {
	t.Helper()
	ipt, _ := findTool("iptables", "iptables")
	rules, err := (iptables{ipt}).tagged(context.Background(), "nat", chainPortmap, allocComment(allocID))
	if err != nil {
		t.Fatalf("list rules: %v", err)
	}
	return rules
}

// TestBridge sets up two allocations on a bridge with real namespaces,
// veths and iptables rules, and tears them down.
func TestBridge(t *testing.T) {
	h := needHost(t)
	m := h.manager(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	idA, idB := testAllocID(t, 1), testAllocID(t, 2)
	ports := freePorts(t, 1)
	stA, err := m.Setup(ctx, &Request{AllocID: idA, Mode: ModeBridge, Ports: []PortMapping{{Label: "http", HostPort: ports[0], To: 8080}}})
	if err != nil {
		t.Fatalf("Setup(A) = %v", err)
	}
	defer m.Teardown(context.Background(), idA)
	stB, err := m.Setup(ctx, &Request{AllocID: idB, Mode: ModeBridge})
	if err != nil {
		t.Fatalf("Setup(B) = %v", err)
	}
	defer m.Teardown(context.Background(), idB)

	first := h.subnet.Addr().Next().Next()
	if stA.Address != first.String() || stB.Address != first.Next().String() || stA.Gateway != h.subnet.Addr().Next().String() || stA.Interface != "eth0" {
		t.Fatalf("Setup() statuses = %+v, %+v; want consecutive addresses from %s", stA, stB, first)
	}
	if !isNetns(stA.Path) || !linkExists(hostVethName(idA)) {
		t.Fatalf("after Setup: namespace %s live %v, veth %s exists %v", stA.Path, isNetns(stA.Path), hostVethName(idA), linkExists(hostVethName(idA)))
	}

	serve(t, stA.Path, ":8080", "hello from A")
	// Inside the namespace, on localhost: what tasks of one group share.
	if got, err := read(stA.Path, "127.0.0.1:8080"); err != nil || got != "hello from A" {
		t.Errorf("A to its own localhost = %q, %v", got, err)
	}
	// B does not share A's localhost, but reaches A over the bridge.
	if _, err := read(stB.Path, "127.0.0.1:8080"); err == nil {
		t.Errorf("B reached 127.0.0.1:8080 = nil error, want refused: namespaces are separate")
	}
	if got, err := read(stB.Path, stA.Address+":8080"); err != nil || got != "hello from A" {
		t.Errorf("B to A over the bridge = %q, %v", got, err)
	}
	// The host reaches the mapped port on its own addresses.
	hostAddrs := []string{"127.0.0.1"}
	if h.nodeIP != "" {
		hostAddrs = append(hostAddrs, h.nodeIP)
	}
	for _, a := range hostAddrs {
		addr := net.JoinHostPort(a, fmt.Sprint(ports[0]))
		if got, err := read("", addr); err != nil || got != "hello from A" {
			t.Errorf("host to mapped port %s = %q, %v", addr, got, err)
		}
	}
	if h.nodeIP != "" {
		// B reaches A's mapped port through the host as well.
		addr := net.JoinHostPort(h.nodeIP, fmt.Sprint(ports[0]))
		if got, err := read(stB.Path, addr); err != nil || got != "hello from A" {
			t.Errorf("B to A's mapped port %s = %q, %v", addr, got, err)
		}
	}
	if n := len(rulesOf(t, idA)); n != 2 {
		t.Errorf("A has %d DNAT rules, want 2 (tcp and udp)", n)
	}

	if err := m.Teardown(ctx, idA); err != nil {
		t.Fatalf("Teardown(A) = %v", err)
	}
	if _, err := os.Lstat(stA.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace file after Teardown: %v, want gone", err)
	}
	if linkExists(hostVethName(idA)) {
		t.Errorf("veth %s still exists after Teardown", hostVethName(idA))
	}
	if r := rulesOf(t, idA); len(r) != 0 {
		t.Errorf("rules of A after Teardown = %v, want none", r)
	}
	if _, ok := m.Status(idA); ok {
		t.Errorf("Status(A) after Teardown found a record")
	}
	if got, err := read(stB.Path, stA.Address+":8080"); err == nil {
		t.Errorf("B to A after Teardown = %q, want an error", got)
	}
	if err := m.Teardown(ctx, idA); err != nil {
		t.Errorf("second Teardown(A) = %v, want nil", err)
	}
}

// TestRestartAndCleanup plays a client restart: a new manager on the same
// state dir keeps a running allocation's namespace and address, and
// Cleanup removes the network of one the client no longer runs.
func TestRestartAndCleanup(t *testing.T) {
	h := needHost(t)
	dir := t.TempDir()
	m := h.manager(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keepID, goneID := testAllocID(t, 3), testAllocID(t, 4)
	ports := freePorts(t, 2)
	keep, err := m.Setup(ctx, &Request{AllocID: keepID, Mode: ModeBridge, Ports: []PortMapping{{Label: "a", HostPort: ports[0]}}})
	if err != nil {
		t.Fatalf("Setup(keep) = %v", err)
	}
	defer m.Teardown(context.Background(), keepID)
	gone, err := m.Setup(ctx, &Request{AllocID: goneID, Mode: ModeBridge, Ports: []PortMapping{{Label: "a", HostPort: ports[1], To: 9000}}})
	if err != nil {
		t.Fatalf("Setup(gone) = %v", err)
	}
	defer m.Teardown(context.Background(), goneID)
	serve(t, keep.Path, fmt.Sprintf(":%d", ports[0]), "still here")

	m2 := h.manager(t, dir)
	removed, err := m2.Cleanup(ctx, func(id string) bool { return id == keepID })
	if err != nil || len(removed) != 1 || removed[0].AllocID != goneID || removed[0].Address != gone.Address {
		t.Fatalf("Cleanup() = %+v, %v, want the network of %s", removed, err, goneID)
	}
	if isNetns(gone.Path) || linkExists(hostVethName(goneID)) || len(rulesOf(t, goneID)) != 0 {
		t.Fatalf("after Cleanup the removed allocation still has a namespace (%v), veth (%v) or rules (%v)",
			isNetns(gone.Path), linkExists(hostVethName(goneID)), rulesOf(t, goneID))
	}

	// Setting up the kept allocation again changes nothing that runs.
	again, err := m2.Setup(ctx, &Request{AllocID: keepID, Mode: ModeBridge, Ports: []PortMapping{{Label: "a", HostPort: ports[0]}}})
	if err != nil || again.Address != keep.Address || again.Path != keep.Path {
		t.Fatalf("Setup(keep) after restart = %+v, %v, want %+v", again, err, keep)
	}
	if n := len(rulesOf(t, keepID)); n != 2 {
		t.Errorf("kept allocation has %d rules after a second Setup, want 2", n)
	}
	if got, err := read("", fmt.Sprintf("127.0.0.1:%d", ports[0])); err != nil || got != "still here" {
		t.Errorf("mapped port without to after restart = %q, %v", got, err)
	}
}

// TestModeNone gives an allocation a namespace with only its loopback.
func TestModeNone(t *testing.T) {
	h := needHost(t)
	m := h.manager(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := testAllocID(t, 5)
	st, err := m.Setup(ctx, &Request{AllocID: id, Mode: ModeNone})
	if err != nil {
		t.Fatalf("Setup(none) = %v", err)
	}
	defer m.Teardown(context.Background(), id)
	if st.Address != "" || st.Interface != "" || linkExists(hostVethName(id)) {
		t.Fatalf("Setup(none) = %+v, want no interface but loopback", st)
	}
	var names []string
	err = InNamespace(st.Path, func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	})
	if err != nil || strings.Join(names, ",") != "lo" {
		t.Fatalf("interfaces in the namespace = %v, %v, want [lo]", names, err)
	}
	serve(t, st.Path, "127.0.0.1:7000", "lo works")
	if got, err := read(st.Path, "127.0.0.1:7000"); err != nil || got != "lo works" {
		t.Fatalf("loopback in mode none = %q, %v", got, err)
	}
}

// TestAttachDriverNamespace configures a namespace someone else made, as
// a driver's pause container makes it, and leaves it to its maker.
func TestAttachDriverNamespace(t *testing.T) {
	h := needHost(t)
	m := h.manager(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ip, _ := findTool("ip", "iproute2")
	other := fmt.Sprintf("nomadish-test-driver-%d", os.Getpid())
	if _, err := run(ctx, ip, "netns", "add", other); err != nil {
		t.Fatal(err)
	}
	defer run(context.Background(), ip, "netns", "delete", other)
	id := testAllocID(t, 6)
	st, err := m.Setup(ctx, &Request{AllocID: id, Mode: ModeBridge, NetnsPath: netnsPath(other), Driver: "docker", Labels: map[string]string{"c": "1"}})
	if err != nil {
		t.Fatalf("Setup(attached) = %v", err)
	}
	defer m.Teardown(context.Background(), id)
	if st.Driver != "docker" || st.Labels["c"] != "1" || st.Path != netnsPath(netnsName(id)) {
		t.Fatalf("Setup(attached) = %+v", st)
	}
	// The interface made through the attached name is in the maker's namespace.
	var has bool
	err = InNamespace(netnsPath(other), func() error {
		_, err := net.InterfaceByName("eth0")
		has = err == nil
		return nil
	})
	if err != nil || !has {
		t.Fatalf("eth0 in the driver's namespace: %v, %v", has, err)
	}
	if err := m.Teardown(ctx, id); err != nil {
		t.Fatalf("Teardown() = %v", err)
	}
	if !isNetns(netnsPath(other)) || isNetns(st.Path) {
		t.Fatalf("after Teardown: driver's namespace live %v (want true), attached name live %v (want false)", isNetns(netnsPath(other)), isNetns(st.Path))
	}
	if _, err := m.Setup(ctx, &Request{AllocID: testAllocID(t, 7), Mode: ModeBridge, NetnsPath: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatalf("Setup(attach a missing namespace) = nil, want an error")
	}
	if isNetns(netnsPath(netnsName(testAllocID(t, 7)))) {
		t.Fatalf("a failed Setup left its namespace behind")
	}
	// Configuring the host's own namespace would take the host's network.
	if _, err := m.Setup(ctx, &Request{AllocID: testAllocID(t, 8), Mode: ModeBridge, NetnsPath: "/proc/self/ns/net"}); err == nil || !strings.Contains(err.Error(), "host's own network namespace") {
		t.Fatalf("Setup(attach the host namespace) = %v, want a refusal", err)
	}

	// After a reboot the driver's namespace is gone and its recorded path
	// may name another process's: it is not attached again.
	id9 := testAllocID(t, 9)
	if _, err := m.Setup(ctx, &Request{AllocID: id9, Mode: ModeNone, NetnsPath: netnsPath(other), Driver: "docker"}); err != nil {
		t.Fatalf("Setup(attached, none) = %v", err)
	}
	defer m.Teardown(context.Background(), id9)
	ip9 := ipTool{ip}
	if err := ip9.deleteNetns(ctx, netnsName(id9)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Setup(ctx, &Request{AllocID: id9, Mode: ModeNone, Driver: "docker"}); err == nil || !strings.Contains(err.Error(), `driver "docker" made is gone`) {
		t.Fatalf("Setup() of a recorded driver namespace that is gone = %v, want an error", err)
	}
	if isNetns(netnsPath(netnsName(id9))) {
		t.Fatalf("the gone driver namespace was attached again")
	}
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
		defer ln.Close()
	}
	return out
}

// TestHairpin sets hairpin mode on the allocation's bridge port, and the
// allocation reaches its own mapped port at the node's address.
func TestHairpin(t *testing.T) {
	h := needHost(t)
	if h.nodeIP == "" {
		t.Skip("no node address to reach a mapped port at")
	}
	m, err := New(Config{BridgeName: h.bridge, Subnet: h.subnet.String(), HairpinMode: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := testAllocID(t, 10)
	port := freePorts(t, 1)[0]
	st, err := m.Setup(ctx, &Request{AllocID: id, Mode: ModeBridge, Ports: []PortMapping{{Label: "http", HostPort: port, To: 8080}}})
	if err != nil {
		t.Fatalf("Setup() = %v", err)
	}
	defer m.Teardown(context.Background(), id)
	b, err := os.ReadFile(filepath.Join("/sys/class/net", hostVethName(id), "brport", "hairpin_mode"))
	if err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Fatalf("hairpin_mode of %s = %q, %v, want 1", hostVethName(id), b, err)
	}
	serve(t, st.Path, ":8080", "myself")
	addr := net.JoinHostPort(h.nodeIP, fmt.Sprint(port))
	if got, err := read(st.Path, addr); err != nil || got != "myself" {
		t.Fatalf("allocation to its own mapped port %s = %q, %v", addr, got, err)
	}
}

func TestUsable(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Usable()
	if os.Geteuid() != 0 {
		if err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("Usable() as non-root = %v, want an error naming root", err)
		}
		return
	}
	needHost(t)
	if err != nil {
		t.Errorf("Usable() as root with ip and iptables = %v, want nil", err)
	}
}
