package structs

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// ConsulConnect is a service's `connect` block. For a service of the
// built-in provider, nomadish serves the upstreams of sidecar_service.proxy
// itself with the client's service proxy; the rest (native, sidecar_task,
// gateway, and every part of a consul-provider service) is parsed and
// stored only.
type ConsulConnect struct {
	// Native marks a Connect-native service.
	Native bool
	// SidecarService asks for a sidecar proxy; its upstreams are served.
	SidecarService *ConsulSidecarService `json:",omitempty"`
	// SidecarTask tunes the injected proxy task (stored only).
	SidecarTask map[string]interface{} `json:",omitempty"`
	// Gateway is a Consul gateway definition (stored only).
	Gateway map[string]interface{} `json:",omitempty"`
}

// ConsulSidecarService is the `sidecar_service` block.
type ConsulSidecarService struct {
	// Tags of the sidecar registration (stored only).
	Tags []string `json:",omitempty"`
	// Port of the sidecar's inbound listener (stored only).
	Port string `json:",omitempty"`
	// Proxy holds the upstreams.
	Proxy *ConsulProxy `json:",omitempty"`
	// DisableDefaultTCPCheck (stored only).
	DisableDefaultTCPCheck bool
	// Meta of the sidecar registration (stored only).
	Meta map[string]string `json:",omitempty"`
}

// ConsulProxy is the `proxy` block of a sidecar_service.
type ConsulProxy struct {
	// LocalServiceAddress and LocalServicePort are where an inbound proxy
	// would reach the service (stored only: nomadish proxies outbound
	// connections only).
	LocalServiceAddress string `json:",omitempty"`
	LocalServicePort    int    `json:",omitempty"`
	// Upstreams are the services the group reaches through the proxy.
	Upstreams []ConsulUpstream `json:",omitempty"`
	// Expose and TransparentProxy are stored as written.
	Expose           map[string]interface{} `json:",omitempty"`
	TransparentProxy map[string]interface{} `json:",omitempty"`
	// Config is opaque proxy configuration (stored only).
	Config map[string]interface{} `json:",omitempty"`
}

// ConsulUpstream is one `upstreams` block: a local address that reaches
// the healthy instances of a service.
type ConsulUpstream struct {
	// DestinationName is the service to reach.
	DestinationName string
	// DestinationNamespace is its namespace; "" is the job's.
	DestinationNamespace string `json:",omitempty"`
	// DestinationPartition, DestinationPeer and DestinationType are
	// Consul's (stored only).
	DestinationPartition string `json:",omitempty"`
	DestinationPeer      string `json:",omitempty"`
	DestinationType      string `json:",omitempty"`
	// LocalBindPort is the port the proxy listens on for the allocation.
	LocalBindPort int
	// LocalBindAddress is the address it listens on; "" is 127.0.0.1.
	LocalBindAddress string `json:",omitempty"`
	// Datacenter, when set, limits the instances to one datacenter.
	Datacenter string `json:",omitempty"`
	// LocalBindSocketPath and LocalBindSocketMode ask for a unix socket
	// (stored only).
	LocalBindSocketPath string `json:",omitempty"`
	LocalBindSocketMode string `json:",omitempty"`
	// MeshGateway is Consul's (stored only).
	MeshGateway *ConsulMeshGateway `json:",omitempty"`
	// Config tunes the proxy: lb_policy, connect_timeout_ms and
	// drain_timeout (see UpstreamOptions); other keys are ignored.
	Config map[string]interface{} `json:",omitempty"`
}

// ConsulMeshGateway is an upstream's `mesh_gateway` block (stored only).
type ConsulMeshGateway struct {
	Mode string
}

// Upstream load-balancing policies.
const (
	// UpstreamPolicyRoundRobin sends each new connection to the next
	// instance in turn.
	UpstreamPolicyRoundRobin = "round_robin"
	// UpstreamPolicyLeastConn sends each new connection to the instance
	// with the fewest open connections through this client.
	UpstreamPolicyLeastConn = "least_conn"
)

// Default upstream proxy timeouts.
const (
	DefaultUpstreamConnectTimeout = 5 * time.Second
	DefaultUpstreamDrainTimeout   = 30 * time.Second
)

// UpstreamOptions are the proxy settings read from an upstream's config.
type UpstreamOptions struct {
	// Policy is UpstreamPolicyRoundRobin (the default) or
	// UpstreamPolicyLeastConn.
	Policy string
	// ConnectTimeout bounds one dial to an instance (connect_timeout_ms).
	ConnectTimeout time.Duration
	// DrainTimeout is how long connections to a removed instance may run
	// before they are closed (drain_timeout, a duration string).
	DrainTimeout time.Duration
}

// Options reads the proxy settings of the upstream's config, with their
// defaults.
func (u *ConsulUpstream) Options() (UpstreamOptions, error) {
	o := UpstreamOptions{
		Policy:         UpstreamPolicyRoundRobin,
		ConnectTimeout: DefaultUpstreamConnectTimeout,
		DrainTimeout:   DefaultUpstreamDrainTimeout,
	}
	if v, ok := u.Config["lb_policy"]; ok {
		s, _ := v.(string)
		switch s {
		case UpstreamPolicyRoundRobin:
		case UpstreamPolicyLeastConn, "least_request":
			o.Policy = UpstreamPolicyLeastConn
		default:
			return o, fmt.Errorf("config.lb_policy %v must be %q or %q", v, UpstreamPolicyRoundRobin, UpstreamPolicyLeastConn)
		}
	}
	if v, ok := u.Config["connect_timeout_ms"]; ok {
		ms, err := configInt(v)
		if err != nil || ms <= 0 {
			return o, fmt.Errorf("config.connect_timeout_ms %v must be a positive number of milliseconds", v)
		}
		o.ConnectTimeout = time.Duration(ms) * time.Millisecond
	}
	if v, ok := u.Config["drain_timeout"]; ok {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return o, fmt.Errorf("config.drain_timeout %v must be a duration such as \"30s\"", v)
		}
		o.DrainTimeout = d
	}
	return o, nil
}

// BindAddr is the host:port the upstream's listener binds.
func (u *ConsulUpstream) BindAddr() string {
	addr := u.LocalBindAddress
	if addr == "" {
		addr = "127.0.0.1"
	}
	return net.JoinHostPort(addr, strconv.Itoa(u.LocalBindPort))
}

func configInt(v interface{}) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case uint64:
		return int64(n), nil
	case float64:
		if n != float64(int64(n)) {
			return 0, fmt.Errorf("%v is not a whole number", n)
		}
		return int64(n), nil
	case string:
		return strconv.ParseInt(n, 10, 64)
	}
	return 0, fmt.Errorf("%v is not a number", v)
}

// Upstreams returns the upstreams of the sidecar proxy, or nil.
func (c *ConsulConnect) Upstreams() []ConsulUpstream {
	if c == nil || c.SidecarService == nil || c.SidecarService.Proxy == nil {
		return nil
	}
	return c.SidecarService.Proxy.Upstreams
}

// ServedUpstreams returns the upstreams the client's proxy serves for the
// group: those of its built-in provider services.
func (tg *TaskGroup) ServedUpstreams() []ConsulUpstream {
	var out []ConsulUpstream
	for _, s := range tg.Services {
		if s.BuiltinProvider() {
			out = append(out, s.Connect.Upstreams()...)
		}
	}
	return out
}

// validateConnect checks the connect block of a built-in provider
// service; group says whether the service is a group's.
func validateConnect(p *problems, path string, c *ConsulConnect, group bool, binds map[string]string) {
	if c == nil {
		return
	}
	path = join(path, "connect")
	if !group {
		p.add(path, "connect is only valid in a group's service")
		return
	}
	for i, u := range c.Upstreams() {
		up := join(path, fmt.Sprintf("sidecar_service -> proxy -> upstreams[%d]", i))
		if u.DestinationName == "" {
			p.add(up, "destination_name is required")
		}
		if u.LocalBindPort < 1 || u.LocalBindPort > 65535 {
			p.add(up, "local_bind_port %d must be between 1 and 65535", u.LocalBindPort)
		}
		if u.LocalBindAddress != "" && net.ParseIP(u.LocalBindAddress) == nil {
			p.add(up, "local_bind_address %q must be an IP address", u.LocalBindAddress)
		}
		if _, err := u.Options(); err != nil {
			p.add(up, "%v", err)
		}
		if u.LocalBindPort > 0 {
			addr := u.BindAddr()
			if prev, ok := binds[addr]; ok {
				p.add(up, "local address %s is already used by upstream %q", addr, prev)
			} else {
				binds[addr] = u.DestinationName
			}
		}
	}
}
