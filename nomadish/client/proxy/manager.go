package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// ErrAddressInUse is returned when an allocation asks for a local address
// that already serves another upstream in the same scope.
var ErrAddressInUse = errors.New("local address already serves another upstream")

// Upstream is one listener an allocation asks for.
type Upstream struct {
	Target
	// BindAddr is the local host:port to listen on.
	BindAddr string
	// Options are the balancing policy and timeouts.
	Options structs.UpstreamOptions
}

// Scope is the network an allocation's listeners are opened in.
type Scope struct {
	// Key names the network: listeners of equal Key and BindAddr are
	// shared. "" is the client's own (host) network.
	Key string
	// Listen opens a TCP listener in that network; nil is net.Listen.
	// NamespaceScope's enters a network namespace to open it.
	Listen func(network, address string) (net.Listener, error)
}

// HostScope opens listeners in the client's own network.
var HostScope = Scope{}

type entryKey struct{ scope, addr string }

type entry struct {
	up     Upstream
	proxy  *Proxy
	cancel context.CancelFunc
	done   chan struct{}
	refs   int
}

// Manager runs the client's upstream listeners. Its methods may be
// called from any goroutine; it owns the goroutines of every listener
// until Close.
type Manager struct {
	lookup Lookup
	logger hclog.Logger
	// base is the Config each proxy starts from.
	base Config

	mu      sync.Mutex
	closed  bool
	entries map[entryKey]*entry
}

// NewManager returns a manager that follows instances through lookup.
// base tunes every proxy; its Policy, ConnectTimeout and DrainTimeout are
// replaced by each upstream's options.
func NewManager(lookup Lookup, base Config, logger hclog.Logger) *Manager {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Manager{lookup: lookup, base: base, logger: logger, entries: map[entryKey]*entry{}}
}

// Open starts (or shares) a listener for each upstream. It opens every
// one it can and reports the others in err; release gives back those it
// opened and must be called once the allocation is done, even after an
// error.
func (m *Manager) Open(scope Scope, ups []Upstream) (release func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return func() {}, errors.New("service proxy is shut down")
	}
	if scope.Key == "" && scope.Listen != nil {
		return func() {}, errors.New("a scope that opens its own listeners needs a key of its own")
	}
	var held []entryKey
	var errs []error
	for _, u := range ups {
		k := entryKey{scope.Key, u.BindAddr}
		if e := m.entries[k]; e != nil {
			if e.up != u {
				what := fmt.Sprintf("%q", e.up.Service)
				if e.up.Target == u.Target {
					what += " with other settings"
				}
				errs = append(errs, fmt.Errorf("upstream %q at %s: %w (%s)", u.Service, u.BindAddr, ErrAddressInUse, what))
				continue
			}
			e.refs++
			held = append(held, k)
			continue
		}
		e, err := m.start(scope, u)
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %q: %w", u.Service, err))
			continue
		}
		m.entries[k] = e
		held = append(held, k)
	}
	var once sync.Once
	return func() { once.Do(func() { m.release(held) }) }, errors.Join(errs...)
}

// start opens a listener and starts its proxy and watcher. m.mu is held.
func (m *Manager) start(scope Scope, u Upstream) (*entry, error) {
	listen := scope.Listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", u.BindAddr)
	if err != nil {
		return nil, err
	}
	cfg := m.base
	cfg.Name = u.Service
	cfg.Policy = u.Options.Policy
	cfg.ConnectTimeout = u.Options.ConnectTimeout
	cfg.DrainTimeout = u.Options.DrainTimeout
	logger := m.logger.With("upstream", u.Service, "addr", u.BindAddr)
	cfg.Logger = logger
	p := New(ln, cfg)
	p.Start()
	ctx, cancel := context.WithCancel(context.Background())
	e := &entry{up: u, proxy: p, cancel: cancel, done: make(chan struct{}), refs: 1}
	go func() {
		defer close(e.done)
		Watch(ctx, m.lookup, u.Target, p.Update, logger)
	}()
	logger.Info("upstream listening", "policy", cfg.Policy)
	return e, nil
}

func (m *Manager) release(keys []entryKey) {
	var stop []*entry
	m.mu.Lock()
	for _, k := range keys {
		e := m.entries[k]
		if e == nil {
			continue
		}
		e.refs--
		if e.refs == 0 {
			delete(m.entries, k)
			stop = append(stop, e)
		}
	}
	m.mu.Unlock()
	for _, e := range stop {
		e.stop()
	}
}

func (e *entry) stop() {
	e.cancel()
	_ = e.proxy.Close()
	<-e.done
}

// Close stops every listener and waits for their goroutines.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	stop := make([]*entry, 0, len(m.entries))
	for k, e := range m.entries {
		stop = append(stop, e)
		delete(m.entries, k)
	}
	m.mu.Unlock()
	for _, e := range stop {
		e.stop()
	}
}

// ListenerStats describes one running listener.
type ListenerStats struct {
	Scope, BindAddr, Service string
	// Allocations counts the allocations sharing the listener.
	Allocations int
	Backends    []BackendStats
}

// Stats returns the running listeners, sorted by scope and address.
func (m *Manager) Stats() []ListenerStats {
	m.mu.Lock()
	out := make([]ListenerStats, 0, len(m.entries))
	proxies := make([]*Proxy, 0, len(m.entries))
	for k, e := range m.entries {
		out = append(out, ListenerStats{Scope: k.scope, BindAddr: k.addr, Service: e.up.Service, Allocations: e.refs})
		proxies = append(proxies, e.proxy)
	}
	m.mu.Unlock()
	for i, p := range proxies {
		out[i].Backends = p.Stats()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].BindAddr < out[j].BindAddr
	})
	return out
}

// UpstreamsOf returns the upstreams the client serves for an
// allocation: those of its group's built-in provider services. An
// upstream without a namespace reaches the allocation's.
func UpstreamsOf(a *structs.Allocation) ([]Upstream, error) {
	if a == nil || a.Job == nil {
		return nil, nil
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return nil, nil
	}
	ns := a.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	var out []Upstream
	var errs []error
	for _, cu := range tg.ServedUpstreams() {
		opts, err := cu.Options()
		if err != nil {
			errs = append(errs, fmt.Errorf("upstream %q: %w", cu.DestinationName, err))
			continue
		}
		u := Upstream{
			Target:   Target{Namespace: ns, Service: cu.DestinationName, Datacenter: cu.Datacenter},
			BindAddr: cu.BindAddr(),
			Options:  opts,
		}
		if cu.DestinationNamespace != "" {
			u.Namespace = cu.DestinationNamespace
		}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}
