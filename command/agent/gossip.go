package agent

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nomadish/nomadish/nomadish/gossip"
	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Join retry bounds.
const (
	joinBackoffStart = 500 * time.Millisecond
	joinBackoffMax   = 15 * time.Second
)

// DecodeGossipKey checks and decodes a base64 gossip encryption key.
func DecodeGossipKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("encrypt: the key is not valid base64: %v", err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("encrypt: the key is %d bytes; it must be 16, 24 or 32 bytes (32 recommended)", len(key))
}

func (a *Agent) setupGossip() error {
	c := a.config
	key, err := DecodeGossipKey(c.Server.Encrypt)
	if err != nil {
		return err
	}
	host := c.BindAddr
	if c.Addresses.Serf != "" {
		host = c.Addresses.Serf
	}
	var advHost string
	advPort := c.Ports.Serf
	if c.Advertise.Serf != "" {
		h, p, err := net.SplitHostPort(c.Advertise.Serf)
		if err != nil {
			advHost = c.Advertise.Serf
		} else {
			advHost = h
			advPort, _ = strconv.Atoi(p)
		}
	}
	events := make(chan gossip.Event, 256)
	p, err := gossip.New(&gossip.Config{
		Name:          c.Name + "." + c.Region,
		BindAddr:      host,
		BindPort:      c.Ports.Serf,
		AdvertiseAddr: advHost,
		AdvertisePort: advPort,
		Tags:          a.gossipTags(),
		EncryptKey:    key,
		Events:        events,
		Logger:        a.logger,
		LAN:           !isLoopback(host),
	})
	if err != nil {
		return err
	}
	a.gossip = p
	a.gossipEvents = events
	ctx, cancel := context.WithCancel(context.Background())
	a.gossipCancel = cancel
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-events:
				if e.Kind != gossip.EventUpdate {
					a.logger.Info("gossip member event", "event", e.Kind, "member", e.Member.Name, "role", e.Member.Tags[server.TagRole])
				}
				if a.server != nil {
					a.server.MemberEvent(e)
				}
			}
		}
	}()
	a.gossipCtx = ctx
	return nil
}

// joinGossip starts joining the pool through the configured addresses. It
// runs once the agent's tags are complete: a client publishes its node ID
// only after its client is set up, and a server that first hears of a
// member without it could miss the update that adds it, and would then be
// unable to mark the node down when gossip says it failed.
func (a *Agent) joinGossip() {
	c := a.config
	ctx := a.gossipCtx
	var join []string
	if c.Server.ServerJoin != nil {
		join = append(join, c.Server.ServerJoin.StartJoin...)
		join = append(join, c.Server.ServerJoin.RetryJoin...)
	}
	if c.Client.ServerJoin != nil {
		join = append(join, c.Client.ServerJoin.StartJoin...)
		join = append(join, c.Client.ServerJoin.RetryJoin...)
	}
	join = append(join, c.Join...)
	if len(join) > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.retryJoin(ctx, join)
		}()
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// retryJoin joins the gossip pool through the given addresses, retrying
// with backoff and jitter until one answers.
func (a *Agent) retryJoin(ctx context.Context, addrs []string) {
	backoff := joinBackoffStart
	for {
		n, err := a.gossip.Join(withDefaultPort(addrs, a.config.Ports.Serf))
		if n > 0 {
			a.logger.Info("joined the gossip pool", "contacted", n)
			return
		}
		a.logger.Warn("join failed, will retry", "addresses", addrs, "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > joinBackoffMax {
			backoff = joinBackoffMax
		}
	}
}

func withDefaultPort(addrs []string, port int) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(port))
		}
		out = append(out, a)
	}
	return out
}

// gossipTags are the tags this agent publishes.
func (a *Agent) gossipTags() map[string]string {
	httpAddr := ""
	if a.http != nil {
		httpAddr = a.http.Addr()
	}
	if a.server != nil {
		return a.server.GossipTags(httpAddr)
	}
	tags := map[string]string{
		server.TagRole:     server.RoleClient,
		server.TagRegion:   a.config.Region,
		server.TagDC:       a.config.Datacenter,
		server.TagHTTPAddr: httpAddr,
	}
	if a.client != nil {
		tags[server.TagNodeID] = a.client.NodeID()
	}
	return tags
}

// gossipServers returns the RPC addresses of live servers of our region.
func (a *Agent) gossipServers() []string {
	if a.gossip == nil {
		return nil
	}
	var out []string
	for _, m := range a.gossip.Members() {
		if m.Status == gossip.StatusAlive && m.Tags[server.TagRole] == server.RoleServer && m.Tags[server.TagRegion] == a.config.Region {
			out = append(out, m.Tags[server.TagRPCAddr])
		}
	}
	return out
}

// leaderHTTPAddr is the HTTP address the leader publishes in gossip.
func (a *Agent) leaderHTTPAddr() string {
	if a.gossip == nil {
		return ""
	}
	leader := ""
	if a.server != nil {
		leader = a.server.Leader()
	} else {
		var reply structs.StatusLeaderResponse
		if err := a.RPC("Status.Leader", &structs.GenericRequest{}, &reply); err == nil {
			leader = reply.Leader
		}
	}
	for _, m := range a.gossip.Members() {
		if m.Tags[server.TagRPCAddr] == leader && m.Status == gossip.StatusAlive {
			return m.Tags[server.TagHTTPAddr]
		}
	}
	return ""
}
