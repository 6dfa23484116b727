// Package network gives an allocation whose group asks for
// `network { mode = "bridge" }` a network of its own, as a pod has one:
//
//   - a network namespace, /var/run/netns/nomadish-<alloc id>, that every
//     task of the allocation joins, so they reach each other on localhost;
//   - a veth pair from the namespace's eth0 to a bridge on the host
//     (bridge_network_name, "nomadish" by default), with an address from
//     the node's bridge subnet (bridge_network_subnet, 172.26.64.0/20) and a
//     default route through the bridge's address;
//   - host port mappings: a connection to any address of the host on an
//     allocated port is forwarded to the port's `to` inside the namespace
//     (iptables DNAT in the nat chain NOMADISH-PORTMAP), and traffic leaving
//     the subnet is masqueraded.
//
// Mode "none" makes the namespace with only its loopback interface.
//
// Every allocation's network has a record in the state directory, written
// before anything is created, so Teardown and the start-up Cleanup find
// what a crashed client left behind: the namespace, the host end of the
// veth and the allocation's iptables rules. The address is part of the
// record, so a restarted client keeps it.
//
// Commands: ip(8) from iproute2 and iptables(8) (either backend) must be
// on the agent's PATH or in /usr/sbin or /sbin, and the agent must run as
// root. Without them, setting up a bridge-mode allocation fails with an
// error naming what is missing; host-mode allocations are not affected.
package network
