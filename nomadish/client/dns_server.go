package client

import (
	"context"

	"github.com/nomadish/nomadish/nomadish/client/dns"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// startDNS starts the service DNS responder when DNSAddr is set; it stops
// when ctx ends.
func (c *Client) startDNS(ctx context.Context) error {
	if c.cfg.DNSAddr == "" {
		return nil
	}
	lookup := &serviceRPC{c: c}
	srv, err := dns.Listen(c.cfg.DNSAddr, dns.DefaultDomain, func(ctx context.Context, name string) ([]*structs.ServiceRegistration, error) {
		regs, _, err := lookup.ServicesByName(ctx, structs.DefaultNamespace, name, 0)
		return regs, err
	}, c.logger.Named("dns"))
	if err != nil {
		return err
	}
	c.logger.Info("service dns listening", "addr", srv.Addr().String())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		srv.Serve(ctx)
	}()
	return nil
}
