package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// PortMapping is one host port forwarded into an allocation's namespace.
type PortMapping struct {
	Label string
	// HostPort is the port allocated on the node.
	HostPort int
	// To is the port inside the namespace; zero or less means HostPort,
	// as Nomad maps a port without `to`.
	To int
}

func (p PortMapping) to() int {
	if p.To > 0 {
		return p.To
	}
	return p.HostPort
}

// Request asks for one allocation's network.
type Request struct {
	AllocID string
	// Mode is ModeBridge or ModeNone.
	Mode  string
	Ports []PortMapping
	// NetnsPath is a namespace a driver made for the allocation (the
	// driver's capabilities say it must initiate the network); it is
	// attached and configured instead of a new one being made.
	NetnsPath string
	// Driver and Labels name that driver and what it needs to destroy the
	// namespace; they are kept with the allocation's record.
	Driver string
	Labels map[string]string
}

func (r *Request) validate() error {
	var errs []error
	if err := validAllocID(r.AllocID); err != nil {
		errs = append(errs, err)
	}
	if r.Mode != ModeBridge && r.Mode != ModeNone {
		errs = append(errs, fmt.Errorf("network mode %q: want %q or %q", r.Mode, ModeBridge, ModeNone))
	}
	for _, p := range r.Ports {
		if p.HostPort < 1 || p.HostPort > 65535 {
			errs = append(errs, fmt.Errorf("port %q: host port %d is out of range", p.Label, p.HostPort))
		}
		if p.To > 65535 {
			errs = append(errs, fmt.Errorf("port %q: to %d is out of range", p.Label, p.To))
		}
	}
	return errors.Join(errs...)
}

func validAllocID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("allocation ID %q: want 1 to 64 characters", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("allocation ID %q: only letters, digits and '-' are allowed", id)
		}
	}
	return nil
}

// Status is an allocation's network as set up.
type Status struct {
	AllocID string
	Mode    string
	// Path is the namespace file the allocation's tasks join.
	Path string
	// Interface, Address and Gateway are the allocation's side of the
	// veth; empty in mode none.
	Interface string
	Address   string
	Gateway   string
	Ports     []PortMapping
	// Driver made the namespace when set; Labels are its spec's labels.
	Driver string
	Labels map[string]string
}

// record is what the state directory keeps of an allocation's network.
type record struct {
	AllocID  string
	Mode     string
	Netns    string
	HostVeth string `json:",omitempty"`
	Bridge   string `json:",omitempty"`
	// Address is the allocation's address with the subnet's prefix length.
	Address string `json:",omitempty"`
	Gateway string `json:",omitempty"`
	Ports   []PortMapping
	// DriverPath is the namespace a driver made, attached as Netns.
	DriverPath string            `json:",omitempty"`
	Driver     string            `json:",omitempty"`
	Labels     map[string]string `json:",omitempty"`
}

func (r *record) status() *Status {
	s := &Status{
		AllocID: r.AllocID,
		Mode:    r.Mode,
		Path:    netnsPath(r.Netns),
		Gateway: r.Gateway,
		Ports:   append([]PortMapping(nil), r.Ports...),
		Driver:  r.Driver,
		Labels:  r.Labels,
	}
	if r.Address != "" {
		s.Interface = allocIfName
		if p, err := netip.ParsePrefix(r.Address); err == nil {
			s.Address = p.Addr().String()
		}
	}
	return s
}

// Manager sets up and tears down allocation networks. Its methods may be
// called from any goroutine; calls for different allocations run in
// parallel.
type Manager struct {
	cfg     Config
	logger  hclog.Logger
	subnet  netip.Prefix
	gateway netip.Prefix

	// mu guards the records and address assignment.
	mu sync.Mutex
	// bridgeMu serializes bridge and base rule setup; bridgeReady is set
	// once they are in place.
	bridgeMu    sync.Mutex
	bridgeReady bool

	// ip and ipt are the tools, looked up once by New; ipErr and iptErr
	// say why one is missing.
	ip     ipTool
	ipErr  error
	ipt    iptables
	iptErr error
}

// New returns a manager; it changes nothing on the host until a Setup.
func New(cfg Config) (*Manager, error) {
	cfg.canonicalize()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid network config: %w", err)
	}
	subnet, _ := parseSubnet(cfg.Subnet)
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create network state dir: %w", err)
	}
	m := &Manager{
		cfg:     cfg,
		logger:  cfg.Logger.Named("network"),
		subnet:  subnet,
		gateway: netip.PrefixFrom(subnet.Addr().Next(), subnet.Bits()),
	}
	var p string
	p, m.ipErr = findTool("ip", "iproute2")
	m.ip = ipTool{p}
	p, m.iptErr = findTool("iptables", "iptables")
	m.ipt = iptables{p}
	return m, nil
}

func (m *Manager) ipTool() (ipTool, error) { return m.ip, m.ipErr }

func (m *Manager) iptables() (iptables, error) { return m.ipt, m.iptErr }

// Setup makes the allocation's network, or, when a record of it exists
// (the client restarted), checks it and puts back what is missing while
// keeping its namespace and address. On a failed first setup, whatever
// was made is removed again.
func (m *Manager) Setup(ctx context.Context, req *Request) (*Status, error) {
	if err := req.validate(); err != nil {
		return nil, fmt.Errorf("set up network: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("set up network of alloc %s: %s networking needs the client to run as root", req.AllocID, req.Mode)
	}
	rec, fresh, err := m.reserve(req)
	if err != nil {
		return nil, fmt.Errorf("set up network of alloc %s: %w", req.AllocID, err)
	}
	if err := m.apply(ctx, rec, fresh); err != nil {
		if fresh {
			if terr := m.Teardown(ctx, req.AllocID); terr != nil {
				m.logger.Warn("remove partial network", "alloc_id", req.AllocID, "error", terr)
			}
		}
		return nil, fmt.Errorf("set up network of alloc %s: %w", req.AllocID, err)
	}
	return rec.status(), nil
}

// reserve loads the allocation's record or writes a new one, with an
// address in bridge mode, before anything is made.
func (m *Manager) reserve(req *Request) (*record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.load(req.AllocID)
	if err != nil {
		return nil, false, err
	}
	if rec != nil {
		if rec.Mode != req.Mode {
			return nil, false, fmt.Errorf("the allocation already has a %s network", rec.Mode)
		}
		if len(req.Ports) > 0 || len(rec.Ports) > 0 {
			rec.Ports = req.Ports
			if err := m.save(rec); err != nil {
				return nil, false, err
			}
		}
		return rec, false, nil
	}
	rec = &record{
		AllocID:    req.AllocID,
		Mode:       req.Mode,
		Netns:      netnsName(req.AllocID),
		Ports:      req.Ports,
		DriverPath: req.NetnsPath,
		Driver:     req.Driver,
		Labels:     req.Labels,
	}
	if req.Mode == ModeBridge {
		addr, err := m.nextAddr()
		if err != nil {
			return nil, false, err
		}
		rec.Bridge = m.cfg.BridgeName
		rec.HostVeth = hostVethName(req.AllocID)
		if linkExists(rec.HostVeth) {
			return nil, false, fmt.Errorf("interface %s, named after the allocation, already exists", rec.HostVeth)
		}
		rec.Address = netip.PrefixFrom(addr, m.subnet.Bits()).String()
		rec.Gateway = m.gateway.Addr().String()
	}
	if err := m.save(rec); err != nil {
		return nil, false, err
	}
	return rec, true, nil
}

// apply makes whatever of rec's network is missing.
func (m *Manager) apply(ctx context.Context, rec *record, fresh bool) error {
	ip, err := m.ipTool()
	if err != nil {
		return err
	}
	var ipt iptables
	if rec.Mode == ModeBridge {
		if ipt, err = m.iptables(); err != nil {
			return err
		}
	}
	if !isNetns(netnsPath(rec.Netns)) {
		if rec.DriverPath != "" {
			if !fresh {
				// The path was the driver's process; after a reboot it may
				// name another's.
				return fmt.Errorf("the network namespace driver %q made is gone", rec.Driver)
			}
			err = attachNetns(rec.DriverPath, rec.Netns)
		} else {
			err = ip.addNetns(ctx, rec.Netns)
		}
		if err != nil {
			return fmt.Errorf("create network namespace: %w", err)
		}
	}
	if err := ip.run(ctx, "-n", rec.Netns, "link", "set", "lo", "up"); err != nil {
		return err
	}
	if rec.Mode != ModeBridge {
		return nil
	}
	if err := m.ensureBridge(ctx, ip, ipt); err != nil {
		return err
	}
	if !linkExists(rec.HostVeth) {
		addr, err := netip.ParsePrefix(rec.Address)
		if err != nil {
			return fmt.Errorf("recorded address: %w", err)
		}
		if err := ip.setupVeth(ctx, rec.Netns, rec.HostVeth, rec.Bridge, addr, m.gateway.Addr(), m.cfg.HairpinMode); err != nil {
			return fmt.Errorf("connect to bridge %s: %w", rec.Bridge, err)
		}
	}
	addr, _ := netip.ParsePrefix(rec.Address)
	for _, r := range portRules(rec.AllocID, addr.Addr().String(), rec.Ports) {
		if err := ipt.ensureRule(ctx, "nat", chainPortmap, false, r); err != nil {
			return fmt.Errorf("map port: %w", err)
		}
	}
	return nil
}

// ensureBridge puts the bridge and the shared rules in place, once per
// manager unless the bridge disappears.
func (m *Manager) ensureBridge(ctx context.Context, ip ipTool, ipt iptables) error {
	m.bridgeMu.Lock()
	defer m.bridgeMu.Unlock()
	if m.bridgeReady && linkExists(m.cfg.BridgeName) {
		return nil
	}
	if err := ip.ensureBridge(ctx, m.cfg.BridgeName, m.gateway); err != nil {
		return err
	}
	for _, c := range []struct{ table, chain string }{{"nat", chainPortmap}, {"nat", chainPostrouting}, {"filter", chainForward}} {
		if err := ipt.ensureChain(ctx, c.table, c.chain); err != nil {
			return fmt.Errorf("create chain %s: %w", c.chain, err)
		}
	}
	for _, r := range baseRules(m.cfg.BridgeName, m.subnet.String()) {
		if err := ipt.ensureRule(ctx, r.table, r.chain, r.first, r.rule); err != nil {
			return fmt.Errorf("add %s rule: %w", r.chain, err)
		}
	}
	m.bridgeReady = true
	return nil
}

// RemoveBridge removes the bridge and the rules its allocations share; it
// refuses while any allocation has a network. The client never calls it
// (the bridge stays, as Nomad's does); tests and uninstalls do.
func (m *Manager) RemoveBridge(ctx context.Context) error {
	m.mu.Lock()
	recs, err := m.list()
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		return fmt.Errorf("%d allocations still have a network", len(recs))
	}
	ip, err := m.ipTool()
	if err != nil {
		return err
	}
	ipt, err := m.iptables()
	if err != nil {
		return err
	}
	m.bridgeMu.Lock()
	defer m.bridgeMu.Unlock()
	m.bridgeReady = false
	var errs []error
	for _, c := range []struct{ table, chain string }{{"nat", chainPostrouting}, {"filter", chainForward}} {
		if err := ipt.deleteTagged(ctx, c.table, c.chain, bridgeComment(m.cfg.BridgeName)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ip.deleteLink(ctx, m.cfg.BridgeName); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Teardown removes the allocation's port mappings, the host end of its
// veth and its namespace, then its record. It does what it can of that
// without a record too, and is a no-op for an allocation with no network.
// A record whose removal failed is kept, so a later Cleanup retries.
func (m *Manager) Teardown(ctx context.Context, allocID string) error {
	if err := validAllocID(allocID); err != nil {
		return fmt.Errorf("tear down network: %w", err)
	}
	m.mu.Lock()
	rec, err := m.load(allocID)
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("tear down network of alloc %s: %w", allocID, err)
	}
	if rec == nil {
		// Without a record only what is named by the whole ID is surely
		// the allocation's: its namespace (whose veth goes with it) and
		// its rules.
		rec = &record{AllocID: allocID, Netns: netnsName(allocID), Mode: ModeBridge}
	}
	var errs []error
	if rec.Mode == ModeBridge {
		if ipt, err := m.iptables(); err == nil {
			if err := ipt.deleteTagged(ctx, "nat", chainPortmap, allocComment(allocID)); err != nil {
				errs = append(errs, fmt.Errorf("remove port mappings: %w", err))
			}
		}
	}
	ip, err := m.ipTool()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if rec.HostVeth != "" {
		if err := ip.deleteLink(ctx, rec.HostVeth); err != nil {
			errs = append(errs, fmt.Errorf("remove veth: %w", err))
		}
	}
	if err := ip.deleteNetns(ctx, rec.Netns); err != nil {
		errs = append(errs, fmt.Errorf("remove network namespace: %w", err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("tear down network of alloc %s: %w", allocID, errors.Join(errs...))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := os.Remove(m.recordPath(allocID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tear down network of alloc %s: %w", allocID, err)
	}
	return nil
}

// Status returns the allocation's network, if it has one.
func (m *Manager) Status(allocID string) (*Status, bool) {
	if validAllocID(allocID) != nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.load(allocID)
	if err != nil || rec == nil {
		return nil, false
	}
	return rec.status(), true
}

// Cleanup tears down the network of every recorded allocation for which
// keep returns false: what a client that crashed, or stopped while an
// allocation was being removed, left behind. It returns the networks it
// removed, so the caller can have the drivers that made some of them
// destroy their part.
func (m *Manager) Cleanup(ctx context.Context, keep func(allocID string) bool) ([]*Status, error) {
	m.mu.Lock()
	recs, err := m.list()
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("list allocation networks: %w", err)
	}
	var removed []*Status
	var errs []error
	for _, rec := range recs {
		if keep(rec.AllocID) {
			continue
		}
		if err := m.Teardown(ctx, rec.AllocID); err != nil {
			errs = append(errs, err)
			continue
		}
		m.logger.Info("removed the network of an allocation this client no longer runs", "alloc_id", rec.AllocID)
		removed = append(removed, rec.status())
	}
	return removed, errors.Join(errs...)
}

// InNamespace runs fn inside the allocation's network namespace (see the
// package function InNamespace), for example to open listeners there.
func (m *Manager) InNamespace(allocID string, fn func() error) error {
	st, ok := m.Status(allocID)
	if !ok {
		return fmt.Errorf("alloc %s has no network namespace", allocID)
	}
	return InNamespace(st.Path, fn)
}

func (m *Manager) recordPath(allocID string) string {
	return filepath.Join(m.cfg.StateDir, allocID+".json")
}

// load reads an allocation's record; nil without error when there is none.
func (m *Manager) load(allocID string) (*record, error) {
	b, err := os.ReadFile(m.recordPath(allocID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode network record of alloc %s: %w", allocID, err)
	}
	if rec.AllocID != allocID || rec.Netns == "" {
		return nil, fmt.Errorf("network record of alloc %s is damaged", allocID)
	}
	return &rec, nil
}

func (m *Manager) save(rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	p := m.recordPath(rec.AllocID)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write network record: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write network record: %w", err)
	}
	return nil
}

// list reads every record, sorted by allocation ID.
func (m *Manager) list() ([]*record, error) {
	entries, err := os.ReadDir(m.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	var out []*record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || validAllocID(id) != nil {
			continue
		}
		rec, err := m.load(id)
		if err != nil {
			m.logger.Warn("skip network record", "file", e.Name(), "error", err)
			continue
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AllocID < out[j].AllocID })
	return out, nil
}

const lastAddrFile = "last-address"

// nextAddr picks the next free address after the last one given out, so a
// just-freed address is not handed to the next allocation at once.
func (m *Manager) nextAddr() (netip.Addr, error) {
	recs, err := m.list()
	if err != nil {
		return netip.Addr{}, err
	}
	used := map[netip.Addr]bool{}
	for _, r := range recs {
		if p, err := netip.ParsePrefix(r.Address); err == nil {
			used[p.Addr()] = true
		}
	}
	first := m.gateway.Addr().Next()
	norm := func(a netip.Addr) netip.Addr {
		if !m.subnet.Contains(a) || isBroadcast(a, m.subnet) || a.Less(first) {
			return first
		}
		return a
	}
	start := first
	if b, err := os.ReadFile(filepath.Join(m.cfg.StateDir, lastAddrFile)); err == nil {
		if a, err := netip.ParseAddr(strings.TrimSpace(string(b))); err == nil {
			start = norm(a.Next())
		}
	}
	a := start
	for used[a] {
		a = norm(a.Next())
		if a == start {
			return netip.Addr{}, fmt.Errorf("no free address left in %s", m.subnet)
		}
	}
	if err := os.WriteFile(filepath.Join(m.cfg.StateDir, lastAddrFile), []byte(a.String()+"\n"), 0o600); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// isBroadcast reports whether a is the last address of p.
func isBroadcast(a netip.Addr, p netip.Prefix) bool {
	return p.Contains(a) && !p.Contains(a.Next())
}

// Usable reports why this host cannot give allocations their own networks,
// or nil when it can: it takes root, and the ip and iptables tools.
func (m *Manager) Usable() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("allocation networks need root")
	}
	if _, err := m.ipTool(); err != nil {
		return err
	}
	if _, err := m.iptables(); err != nil {
		return err
	}
	return nil
}
