package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func catalog(_ context.Context, name string) ([]*structs.ServiceRegistration, error) {
	switch name {
	case "web":
		return []*structs.ServiceRegistration{
			{ID: "1", Address: "10.0.0.2", Port: 8080, Status: structs.CheckPassing},
			{ID: "2", Address: "10.0.0.1", Port: 8081},
			{ID: "3", Address: "10.0.0.3", Port: 8082, Status: structs.CheckCritical},
		}, nil
	case "down":
		return []*structs.ServiceRegistration{{ID: "4", Address: "10.0.0.4", Port: 1, Status: structs.CheckCritical}}, nil
	case "broken":
		return nil, errors.New("no servers")
	}
	return nil, nil
}

func query(t *testing.T, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	m := dnsmessage.Message{Header: dnsmessage.Header{ID: 7, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}}}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summary renders the answers as "A 10.0.0.1" and "SRV 8080 target".
func summary(rs []dnsmessage.Resource) string {
	var out []string
	for _, r := range rs {
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, "A "+net.IP(b.A[:]).String())
		case *dnsmessage.SRVResource:
			out = append(out, "SRV "+strconv.Itoa(int(b.Port))+" "+b.Target.String())
		}
	}
	return strings.Join(out, ", ")
}

func TestAnswer(t *testing.T) {
	s := &Server{lookup: catalog, domain: DefaultDomain, logger: hclog.NewNullLogger()}
	tests := []struct {
		name    string
		qname   string
		qtype   dnsmessage.Type
		rcode   dnsmessage.RCode
		answers string
		extra   string
	}{
		{name: "A of healthy instances", qname: "web.service.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeSuccess,
			answers: "A 10.0.0.1, A 10.0.0.2"},
		{name: "case insensitive", qname: "WEB.Service.Nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeSuccess,
			answers: "A 10.0.0.1, A 10.0.0.2"},
		{name: "SRV with targets", qname: "web.service.nomadish.", qtype: dnsmessage.TypeSRV, rcode: dnsmessage.RCodeSuccess,
			answers: "SRV 8081 10-0-0-1.addr.nomadish., SRV 8080 10-0-0-2.addr.nomadish.", extra: "A 10.0.0.1, A 10.0.0.2"},
		{name: "addr name", qname: "10-0-0-9.addr.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeSuccess, answers: "A 10.0.0.9"},
		{name: "bad addr name", qname: "nope.addr.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeNameError},
		{name: "unknown service", qname: "db.service.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeNameError},
		{name: "no healthy instance", qname: "down.service.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeSuccess},
		{name: "lookup failure", qname: "broken.service.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeServerFailure},
		{name: "other zone", qname: "example.com.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeRefused},
		{name: "unknown shape", qname: "a.b.c.nomadish.", qtype: dnsmessage.TypeA, rcode: dnsmessage.RCodeNameError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m dnsmessage.Message
			if err := m.Unpack(s.Answer(context.Background(), query(t, tc.qname, tc.qtype))); err != nil {
				t.Fatalf("unpack answer: %v", err)
			}
			if m.ID != 7 || !m.Response || m.RCode != tc.rcode {
				t.Fatalf("answer header = id %d response %v rcode %v, want 7 true %v", m.ID, m.Response, m.RCode, tc.rcode)
			}
			if got := summary(m.Answers); got != tc.answers {
				t.Errorf("answers = %q, want %q", got, tc.answers)
			}
			if got := summary(m.Additionals); got != tc.extra {
				t.Errorf("additionals = %q, want %q", got, tc.extra)
			}
		})
	}
}

func TestAnswerTruncates(t *testing.T) {
	var many []*structs.ServiceRegistration
	for i := 0; i < 100; i++ {
		many = append(many, &structs.ServiceRegistration{Address: fmt.Sprintf("10.0.1.%d", i), Port: 80})
	}
	s := &Server{lookup: func(context.Context, string) ([]*structs.ServiceRegistration, error) { return many, nil },
		domain: DefaultDomain, logger: hclog.NewNullLogger()}
	b := s.Answer(context.Background(), query(t, "web.service.nomadish.", dnsmessage.TypeSRV))
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if len(b) > maxUDPSize || !m.Truncated || len(m.Answers) == 0 {
		t.Errorf("answer = %d bytes, truncated %v, %d answers; want <= %d bytes, truncated, some answers", len(b), m.Truncated, len(m.Answers), maxUDPSize)
	}
}

// TestServeOverUDP resolves through Go's resolver against the real socket.
func TestServeOverUDP(t *testing.T) {
	s, err := Listen("127.0.0.1:0", "", catalog, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", s.Addr().String())
	}}
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer qcancel()
	addrs, err := r.LookupHost(qctx, "web.service.nomadish.")
	if err != nil {
		t.Fatalf("LookupHost() error = %v", err)
	}
	sort.Strings(addrs)
	if strings.Join(addrs, ",") != "10.0.0.1,10.0.0.2" {
		t.Errorf("LookupHost() = %v, want 10.0.0.1, 10.0.0.2", addrs)
	}
	_, srvs, err := r.LookupSRV(qctx, "", "", "web.service.nomadish.")
	if err != nil {
		t.Fatalf("LookupSRV() error = %v", err)
	}
	var ports []string
	for _, srv := range srvs {
		ports = append(ports, srv.Target+":"+strconv.Itoa(int(srv.Port)))
	}
	sort.Strings(ports)
	if len(srvs) != 2 || ports[0] != "10-0-0-1.addr.nomadish.:8081" || ports[1] != "10-0-0-2.addr.nomadish.:8080" {
		t.Errorf("LookupSRV() = %v", ports)
	}
}
