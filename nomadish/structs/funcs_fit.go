package structs

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Fit dimensions reported when resources run out. The scheduler and the
// plan applier use the same strings so metrics read the same either way.
const (
	DimensionCPU          = "cpu"
	DimensionMemory       = "memory"
	DimensionDisk         = "disk"
	DimensionPortCollides = "network: port collision"
	DimensionDynamicPorts = "network: dynamic port selection failed"
	DimensionCores        = "cores"
)

// Default dynamic port range when a node does not report one.
const (
	DefaultMinDynamicPort = 20000
	DefaultMaxDynamicPort = 32000
)

// ComparableResources is a flat sum of the resources that fit checks compare.
type ComparableResources struct {
	// CpuShares in MHz.
	CpuShares int64
	// MemoryMB reserved (not the oversubscription maximum).
	MemoryMB int64
	// DiskMB of ephemeral disk.
	DiskMB int64
}

// Add adds o to c.
func (c *ComparableResources) Add(o *ComparableResources) {
	if o == nil {
		return
	}
	c.CpuShares += o.CpuShares
	c.MemoryMB += o.MemoryMB
	c.DiskMB += o.DiskMB
}

// Subtract takes o from c.
func (c *ComparableResources) Subtract(o *ComparableResources) {
	if o == nil {
		return
	}
	c.CpuShares -= o.CpuShares
	c.MemoryMB -= o.MemoryMB
	c.DiskMB -= o.DiskMB
}

// Superset reports whether c covers o in every dimension, and if not the
// first dimension that falls short.
func (c *ComparableResources) Superset(o *ComparableResources) (bool, string) {
	switch {
	case c.CpuShares < o.CpuShares:
		return false, DimensionCPU
	case c.MemoryMB < o.MemoryMB:
		return false, DimensionMemory
	case c.DiskMB < o.DiskMB:
		return false, DimensionDisk
	}
	return true, ""
}

// NodeComparableResources returns what a node offers to allocations: its
// totals minus what the operator reserved.
func NodeComparableResources(n *Node) *ComparableResources {
	c := &ComparableResources{}
	if n == nil || n.NodeResources == nil {
		return c
	}
	c.CpuShares = n.NodeResources.Cpu.CpuShares
	c.MemoryMB = n.NodeResources.Memory.MemoryMB
	c.DiskMB = n.NodeResources.Disk.DiskMB
	if r := n.ReservedResources; r != nil {
		c.CpuShares -= int64(r.Cpu.CpuShares)
		c.MemoryMB -= int64(r.Memory.MemoryMB)
		c.DiskMB -= int64(r.Disk.DiskMB)
	}
	return c
}

// AllocComparableResources sums what an allocation was granted.
func AllocComparableResources(a *Allocation) *ComparableResources {
	c := &ComparableResources{}
	if a == nil || a.AllocatedResources == nil {
		return c
	}
	for _, t := range a.AllocatedResources.Tasks {
		if t == nil {
			continue
		}
		c.CpuShares += t.Cpu.CpuShares
		c.MemoryMB += t.Memory.MemoryMB
	}
	c.DiskMB = a.AllocatedResources.Shared.DiskMB
	return c
}

// AllocHostPorts returns the distinct host ports an allocation holds, from
// its shared port mappings and the group and task networks.
func AllocHostPorts(a *Allocation) []int {
	if a == nil || a.AllocatedResources == nil {
		return nil
	}
	ar := a.AllocatedResources
	var ports []int
	for _, p := range ar.Shared.Ports {
		ports = append(ports, p.Value)
	}
	addNets := func(nets []*NetworkResource) {
		for _, n := range nets {
			if n == nil {
				continue
			}
			for _, p := range n.ReservedPorts {
				ports = append(ports, p.Value)
			}
			for _, p := range n.DynamicPorts {
				ports = append(ports, p.Value)
			}
		}
	}
	addNets(ar.Shared.Networks)
	for _, t := range ar.Tasks {
		if t != nil {
			addNets(t.Networks)
		}
	}
	if len(ports) < 2 {
		return ports
	}
	sort.Ints(ports)
	out := ports[:1]
	for _, p := range ports[1:] {
		if p != out[len(out)-1] {
			out = append(out, p)
		}
	}
	return out
}

// AllocReservedCores returns the CPU cores an allocation's tasks reserve.
func AllocReservedCores(a *Allocation) []uint16 {
	if a == nil || a.AllocatedResources == nil {
		return nil
	}
	var out []uint16
	for _, t := range a.AllocatedResources.Tasks {
		if t != nil {
			out = append(out, t.Cpu.ReservedCores...)
		}
	}
	return out
}

// ParsePortRanges parses a list such as "22,80,8000-8010" into ports.
func ParsePortRanges(spec string) ([]int, error) {
	var ports []int
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		start, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("parse port %q: %w", part, err)
		}
		end := start
		if isRange {
			if end, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("parse port range %q: %w", part, err)
			}
		}
		if start < 0 || end > 65535 || end < start {
			return nil, fmt.Errorf("invalid port range %q", part)
		}
		for p := start; p <= end; p++ {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// NodeReservedPorts returns the host ports the operator reserved on a node.
func NodeReservedPorts(n *Node) ([]int, error) {
	if n == nil || n.ReservedResources == nil {
		return nil, nil
	}
	return ParsePortRanges(n.ReservedResources.Networks.ReservedHostPorts)
}

// AllocsFit checks that the non-terminal allocations fit on the node: CPU,
// memory and disk within the node's totals minus its reserved resources, no
// host port held twice or colliding with a reserved port, and no CPU core
// reserved twice. It returns the first dimension exhausted and the
// resources used.
func AllocsFit(node *Node, allocs []*Allocation) (bool, string, *ComparableResources, error) {
	used := &ComparableResources{}
	reserved, err := NodeReservedPorts(node)
	if err != nil {
		return false, "", used, fmt.Errorf("node %s reserved ports: %w", node.ID, err)
	}
	taken := make(map[int]struct{}, len(reserved))
	for _, p := range reserved {
		taken[p] = struct{}{}
	}
	collision, coreTwice := false, false
	cores := map[uint16]struct{}{}
	for _, a := range allocs {
		if a.TerminalStatus() {
			continue
		}
		used.Add(AllocComparableResources(a))
		for _, id := range AllocReservedCores(a) {
			if _, dup := cores[id]; dup {
				coreTwice = true
			}
			cores[id] = struct{}{}
		}
		for _, p := range AllocHostPorts(a) {
			if _, dup := taken[p]; dup {
				collision = true
			}
			taken[p] = struct{}{}
		}
	}
	if ok, dim := NodeComparableResources(node).Superset(used); !ok {
		return false, dim, used, nil
	}
	if collision {
		return false, DimensionPortCollides, used, nil
	}
	if coreTwice {
		return false, DimensionCores, used, nil
	}
	return true, "", used, nil
}
