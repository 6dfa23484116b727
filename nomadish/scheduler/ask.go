package scheduler

import (
	"strconv"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// portAsk is one port a group or task wants.
type portAsk struct {
	port    structs.Port
	dynamic bool
	task    string // "" for the group network
	net     int    // index of the network it came from
}

// distinctProp is a distinct_property constraint.
type distinctProp struct {
	target string
	limit  int
	tg     string // "" when the constraint is job-wide
	desc   string
}

// groupAsk is everything placement needs to know about a task group,
// computed once per group.
type groupAsk struct {
	tg  *structs.TaskGroup
	res structs.ComparableResources

	// cores is the number of whole CPU cores the tasks reserve.
	cores int

	ports   []portAsk
	static  []int
	dynamic int

	drivers     []string
	constraints []*structs.Constraint
	// escaped is true when some static check reads per-node unique values,
	// so static feasibility cannot be cached per computed class.
	escaped bool
	// distinct is true for distinct_hosts or distinct_property: capacity
	// anywhere may unblock the group, whatever the class.
	distinct bool

	distinctHostsJob bool
	distinctHostsTG  bool
	distinctProps    []distinctProp

	affinities []*structs.Affinity
	spreads    []*structs.Spread

	// grant is the resources every placement of the group gets when they
	// hold no networks, ports or cores (see evalContext.grant), built for
	// grantOversub.
	grant        *structs.AllocatedResources
	grantOversub bool
}

func newGroupAsk(job *structs.Job, tg *structs.TaskGroup) *groupAsk {
	a := &groupAsk{tg: tg}
	if tg.EphemeralDisk != nil {
		a.res.DiskMB = int64(tg.EphemeralDisk.SizeMB)
	}
	addPorts := func(task string, nets []*structs.NetworkResource) {
		for i, n := range nets {
			if n == nil {
				continue
			}
			for _, p := range n.ReservedPorts {
				a.ports = append(a.ports, portAsk{port: p, task: task, net: i})
				a.static = append(a.static, p.Value)
			}
			for _, p := range n.DynamicPorts {
				a.ports = append(a.ports, portAsk{port: p, dynamic: true, task: task, net: i})
				a.dynamic++
			}
		}
	}
	addPorts("", tg.Networks)
	seenDriver := map[string]bool{}
	addConstraints := func(cons []*structs.Constraint, tgScope string) {
		for _, c := range cons {
			if c == nil {
				continue
			}
			switch c.Operand {
			case ConstraintDistinctHosts:
				if c.RTarget == "" || c.RTarget == "true" {
					if tgScope == "" {
						a.distinctHostsJob = true
					} else {
						a.distinctHostsTG = true
					}
				}
			case ConstraintDistinctProperty:
				limit := 1
				if n, err := strconv.Atoi(c.RTarget); err == nil && n > 0 {
					limit = n
				}
				a.distinctProps = append(a.distinctProps, distinctProp{target: c.LTarget, limit: limit, tg: tgScope, desc: constraintString(c)})
			default:
				a.constraints = append(a.constraints, c)
				if escapesClass(c.LTarget) || escapesClass(c.RTarget) {
					a.escaped = true
				}
			}
		}
	}
	addConstraints(job.Constraints, "")
	addConstraints(tg.Constraints, tg.Name)
	if mode := tg.NetworkMode(); mode == structs.NetworkModeBridge || mode == structs.NetworkModeNone {
		// Implicit, as Nomad adds one for bridge networking: only clients
		// that can build allocation networks take the group (mode "none"
		// needs a namespace too).
		a.constraints = append(a.constraints, bridgeConstraint)
	}
	a.affinities = appendNonNil(appendNonNil(a.affinities, job.Affinities), tg.Affinities)
	a.spreads = appendNonNil(appendNonNil(a.spreads, job.Spreads), tg.Spreads)
	for _, t := range tg.Tasks {
		if t == nil {
			continue
		}
		if t.Driver != "" && !seenDriver[t.Driver] {
			seenDriver[t.Driver] = true
			a.drivers = append(a.drivers, t.Driver)
		}
		addConstraints(t.Constraints, tg.Name)
		a.affinities = appendNonNil(a.affinities, t.Affinities)
		if r := t.Resources; r != nil {
			if r.Cores > 0 {
				// Whole cores replace the MHz ask; their MHz depend on the node.
				a.cores += r.Cores
			} else {
				a.res.CpuShares += int64(r.CPU)
			}
			a.res.MemoryMB += int64(r.MemoryMB)
			addPorts(t.Name, r.Networks)
		}
	}
	a.distinct = a.distinctHostsJob || a.distinctHostsTG || len(a.distinctProps) > 0
	return a
}

// need is what the group asks of a node: its fixed resources plus the MHz
// of its reserved cores on that node.
func (a *groupAsk) need(e *nodeEntry) structs.ComparableResources {
	r := a.res
	if a.cores > 0 {
		r.CpuShares += int64(a.cores) * mhzPerCore(e.node)
	}
	return r
}

// mhzPerCore is a node's CPU shares per core, or 0 if it reports no cores.
func mhzPerCore(n *structs.Node) int64 {
	if n.NodeResources == nil || n.NodeResources.Cpu.TotalCpuCores == 0 {
		return 0
	}
	return n.NodeResources.Cpu.CpuShares / int64(n.NodeResources.Cpu.TotalCpuCores)
}

// reservableCores lists the cores a node lets tasks reserve.
func reservableCores(n *structs.Node) []uint16 {
	if n.NodeResources == nil {
		return nil
	}
	c := n.NodeResources.Cpu
	if len(c.ReservableCpuCores) > 0 {
		return c.ReservableCpuCores
	}
	out := make([]uint16, c.TotalCpuCores)
	for i := range out {
		out[i] = uint16(i)
	}
	return out
}

// appendNonNil appends the non-nil entries of from.
func appendNonNil[T any](to []*T, from []*T) []*T {
	for _, v := range from {
		if v != nil {
			to = append(to, v)
		}
	}
	return to
}

// terms is how many score terms the group configures; it is the same for
// every node so terms add, never average away.
func (a *groupAsk) terms() float64 {
	n := 1.0
	if a.tg.Count > 1 {
		n++
	}
	if len(a.affinities) > 0 {
		n++
	}
	if len(a.spreads) > 0 {
		n++
	}
	return n
}

// driverHealthy reports whether the node runs a driver: healthy in
// node.Drivers, or, for nodes that only fingerprint attributes, a true
// driver.<name> attribute.
func driverHealthy(n *structs.Node, name string) bool {
	if d, ok := n.Drivers[name]; ok && d != nil {
		return d.Detected && d.Healthy
	}
	v, ok := n.Attributes["driver."+name]
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// bridgeConstraint is the implicit constraint of bridge-mode groups.
var bridgeConstraint = &structs.Constraint{LTarget: "${attr." + structs.NodeAttrNetworkBridge + "}", RTarget: "true", Operand: "="}
