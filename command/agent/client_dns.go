package agent

// defaultDNSAddr is where the service DNS responder listens when enabled
// without an address.
const defaultDNSAddr = "127.0.0.1:8600"

// ClientDNS is the client's `dns` block: a responder for
// <service>.service.nomadish (A and SRV records of healthy instances).
type ClientDNS struct {
	Enabled bool   `hcl:"enabled,optional"`
	Addr    string `hcl:"addr,optional"`
}

// addr is the responder's address, or "" when disabled.
func (d *ClientDNS) addr() string {
	if d == nil || !d.Enabled {
		return ""
	}
	if d.Addr == "" {
		return defaultDNSAddr
	}
	return d.Addr
}
