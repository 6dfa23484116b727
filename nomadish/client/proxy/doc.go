// Package proxy is the client's service proxy: for each upstream of an
// allocation (Nomad's `connect { sidecar_service { proxy { upstreams {...}
// } } }` on a built-in provider service) it listens on a local address and
// forwards each TCP connection to a healthy instance of the destination
// service, wherever in the cluster it runs.
//
// The parts, from the inside out:
//
//   - balancer picks an instance for a new connection: round robin or
//     least connections, skipping instances whose last dial failed for a
//     short cooldown. It is plain data guarded by its Proxy's lock.
//   - Proxy owns one listener: it accepts, dials the picked instance (the
//     next one on a dial error, so a client sees no failure while any
//     instance answers), copies bytes both ways, and drains instances
//     removed by Update (no new connections; open ones are closed after
//     the drain timeout).
//   - Watch follows a service's instances with blocking queries and hands
//     every changed set of healthy (not critical) ones to a Proxy.
//   - Manager is the client-wide registry: allocations asking for the same
//     local address and service share one listener, released when the last
//     of them ends. Listeners are opened by a Scope's Listen function:
//     HostScope is the client's own network, shared by host-mode
//     allocations; NamespaceScope opens a listener inside one allocation's
//     network namespace (bridge mode), where only that allocation's tasks
//     reach it, while its proxy dials instances from the client's network.
package proxy
