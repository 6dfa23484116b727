package network

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Defaults of the client's bridge_network_* settings.
const (
	DefaultBridgeName = "nomadish"
	DefaultSubnet     = "172.26.64.0/20"
)

// Network modes of a group's network block that this package sets up.
const (
	ModeHost   = "host"
	ModeBridge = "bridge"
	ModeNone   = "none"
)

// Config configures a Manager.
type Config struct {
	// BridgeName is the host bridge allocations attach to
	// (bridge_network_name).
	BridgeName string
	// Subnet is the IPv4 range allocations get addresses from
	// (bridge_network_subnet); its first address is the bridge's.
	Subnet string
	// HairpinMode lets an allocation reach its own mapped host ports
	// through the bridge (bridge_network_hairpin_mode).
	HairpinMode bool
	// StateDir holds one record per allocation network. It must survive a
	// client restart.
	StateDir string
	// Logger is scoped by the manager as "network".
	Logger hclog.Logger
}

// Validate reports every problem with the config.
func (c *Config) Validate() error {
	var errs []error
	if err := validIfName(c.BridgeName); err != nil {
		errs = append(errs, fmt.Errorf("bridge_network_name: %w", err))
	}
	if _, err := parseSubnet(c.Subnet); err != nil {
		errs = append(errs, fmt.Errorf("bridge_network_subnet: %w", err))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("network state dir is required"))
	}
	return errors.Join(errs...)
}

func (c *Config) canonicalize() {
	if c.BridgeName == "" {
		c.BridgeName = DefaultBridgeName
	}
	if c.Subnet == "" {
		c.Subnet = DefaultSubnet
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
}

// validIfName checks a Linux interface name.
func validIfName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > 15:
		return fmt.Errorf("%q is longer than 15 characters", name)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not an interface name", name)
	case strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("%q must not contain '/', ':' or white space", name)
	}
	return nil
}

// parseSubnet parses an IPv4 CIDR with room for a gateway and at least
// two allocations.
func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 subnet", s)
	}
	if p.Bits() > 29 {
		return netip.Prefix{}, fmt.Errorf("%q is too small: it needs at most 29 prefix bits", s)
	}
	return p.Masked(), nil
}
