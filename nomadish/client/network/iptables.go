package network

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Chains this package owns. Other chains (Docker's among them) are only
// touched to add one jump to ours.
const (
	// chainPortmap (nat) holds one DNAT rule per mapped port and protocol;
	// PREROUTING and OUTPUT jump to it for traffic to a local address.
	chainPortmap = "NOMADISH-PORTMAP"
	// chainPostrouting (nat) masquerades traffic leaving each bridge's
	// subnet, and traffic the host sends to a mapped port from 127.0.0.1.
	chainPostrouting = "NOMADISH-POSTROUTING"
	// chainForward (filter) lets traffic from and to each bridge through a
	// FORWARD chain whose policy may be DROP (Docker sets it so).
	chainForward = "NOMADISH-FORWARD"
)

// allocComment tags every rule of one allocation.
func allocComment(allocID string) string { return "nomadish alloc " + allocID }

// bridgeComment tags the rules shared by the allocations of a bridge.
func bridgeComment(bridge string) string { return "nomadish bridge " + bridge }

// iptables runs iptables(8).
type iptables struct{ path string }

func (t iptables) run(ctx context.Context, table string, args ...string) (string, error) {
	return run(ctx, t.path, append([]string{"-w", "10", "-t", table}, args...)...)
}

// exists reports whether chain holds rule.
func (t iptables) exists(ctx context.Context, table, chain string, rule []string) bool {
	_, err := t.run(ctx, table, append([]string{"-C", chain}, rule...)...)
	return err == nil
}

// ensureChain creates chain if it does not exist.
func (t iptables) ensureChain(ctx context.Context, table, chain string) error {
	if _, err := t.run(ctx, table, "-S", chain); err == nil {
		return nil
	}
	if _, err := t.run(ctx, table, "-N", chain); err != nil && !strings.Contains(err.Error(), "exists") {
		return err
	}
	return nil
}

// ensureRule appends rule to chain, or inserts it first when first is
// set, unless chain already holds it.
func (t iptables) ensureRule(ctx context.Context, table, chain string, first bool, rule []string) error {
	if t.exists(ctx, table, chain, rule) {
		return nil
	}
	args := append([]string{"-A", chain}, rule...)
	if first {
		args = append([]string{"-I", chain, "1"}, rule...)
	}
	_, err := t.run(ctx, table, args...)
	return err
}

// deleteTagged deletes every rule of chain whose comment is comment. A
// missing chain holds no rules.
func (t iptables) deleteTagged(ctx context.Context, table, chain, comment string) error {
	out, err := t.run(ctx, table, "-S", chain)
	if err != nil {
		if strings.Contains(err.Error(), "No chain") || strings.Contains(err.Error(), "does not exist") {
			return nil
		}
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		fields := splitRule(line)
		if len(fields) < 2 || fields[0] != "-A" || !hasComment(fields, comment) {
			continue
		}
		if _, err := t.run(ctx, table, append([]string{"-D"}, fields[1:]...)...); err != nil {
			return err
		}
	}
	return nil
}

// tagged lists the rules of chain (as `iptables -S` prints them) whose
// comment is comment.
func (t iptables) tagged(ctx context.Context, table, chain, comment string) ([]string, error) {
	out, err := t.run(ctx, table, "-S", chain)
	if err != nil {
		return nil, err
	}
	var rules []string
	for _, line := range strings.Split(out, "\n") {
		if hasComment(splitRule(line), comment) {
			rules = append(rules, line)
		}
	}
	return rules, nil
}

func hasComment(fields []string, comment string) bool {
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "--comment" && fields[i+1] == comment {
			return true
		}
	}
	return false
}

// splitRule splits a line of `iptables -S` into arguments, honouring the
// double quotes around values with spaces.
func splitRule(line string) []string {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			have = true
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// chainRule is a rule of a chain; first puts it at the chain's head.
type chainRule struct {
	table, chain string
	first        bool
	rule         []string
}

// baseRules are the jumps into this package's chains and the rules of one
// bridge; all are idempotent to apply.
func baseRules(bridge, subnet string) []chainRule {
	tag := []string{"-m", "comment", "--comment", bridgeComment(bridge)}
	with := func(r ...string) []string {
		return append(append([]string(nil), r[:len(r)-2]...), append(tag, r[len(r)-2:]...)...)
	}
	return []chainRule{
		{"nat", "PREROUTING", false, []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", chainPortmap}},
		{"nat", "OUTPUT", false, []string{"-m", "addrtype", "--dst-type", "LOCAL", "-j", chainPortmap}},
		{"nat", "POSTROUTING", false, []string{"-j", chainPostrouting}},
		{"filter", "FORWARD", true, []string{"-j", chainForward}},
		// Allocations reach beyond the host from the host's address.
		{"nat", chainPostrouting, false, with("-s", subnet, "!", "-o", bridge, "-j", "MASQUERADE")},
		// The host reaches mapped ports on 127.0.0.1 (route_localnet is
		// set on the bridge); replies must come back to a routable source.
		{"nat", chainPostrouting, false, with("-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE")},
		// An allocation reaching another's (or, in hairpin mode, its own)
		// mapped port through the host gets the reply through the host.
		{"nat", chainPostrouting, false, with("-s", subnet, "-o", bridge, "-m", "conntrack", "--ctstate", "DNAT", "-j", "MASQUERADE")},
		{"filter", chainForward, false, with("-i", bridge, "-j", "ACCEPT")},
		{"filter", chainForward, false, with("-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "ACCEPT")},
	}
}

// portRules are the DNAT rules of one allocation's mapped ports.
func portRules(allocID, addr string, ports []PortMapping) [][]string {
	var out [][]string
	for _, p := range ports {
		for _, proto := range []string{"tcp", "udp"} {
			out = append(out, []string{
				"-p", proto, "-m", proto, "--dport", strconv.Itoa(p.HostPort),
				"-m", "comment", "--comment", allocComment(allocID),
				"-j", "DNAT", "--to-destination", fmt.Sprintf("%s:%d", addr, p.to()),
			})
		}
	}
	return out
}
