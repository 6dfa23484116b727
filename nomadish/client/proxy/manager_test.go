package proxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// catalog is an in-memory service catalog answering blocking queries the
// way the servers do: with minIndex > 0 it waits for a change.
type catalog struct {
	mu      sync.Mutex
	index   uint64
	regs    map[string]*structs.ServiceRegistration
	changed chan struct{}
	// fail makes the next queries fail.
	fail error
}

func newCatalog() *catalog {
	return &catalog{index: 1, regs: map[string]*structs.ServiceRegistration{}, changed: make(chan struct{})}
}

func (c *catalog) put(r *structs.ServiceRegistration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regs[r.ID] = r
	c.bumpLocked()
}

func (c *catalog) remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.regs, id)
	c.bumpLocked()
}

func (c *catalog) bumpLocked() {
	c.index++
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *catalog) ServicesByName(ctx context.Context, ns, name string, minIndex uint64) ([]*structs.ServiceRegistration, uint64, error) {
	for {
		c.mu.Lock()
		if c.fail != nil {
			err := c.fail
			c.mu.Unlock()
			return nil, 0, err
		}
		if minIndex == 0 || c.index > minIndex {
			var out []*structs.ServiceRegistration
			for _, r := range c.regs {
				if r.Namespace == ns && r.ServiceName == name {
					cp := *r
					out = append(out, &cp)
				}
			}
			idx := c.index
			c.mu.Unlock()
			return out, idx, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func reg(s *server, service, status string) *structs.ServiceRegistration {
	host, port, _ := net.SplitHostPort(s.addr())
	p, _ := strconv.Atoi(port)
	return &structs.ServiceRegistration{ID: s.name, ServiceName: service, Namespace: "default", Datacenter: "dc1", Address: host, Port: p, Status: status}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ask dials addr and asks once.
func askAt(t *testing.T, addr string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	cl := &client{c: c, r: bufio.NewReader(c)}
	return cl.ask("hello")
}

func testUpstream(service, addr string) Upstream {
	return Upstream{
		Target:   Target{Namespace: "default", Service: service},
		BindAddr: addr,
		Options:  structs.UpstreamOptions{Policy: structs.UpstreamPolicyRoundRobin, ConnectTimeout: time.Second, DrainTimeout: time.Second},
	}
}

// TestManagerFollowsTheCatalog checks the whole path: a listener opened
// for an upstream reaches the catalog's healthy instances, and stops using
// one within moments of it going critical or away.
func TestManagerFollowsTheCatalog(t *testing.T) {
	a, b := startServer(t, "a"), startServer(t, "b")
	cat := newCatalog()
	cat.put(reg(a, "api", structs.CheckPassing))
	cat.put(reg(b, "api", ""))
	cat.put(reg(startServer(t, "other"), "db", structs.CheckPassing))
	m := NewManager(cat, Config{}, nil)
	defer m.Close()
	addr := freeAddr(t)
	release, err := m.Open(HostScope, []Upstream{testUpstream("api", addr)})
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		name, err := askAt(t, addr)
		if err != nil {
			t.Fatal(err)
		}
		seen[name]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Fatalf("answers = %v, want 3 each from a and b", seen)
	}

	cat.put(reg(a, "api", structs.CheckCritical))
	waitFor(t, "a dropped", func() bool {
		st := m.Stats()
		return len(st) == 1 && len(st[0].Backends) == 1 && st[0].Backends[0].ID == "b"
	})
	for i := 0; i < 4; i++ {
		if name, err := askAt(t, addr); err != nil || name != "b" {
			t.Fatalf("after a went critical: %q, %v; want b", name, err)
		}
	}
	cat.put(reg(a, "api", structs.CheckWarning))
	cat.remove("b")
	waitFor(t, "a back, b gone", func() bool {
		st := m.Stats()
		return len(st) == 1 && len(st[0].Backends) == 1 && st[0].Backends[0].ID == "a"
	})
	if name, err := askAt(t, addr); err != nil || name != "a" {
		t.Fatalf("after b went away: %q, %v; want a", name, err)
	}
}

func TestManagerKeepsInstancesWhenTheServersFail(t *testing.T) {
	a := startServer(t, "a")
	cat := newCatalog()
	cat.put(reg(a, "api", structs.CheckPassing))
	m := NewManager(cat, Config{}, nil)
	defer m.Close()
	addr := freeAddr(t)
	release, err := m.Open(HostScope, []Upstream{testUpstream("api", addr)})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if name, err := askAt(t, addr); err != nil || name != "a" {
		t.Fatalf("%q, %v", name, err)
	}
	cat.mu.Lock()
	cat.fail = errors.New("no servers")
	cat.bumpLocked()
	cat.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if name, err := askAt(t, addr); err != nil || name != "a" {
		t.Fatalf("while the servers fail: %q, %v; want the last known instance", name, err)
	}
}

func TestManagerSharesListeners(t *testing.T) {
	a := startServer(t, "a")
	cat := newCatalog()
	cat.put(reg(a, "api", structs.CheckPassing))
	m := NewManager(cat, Config{}, nil)
	defer m.Close()
	addr := freeAddr(t)

	rel1, err := m.Open(HostScope, []Upstream{testUpstream("api", addr)})
	if err != nil {
		t.Fatal(err)
	}
	rel2, err := m.Open(HostScope, []Upstream{testUpstream("api", addr)})
	if err != nil {
		t.Fatalf("second allocation asking for the same upstream: %v", err)
	}
	if st := m.Stats(); len(st) != 1 || st[0].Allocations != 2 {
		t.Fatalf("Stats() = %+v, want one listener shared by 2 allocations", st)
	}
	rel3, err := m.Open(HostScope, []Upstream{testUpstream("db", addr)})
	if !errors.Is(err, ErrAddressInUse) {
		t.Errorf("another service at the same address: error %v, want ErrAddressInUse", err)
	}
	rel3()
	other := freeAddr(t)
	rel4, err := m.Open(Scope{Key: "netns-1", Listen: func(network, address string) (net.Listener, error) {
		return net.Listen(network, other)
	}}, []Upstream{testUpstream("db", addr)})
	if err != nil {
		t.Fatalf("the same address in another scope: %v", err)
	}
	if len(m.Stats()) != 2 {
		t.Errorf("Stats() = %+v, want two listeners", m.Stats())
	}
	rel4()

	rel1()
	rel1() // a second call is a no-op
	if name, err := askAt(t, addr); err != nil || name != "a" {
		t.Fatalf("after one of two allocations released: %q, %v; want still served", name, err)
	}
	rel2()
	if len(m.Stats()) != 0 {
		t.Errorf("Stats() after every release = %+v, want none", m.Stats())
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("listener still open after every allocation released it")
	}
}

func TestManagerReportsAListenFailure(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	m := NewManager(newCatalog(), Config{}, nil)
	defer m.Close()
	free := freeAddr(t)
	release, err := m.Open(HostScope, []Upstream{testUpstream("api", taken.Addr().String()), testUpstream("db", free)})
	defer release()
	if err == nil {
		t.Fatal("Open on a taken port: no error")
	}
	if st := m.Stats(); len(st) != 1 || st[0].Service != "db" {
		t.Errorf("Stats() = %+v, want the db listener opened anyway", st)
	}
}

func TestUpstreamsOf(t *testing.T) {
	svc := func(provider string, ups ...structs.ConsulUpstream) *structs.Service {
		return &structs.Service{Name: "s", Provider: provider, Connect: &structs.ConsulConnect{
			SidecarService: &structs.ConsulSidecarService{Proxy: &structs.ConsulProxy{Upstreams: ups}}}}
	}
	alloc := &structs.Allocation{Namespace: "prod", TaskGroup: "g", Job: &structs.Job{TaskGroups: []*structs.TaskGroup{{Name: "g", Services: []*structs.Service{
		svc("nomad", structs.ConsulUpstream{DestinationName: "api", LocalBindPort: 8080},
			structs.ConsulUpstream{DestinationName: "db", DestinationNamespace: "data", LocalBindPort: 5432, LocalBindAddress: "127.0.0.2", Datacenter: "dc2",
				Config: map[string]interface{}{"lb_policy": "least_conn", "connect_timeout_ms": 250, "drain_timeout": "5s"}}),
		svc("consul", structs.ConsulUpstream{DestinationName: "ignored", LocalBindPort: 9000}),
	}}}}}
	got, err := UpstreamsOf(alloc)
	if err != nil {
		t.Fatal(err)
	}
	want := []Upstream{
		{Target: Target{Namespace: "prod", Service: "api"}, BindAddr: "127.0.0.1:8080", Options: structs.UpstreamOptions{
			Policy: structs.UpstreamPolicyRoundRobin, ConnectTimeout: structs.DefaultUpstreamConnectTimeout, DrainTimeout: structs.DefaultUpstreamDrainTimeout}},
		{Target: Target{Namespace: "data", Service: "db", Datacenter: "dc2"}, BindAddr: "127.0.0.2:5432", Options: structs.UpstreamOptions{
			Policy: structs.UpstreamPolicyLeastConn, ConnectTimeout: 250 * time.Millisecond, DrainTimeout: 5 * time.Second}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpstreamsOf() = %+v, want %+v", got, want)
	}
}

func TestHealthyFiltersAndSorts(t *testing.T) {
	regs := []*structs.ServiceRegistration{
		{ID: "c", Address: "10.0.0.3", Port: 80, Status: structs.CheckPassing, Datacenter: "dc1"},
		{ID: "a", Address: "10.0.0.1", Port: 80, Datacenter: "dc1"},
		{ID: "b", Address: "10.0.0.2", Port: 80, Status: structs.CheckCritical, Datacenter: "dc1"},
		{ID: "d", Address: "10.0.0.4", Port: 80, Status: structs.CheckWarning, Datacenter: "dc2"},
		{ID: "e", Address: "", Port: 80, Datacenter: "dc1"},
	}
	if got, want := healthy(regs, ""), []Backend{{"a", "10.0.0.1:80"}, {"c", "10.0.0.3:80"}, {"d", "10.0.0.4:80"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("healthy() = %v, want %v", got, want)
	}
	if got, want := healthy(regs, "dc2"), []Backend{{"d", "10.0.0.4:80"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("healthy(dc2) = %v, want %v", got, want)
	}
}
