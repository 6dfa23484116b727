// Package gossip wraps memberlist: every agent, server or client, joins
// one pool; each member carries tags (role, region, datacenter, RPC
// address, IDs) in its node metadata, and member changes are delivered to
// the owner as events.
package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Member statuses.
const (
	StatusAlive  = "alive"
	StatusFailed = "failed"
	StatusLeft   = "left"
)

// Event kinds.
const (
	EventJoin   = "join"
	EventUpdate = "update"
	EventFailed = "failed"
	EventLeave  = "leave"
)

// Member is one agent in the pool.
type Member struct {
	Name   string
	Addr   string
	Port   int
	Tags   map[string]string
	Status string
}

// Event is a change to a member. Events are delivered in order on the
// Config.Events channel; a slow reader delays gossip, so read promptly.
type Event struct {
	Kind   string
	Member Member
}

// Config configures a pool member.
type Config struct {
	// Name is unique in the pool.
	Name string
	// BindAddr and BindPort are where memberlist listens (TCP and UDP).
	BindAddr string
	BindPort int
	// AdvertiseAddr and AdvertisePort are what others dial; defaults to bind.
	AdvertiseAddr string
	AdvertisePort int
	// Tags are published in the member's metadata (512 bytes at most, encoded).
	Tags map[string]string
	// EncryptKey, when set, is a 16, 24 or 32 byte AES key; members without
	// the same key cannot talk to this one.
	EncryptKey []byte
	// Events receives member changes; may be nil.
	Events chan<- Event
	// Logger is the parent logger.
	Logger hclog.Logger
	// LAN uses memberlist's LAN timings; false uses the faster local ones
	// (probe every 200 ms), for loopback clusters.
	LAN bool
}

// Pool is this agent's membership in the gossip pool.
type Pool struct {
	cfg    *Config
	logger hclog.Logger
	ml     *memberlist.Memberlist

	mu      sync.Mutex
	tags    []byte
	members map[string]*Member
}

// New starts memberlist and returns the pool (not yet joined to anyone).
func New(cfg *Config) (*Pool, error) {
	if cfg.Name == "" {
		return nil, errors.New("gossip: name is required")
	}
	p := &Pool{cfg: cfg, logger: cfg.Logger.Named("gossip"), members: map[string]*Member{}}
	tags, err := encodeTags(cfg.Tags)
	if err != nil {
		return nil, err
	}
	p.tags = tags
	var mc *memberlist.Config
	if cfg.LAN {
		mc = memberlist.DefaultLANConfig()
	} else {
		mc = memberlist.DefaultLocalConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.GossipInterval = 50 * time.Millisecond
		mc.SuspicionMult = 2
	}
	mc.Name = cfg.Name
	mc.BindAddr = cfg.BindAddr
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertiseAddr == "" && cfg.BindAddr != "0.0.0.0" {
		mc.AdvertiseAddr = cfg.BindAddr
	}
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	mc.Delegate = &delegate{p: p}
	mc.Events = &events{p: p}
	mc.Logger = log.New(&logAdapter{p.logger}, "", 0)
	if len(cfg.EncryptKey) > 0 {
		kr, err := memberlist.NewKeyring(nil, cfg.EncryptKey)
		if err != nil {
			return nil, fmt.Errorf("gossip keyring: %w", err)
		}
		mc.Keyring = kr
		mc.GossipVerifyIncoming = true
		mc.GossipVerifyOutgoing = true
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip: %w", err)
	}
	p.ml = ml
	return p, nil
}

func encodeTags(tags map[string]string) ([]byte, error) {
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("gossip tags are %d bytes, more than %d", len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// Join contacts existing members ("host:port"); it returns how many answered.
func (p *Pool) Join(addrs []string) (int, error) {
	return p.ml.Join(addrs)
}

// SetTags replaces this member's tags and spreads them.
func (p *Pool) SetTags(tags map[string]string) error {
	b, err := encodeTags(tags)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.tags = b
	p.mu.Unlock()
	return p.ml.UpdateNode(5 * time.Second)
}

// LocalName is this member's name.
func (p *Pool) LocalName() string { return p.cfg.Name }

// Members lists every member seen, alive or not, sorted by name.
func (p *Pool) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		c := *m
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Forget drops a failed or departed member from the list.
func (p *Pool) Forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.members[name]; ok && m.Status != StatusAlive {
		delete(p.members, name)
	}
}

// tagLeaving marks a member that is leaving on purpose. memberlist reports
// a departure and a failure the same way; this tag, spread before the
// goodbye, tells them apart.
const tagLeaving = "leaving"

// Leave tells the pool this member is leaving, then stops gossip.
func (p *Pool) Leave(timeout time.Duration) error {
	p.mu.Lock()
	var tags map[string]string
	_ = json.Unmarshal(p.tags, &tags)
	p.mu.Unlock()
	if tags == nil {
		tags = map[string]string{}
	}
	tags[tagLeaving] = "true"
	if b, err := encodeTags(tags); err == nil {
		p.mu.Lock()
		p.tags = b
		p.mu.Unlock()
		_ = p.ml.UpdateNode(timeout / 2)
	}
	err := p.ml.Leave(timeout)
	if e := p.ml.Shutdown(); err == nil {
		err = e
	}
	return err
}

// Shutdown stops gossip without a goodbye: others see this member fail.
func (p *Pool) Shutdown() error { return p.ml.Shutdown() }

func (p *Pool) record(n *memberlist.Node, kind string) {
	m := Member{Name: n.Name, Addr: n.Addr.String(), Port: int(n.Port), Tags: map[string]string{}, Status: StatusAlive}
	if len(n.Meta) > 0 {
		if err := json.Unmarshal(n.Meta, &m.Tags); err != nil {
			p.logger.Warn("member has unreadable tags", "member", n.Name, "error", err)
		}
	}
	if kind == EventLeave {
		m.Status = StatusLeft
		if m.Tags[tagLeaving] != "true" {
			m.Status = StatusFailed
			kind = EventFailed
		}
	}
	delete(m.Tags, tagLeaving)
	p.mu.Lock()
	p.members[n.Name] = &m
	p.mu.Unlock()
	if p.cfg.Events != nil {
		p.cfg.Events <- Event{Kind: kind, Member: m}
	}
}

// Addr returns "addr:port" of a member.
func (m Member) Address() string { return net.JoinHostPort(m.Addr, strconv.Itoa(m.Port)) }

type delegate struct{ p *Pool }

func (d *delegate) NodeMeta(limit int) []byte {
	d.p.mu.Lock()
	defer d.p.mu.Unlock()
	return d.p.tags
}
func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

type events struct{ p *Pool }

func (e *events) NotifyJoin(n *memberlist.Node)   { e.p.record(n, EventJoin) }
func (e *events) NotifyLeave(n *memberlist.Node)  { e.p.record(n, EventLeave) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.p.record(n, EventUpdate) }

// logAdapter sends memberlist's standard-library log lines to hclog at
// the level their "[LEVEL]" prefix names.
type logAdapter struct{ l hclog.Logger }

func (a *logAdapter) Write(b []byte) (int, error) {
	line := strings.TrimRight(string(b), "\r\n")
	level, msg := "DEBUG", line
	if i := strings.Index(line, "["); i >= 0 {
		if j := strings.Index(line[i:], "] "); j > 0 {
			level, msg = line[i+1:i+j], line[i+j+2:]
		}
	}
	switch level {
	case "ERR", "ERROR":
		a.l.Error(msg)
	case "WARN":
		a.l.Warn(msg)
	default:
		a.l.Debug(msg)
	}
	return len(b), nil
}
