package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// allocIfName is the allocation's interface inside its namespace.
const allocIfName = "eth0"

// ipTool runs ip(8).
type ipTool struct{ path string }

func (t ipTool) run(ctx context.Context, args ...string) error {
	_, err := run(ctx, t.path, args...)
	return err
}

// linkExists reports whether the host has an interface called name.
func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// addNetns makes a named namespace, replacing a stale file of that name.
func (t ipTool) addNetns(ctx context.Context, name string) error {
	if p := netnsPath(name); !isNetns(p) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", p, err)
		}
	}
	return t.run(ctx, "netns", "add", name)
}

// deleteNetns removes a named namespace, made here or attached; the
// namespace itself goes once no process is left in it.
func (t ipTool) deleteNetns(ctx context.Context, name string) error {
	p := netnsPath(name)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !isNetns(p) {
		return os.Remove(p)
	}
	return t.run(ctx, "netns", "delete", name)
}

// ensureBridge creates the bridge with the gateway address if it is
// missing, brings it up, and lets the host forward and reach mapped ports
// on 127.0.0.1 through it.
func (t ipTool) ensureBridge(ctx context.Context, bridge string, gw netip.Prefix) error {
	if !linkExists(bridge) {
		if err := t.run(ctx, "link", "add", "name", bridge, "type", "bridge"); err != nil && !strings.Contains(err.Error(), "File exists") {
			return fmt.Errorf("create bridge: %w", err)
		}
	}
	iface, err := net.InterfaceByName(bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", bridge, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return fmt.Errorf("bridge %s addresses: %w", bridge, err)
	}
	have := false
	for _, a := range addrs {
		if a.String() == gw.String() {
			have = true
		}
	}
	if !have {
		if err := t.run(ctx, "addr", "add", gw.String(), "dev", bridge); err != nil && !strings.Contains(err.Error(), "File exists") {
			return fmt.Errorf("address the bridge: %w", err)
		}
	}
	if err := t.run(ctx, "link", "set", bridge, "up"); err != nil {
		return err
	}
	if err := setSysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	return setSysctl("net/ipv4/conf/"+bridge+"/route_localnet", "1")
}

// setupVeth links the namespace to the bridge: eth0 inside with addr and
// a default route through the gateway, hostVeth on the bridge.
func (t ipTool) setupVeth(ctx context.Context, netns, hostVeth, bridge string, addr netip.Prefix, gw netip.Addr, hairpin bool) error {
	// Leftovers of an interrupted setup of the same allocation.
	if linkExists(hostVeth) {
		if err := t.run(ctx, "link", "del", hostVeth); err != nil {
			return err
		}
	}
	// Removing either end of a veth removes both, so without the host
	// end there is no allocation end left either.
	steps := [][]string{
		{"link", "add", hostVeth, "type", "veth", "peer", "name", allocIfName, "netns", netns},
		{"link", "set", hostVeth, "master", bridge},
		{"link", "set", hostVeth, "up"},
		{"-n", netns, "addr", "add", addr.String(), "dev", allocIfName},
		{"-n", netns, "link", "set", allocIfName, "up"},
		{"-n", netns, "route", "add", "default", "via", gw.String()},
	}
	if hairpin {
		steps = append(steps, []string{"link", "set", hostVeth, "type", "bridge_slave", "hairpin", "on"})
	}
	for _, s := range steps {
		if err := t.run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// deleteLink removes a host interface if it exists; removing one end of a
// veth removes the pair.
func (t ipTool) deleteLink(ctx context.Context, name string) error {
	if !linkExists(name) {
		return nil
	}
	err := t.run(ctx, "link", "del", name)
	if err != nil && !linkExists(name) {
		return nil
	}
	return err
}

// hostVethName derives the host end of an allocation's veth from its ID,
// within the 15 characters an interface name may have.
func hostVethName(allocID string) string {
	id := strings.ReplaceAll(allocID, "-", "")
	if len(id) > 12 {
		id = id[:12]
	}
	return "nsh" + id
}

func netnsName(allocID string) string { return "nomadish-" + allocID }
