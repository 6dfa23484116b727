package structs

import "strings"

// Network modes of a group's network block that nomadish runs. Nomad's
// "cni/<name>" networks are not among them.
const (
	NetworkModeHost   = "host"
	NetworkModeBridge = "bridge"
	NetworkModeNone   = "none"
)

func (n *NetworkResource) validateMode(p *problems, path string) {
	switch {
	case n.Mode == "", n.Mode == NetworkModeHost, n.Mode == NetworkModeBridge, n.Mode == NetworkModeNone:
	case strings.HasPrefix(n.Mode, "cni/"):
		p.add(path, "network.mode %q: CNI networks are not supported; use host, bridge or none", n.Mode)
	default:
		p.add(path, "network.mode %q must be host, bridge or none", n.Mode)
	}
}

// NodeAttrNetworkBridge is the node attribute a client sets to "true" when
// it can give allocations their own networks (modes bridge and none). The
// scheduler places such groups only on those nodes.
const NodeAttrNetworkBridge = "nomadish.network.bridge"

// NetworkMode is the group's network mode: that of its network block,
// "host" when it has none or sets none.
func (tg *TaskGroup) NetworkMode() string {
	if tg == nil || len(tg.Networks) == 0 || tg.Networks[0] == nil || tg.Networks[0].Mode == "" {
		return NetworkModeHost
	}
	return tg.Networks[0].Mode
}

// GroupNetworkMode is the network mode of the allocation's group.
func (a *Allocation) GroupNetworkMode() string {
	if a == nil || a.Job == nil {
		return NetworkModeHost
	}
	return a.Job.LookupTaskGroup(a.TaskGroup).NetworkMode()
}
