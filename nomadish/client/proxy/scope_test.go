package proxy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// namespaces makes n real network namespaces in mode none (only their
// loopback, no route out), removed at the end of the test. It skips where
// they cannot be made (root and ip(8) are needed); CI, which sets
// NOMADISH_REQUIRE_RUNTIMES, fails instead.
func namespaces(t *testing.T, n int) (*network.Manager, []string) {
	t.Helper()
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "network namespace tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		drivertest.SkipOrFail(t, "network namespace tests need ip (iproute2): %v", err)
	}
	m, err := network.New(network.Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%06x%02x-0000-4000-8000-00000000abcd", os.Getpid()&0xffffff, i)
		if _, err := m.Setup(ctx, &network.Request{AllocID: id, Mode: network.ModeNone}); err != nil {
			t.Fatalf("Setup(%s) = %v", id, err)
		}
		t.Cleanup(func() {
			if err := m.Teardown(context.Background(), id); err != nil {
				t.Errorf("Teardown(%s) = %v", id, err)
			}
		})
		ids = append(ids, id)
	}
	return m, ids
}

// askIn dials addr from inside the allocation's namespace ("" for the
// host's) and asks once.
func askIn(t *testing.T, m *network.Manager, allocID, addr string) (string, error) {
	t.Helper()
	if allocID == "" {
		return askAt(t, addr)
	}
	var c net.Conn
	err := m.InNamespace(allocID, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	cl := &client{c: c, r: bufio.NewReader(c)}
	return cl.ask("hello")
}

// TestNamespaceScope opens the same upstream address in two real
// namespaces: each listener is reached on 127.0.0.1 from inside its own
// namespace and forwards to an instance on the host's loopback (the dial
// leaves from the client's network: the namespaces have no route out),
// the host's 127.0.0.1 has no such listener, and releasing one namespace's
// listener leaves the other's serving.
func TestNamespaceScope(t *testing.T) {
	m, ids := namespaces(t, 2)
	api := startServer(t, "api-1")
	cat := newCatalog()
	cat.put(reg(api, "api", structs.CheckPassing))
	pm := NewManager(cat, Config{}, nil)
	defer pm.Close()

	// A port free on the host, so that a listener there would be seen.
	addr := freeAddr(t)
	scope := func(id string) Scope {
		return NamespaceScope("alloc/"+id, func(fn func() error) error { return m.InNamespace(id, fn) })
	}
	var releases []func()
	for _, id := range ids {
		release, err := pm.Open(scope(id), []Upstream{testUpstream("api", addr)})
		if err != nil {
			t.Fatalf("Open(%s) in namespace %s = %v", addr, id, err)
		}
		defer release()
		releases = append(releases, release)
	}
	if st := pm.Stats(); len(st) != 2 || st[0].Allocations != 1 || st[1].Allocations != 1 {
		t.Fatalf("Stats() = %+v, want one listener per namespace, not shared", st)
	}

	for _, id := range ids {
		if got, err := askIn(t, m, id, addr); err != nil || got != "api-1" {
			t.Errorf("from namespace %s to %s = %q, %v; want api-1", id, addr, got, err)
		}
	}
	if got, err := askIn(t, m, "", addr); err == nil {
		t.Errorf("from the host to %s = %q, want refused: the listeners live in the namespaces", addr, got)
	}
	// The instance itself is not reachable from a namespace directly.
	if _, err := askIn(t, m, ids[0], api.addr()); err == nil {
		t.Errorf("from namespace %s straight to the instance %s: no error; want the namespace cut off from the host", ids[0], api.addr())
	}

	releases[0]()
	if _, err := askIn(t, m, ids[0], addr); err == nil {
		t.Errorf("namespace %s after its release: %s still answers", ids[0], addr)
	}
	if got, err := askIn(t, m, ids[1], addr); err != nil || got != "api-1" {
		t.Errorf("namespace %s after the other's release = %q, %v; want still served", ids[1], got, err)
	}
	if st := pm.Stats(); len(st) != 1 || st[0].Scope != "alloc/"+ids[1] {
		t.Errorf("Stats() after one release = %+v, want only %s's listener", st, ids[1])
	}
}

// TestNamespaceScopeFailures reports a namespace that cannot be entered
// and refuses a scope with its own Listen but the host's key.
func TestNamespaceScopeFailures(t *testing.T) {
	pm := NewManager(newCatalog(), Config{}, nil)
	defer pm.Close()
	addr := freeAddr(t)
	release, err := pm.Open(NamespaceScope("alloc/gone", func(func() error) error {
		return network.InNamespace("/nonexistent/netns", func() error { return nil })
	}), []Upstream{testUpstream("api", addr)})
	release()
	if err == nil || len(pm.Stats()) != 0 {
		t.Errorf("Open in a missing namespace = %v, %d listeners; want an error and none", err, len(pm.Stats()))
	}
	release, err = pm.Open(NamespaceScope("", func(fn func() error) error { return fn() }), []Upstream{testUpstream("api", addr)})
	release()
	if err == nil || len(pm.Stats()) != 0 {
		t.Errorf("Open with an empty scope key = %v, %d listeners; want an error and none", err, len(pm.Stats()))
	}
}
