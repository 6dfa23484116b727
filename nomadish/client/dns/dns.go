// Package dns answers DNS queries for built-in services on a client:
// `<service>.service.nomadish.` has an A record per healthy instance and
// an SRV record per healthy instance whose target,
// `<a-b-c-d>.addr.nomadish.`, resolves to the instance's address. It
// speaks UDP only; answers that do not fit 512 bytes are truncated.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// DefaultDomain is the zone answered.
const DefaultDomain = "nomadish."

// maxUDPSize is the classic DNS UDP payload limit.
const maxUDPSize = 512

// Lookup returns the instances of a service. The server calls it from its
// serving goroutine, once per query; it may block on the network and must
// honour ctx.
type Lookup func(ctx context.Context, service string) ([]*structs.ServiceRegistration, error)

// Server is a DNS responder bound to one UDP socket.
type Server struct {
	conn   net.PacketConn
	lookup Lookup
	domain string
	logger hclog.Logger

	closeOnce sync.Once
}

// Listen binds addr ("127.0.0.1:8600"). domain "" means DefaultDomain.
func Listen(addr, domain string, lookup Lookup, logger hclog.Logger) (*Server, error) {
	if domain == "" {
		domain = DefaultDomain
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, ".")) + "."
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen dns on %s: %w", addr, err)
	}
	return &Server{conn: conn, lookup: lookup, domain: domain, logger: logger}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Serve answers queries until ctx ends, then closes the socket.
func (s *Server) Serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	defer s.close()
	buf := make([]byte, 4096)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Warn("dns read", "error", err)
			continue
		}
		resp := s.Answer(ctx, buf[:n])
		if resp == nil {
			continue
		}
		if _, err := s.conn.WriteTo(resp, from); err != nil && ctx.Err() == nil {
			s.logger.Debug("dns write", "error", err)
		}
	}
}

func (s *Server) close() { s.closeOnce.Do(func() { _ = s.conn.Close() }) }

// Answer builds the response to one query message; nil drops it.
func (s *Server) Answer(ctx context.Context, req []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(req)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}}
	if err != nil {
		resp.RCode = dnsmessage.RCodeFormatError
		return pack(&resp)
	}
	resp.Questions = []dnsmessage.Question{q}
	resp.RCode, resp.Answers, resp.Additionals = s.resolve(ctx, q)
	return pack(&resp)
}

func pack(m *dnsmessage.Message) []byte {
	out, err := m.Pack()
	for err == nil && len(out) > maxUDPSize && (len(m.Answers) > 0 || len(m.Additionals) > 0) {
		m.Truncated = true
		if len(m.Additionals) > 0 {
			m.Additionals = m.Additionals[:len(m.Additionals)-1]
		} else {
			m.Answers = m.Answers[:len(m.Answers)-1]
		}
		out, err = m.Pack()
	}
	if err != nil {
		return nil
	}
	return out
}

// resolve answers one question.
func (s *Server) resolve(ctx context.Context, q dnsmessage.Question) (dnsmessage.RCode, []dnsmessage.Resource, []dnsmessage.Resource) {
	name := strings.ToLower(q.Name.String())
	if !strings.HasSuffix(name, "."+s.domain) {
		return dnsmessage.RCodeRefused, nil, nil
	}
	rel := strings.TrimSuffix(name, "."+s.domain)
	labels := strings.Split(rel, ".")
	switch {
	case len(labels) == 2 && labels[1] == "addr":
		ip, ok := parseAddrLabel(labels[0])
		if !ok {
			return dnsmessage.RCodeNameError, nil, nil
		}
		if q.Type != dnsmessage.TypeA && q.Type != dnsmessage.TypeALL {
			return dnsmessage.RCodeSuccess, nil, nil
		}
		return dnsmessage.RCodeSuccess, []dnsmessage.Resource{aRecord(q.Name, ip)}, nil
	case len(labels) == 2 && labels[1] == "service":
		return s.service(ctx, q, labels[0])
	}
	return dnsmessage.RCodeNameError, nil, nil
}

func (s *Server) service(ctx context.Context, q dnsmessage.Question, service string) (dnsmessage.RCode, []dnsmessage.Resource, []dnsmessage.Resource) {
	regs, err := s.lookup(ctx, service)
	if err != nil {
		s.logger.Warn("dns lookup", "service", service, "error", err)
		return dnsmessage.RCodeServerFailure, nil, nil
	}
	if len(regs) == 0 {
		return dnsmessage.RCodeNameError, nil, nil
	}
	var healthy []*structs.ServiceRegistration
	for _, r := range regs {
		if r.Healthy() {
			healthy = append(healthy, r)
		}
	}
	sort.Slice(healthy, func(i, j int) bool {
		if healthy[i].Address != healthy[j].Address {
			return healthy[i].Address < healthy[j].Address
		}
		return healthy[i].Port < healthy[j].Port
	})
	var answers, extra []dnsmessage.Resource
	seenA := map[netip.Addr]bool{}
	for _, r := range healthy {
		ip, err := netip.ParseAddr(r.Address)
		if err != nil || !ip.Is4() {
			continue
		}
		switch q.Type {
		case dnsmessage.TypeA, dnsmessage.TypeALL:
			if !seenA[ip] {
				seenA[ip] = true
				answers = append(answers, aRecord(q.Name, ip))
			}
		case dnsmessage.TypeSRV:
			target := dnsmessage.MustNewName(strings.ReplaceAll(ip.String(), ".", "-") + ".addr." + s.domain)
			answers = append(answers, dnsmessage.Resource{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeSRV, Class: dnsmessage.ClassINET},
				Body:   &dnsmessage.SRVResource{Priority: 1, Weight: 1, Port: uint16(r.Port), Target: target},
			})
			if !seenA[ip] {
				seenA[ip] = true
				extra = append(extra, aRecord(target, ip))
			}
		}
	}
	return dnsmessage.RCodeSuccess, answers, extra
}

func aRecord(name dnsmessage.Name, ip netip.Addr) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET},
		Body:   &dnsmessage.AResource{A: ip.As4()},
	}
}

// parseAddrLabel reads "10-0-0-1".
func parseAddrLabel(l string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(strings.ReplaceAll(l, "-", "."))
	if err != nil || !ip.Is4() {
		return netip.Addr{}, false
	}
	return ip, true
}
