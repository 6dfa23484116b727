package scheduler

import (
	"github.com/nomadish/nomadish/nomadish/structs"
)

// newAlloc builds an allocation of the group on the chosen node, assigning
// host ports and filling AllocatedResources.
func (c *evalContext) newAlloc(ask *groupAsk, r *rankedNode, name string) *structs.Allocation {
	e := r.e
	n := e.node
	now := c.now.UnixNano()
	ar := c.grant(ask, e)
	id, name := structs.GenerateUUIDLed(c.idLead, name)
	a := &structs.Allocation{
		ID:                 id,
		Namespace:          c.job.Namespace,
		EvalID:             c.eval.ID,
		Name:               name,
		NodeID:             n.ID,
		NodeName:           n.Name,
		JobID:              c.job.ID,
		Job:                c.job,
		TaskGroup:          ask.tg.Name,
		AllocatedResources: ar,
		Metrics:            c.metrics,
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusPending,
		CreateTime:         now,
		ModifyTime:         now,
	}
	if c.metrics != nil && r != nil {
		c.metrics.ScoreMetaData = append(c.metrics.ScoreMetaData, &structs.NodeScoreMeta{
			NodeID:    n.ID,
			Scores:    c.scores(r),
			NormScore: r.final,
		})
	}
	return a
}

// maxScoreMaps bounds the score maps an evaluation keeps for sharing.
const maxScoreMaps = 1024

// scores returns the score map of a placement on r, shared with the
// evaluation's earlier placements that scored the same: with similar
// nodes the scores repeat at each fill level, and the store keeps one
// map of each anyway, so a map per placement would only be garbage.
func (c *evalContext) scores(r *rankedNode) map[string]float64 {
	k := [4]float64{r.fit, r.anti, r.affinity, r.spread}
	if m, ok := c.scoreMaps[k]; ok {
		return m
	}
	m := map[string]float64{
		structs.ScoreBinpack:          r.fit,
		structs.ScoreJobAntiAffinity:  r.anti,
		structs.ScoreNodeAffinity:     r.affinity,
		structs.ScoreAllocationSpread: r.spread,
	}
	if c.scoreMaps == nil {
		c.scoreMaps = map[[4]float64]map[string]float64{}
	}
	if len(c.scoreMaps) < maxScoreMaps {
		c.scoreMaps[k] = m
	}
	return m
}

// grant builds the resources an allocation of the group gets on the
// node. A grant without networks, ports or reserved cores is the same for
// every placement of the group: it is built once per evaluation and
// shared, as allocations are never changed in place.
func (c *evalContext) grant(ask *groupAsk, e *nodeEntry) *structs.AllocatedResources {
	if ask.grant != nil && ask.grantOversub == c.oversub {
		return ask.grant
	}
	n := e.node
	ar := &structs.AllocatedResources{Tasks: make(map[string]*structs.AllocatedTaskResources, len(ask.tg.Tasks))}
	ar.Shared.DiskMB = ask.res.DiskMB
	var cores []uint16
	if ask.cores > 0 {
		cores = c.freeCores(e, ask.cores)
	}
	plain := ask.cores == 0 && len(ask.ports) == 0 && len(ask.tg.Networks) == 0
	for _, t := range ask.tg.Tasks {
		if t == nil {
			continue
		}
		tr := &structs.AllocatedTaskResources{}
		if t.Resources != nil {
			tr.Cpu.CpuShares = int64(t.Resources.CPU)
			if k := t.Resources.Cores; k > 0 && k <= len(cores) {
				tr.Cpu.ReservedCores, cores = append([]uint16(nil), cores[:k]...), cores[k:]
				tr.Cpu.CpuShares = int64(k) * mhzPerCore(n)
			}
			tr.Memory.MemoryMB = int64(t.Resources.MemoryMB)
			if c.oversub {
				tr.Memory.MemoryMaxMB = int64(t.Resources.MemoryMaxMB)
			}
			tr.Networks = copyNetworks(t.Resources.Networks)
			plain = plain && len(tr.Networks) == 0
		}
		ar.Tasks[t.Name] = tr
	}
	ar.Shared.Networks = copyNetworks(ask.tg.Networks)
	if len(ask.ports) > 0 {
		c.assignPorts(e, ask, ar)
	}
	if plain {
		ask.grant, ask.grantOversub = ar, c.oversub
	}
	return ar
}

func copyNetworks(nets []*structs.NetworkResource) []*structs.NetworkResource {
	if len(nets) == 0 {
		return nil
	}
	out := make([]*structs.NetworkResource, len(nets))
	for i, n := range nets {
		if n == nil {
			out[i] = &structs.NetworkResource{}
			continue
		}
		c := *n
		c.ReservedPorts = append([]structs.Port(nil), n.ReservedPorts...)
		c.DynamicPorts = append([]structs.Port(nil), n.DynamicPorts...)
		out[i] = &c
	}
	return out
}

// assignPorts picks a free host port for every dynamic port, starting at a
// random offset in the node's range so concurrent schedulers rarely collide,
// and writes static and dynamic ports into the networks and port mappings.
func (c *evalContext) assignPorts(e *nodeEntry, ask *groupAsk, ar *structs.AllocatedResources) {
	c.loadPorts(e)
	lo, hi := dynRange(e.node)
	span := hi - lo + 1
	mine := map[int]bool{}
	for _, p := range ask.static {
		mine[p] = true
	}
	hostIP := e.node.Attributes["unique.network.ip-address"]
	for _, pa := range ask.ports {
		val := pa.port.Value
		if pa.dynamic {
			start := c.rng.Intn(span)
			for k := 0; k < span; k++ {
				p := lo + (start+k)%span
				if _, taken := e.ports[p]; !taken && !mine[p] {
					val = p
					break
				}
			}
			mine[val] = true
		}
		nets := ar.Shared.Networks
		if pa.task != "" {
			nets = ar.Tasks[pa.task].Networks
		}
		if pa.dynamic && pa.net < len(nets) {
			dp := nets[pa.net].DynamicPorts
			for j := range dp {
				if dp[j].Label == pa.port.Label && dp[j].Value == 0 {
					dp[j].Value = val
					break
				}
			}
		}
		if pa.task == "" {
			ar.Shared.Ports = append(ar.Shared.Ports, structs.AllocatedPortMapping{Label: pa.port.Label, Value: val, To: pa.port.To, HostIP: hostIP})
		}
	}
}
