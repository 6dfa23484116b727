package state

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// The node catalogue lists every node in ID order with its readiness,
// pool and net resources; it is shared while the nodes do not change
// (writes to other tables leave it alone), made again after any write to
// a node, and a snapshot taken before a write keeps seeing the old nodes.
func TestNodeCatalogFollowsNodeWrites(t *testing.T) {
	s := NewStateStore()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	catalog := func(st *StateStore) *structs.NodeCatalog {
		t.Helper()
		c, err := st.NodeCatalog()
		must(err)
		return c
	}
	res := &structs.NodeResources{Cpu: structs.NodeCpuResources{CpuShares: 4000}, Memory: structs.NodeMemoryResources{MemoryMB: 8192}}
	must(s.UpsertNode(10, &structs.Node{ID: "b", Datacenter: "dc1", Status: structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeSchedulingEligible, NodeResources: res,
		ReservedResources: &structs.NodeReservedResources{Cpu: structs.NodeReservedCpuResources{CpuShares: 500}}}))
	must(s.UpsertNode(11, &structs.Node{ID: "a", Datacenter: "dc2", NodePool: "gpu", Status: structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeSchedulingIneligible}))

	first := catalog(s)
	if len(first.Nodes) != 2 || first.Nodes[0].Node.ID != "a" || first.Nodes[1].Node.ID != "b" {
		t.Fatalf("catalogue = %+v, want nodes a, b", first.Nodes)
	}
	a, b := first.Nodes[0], first.Nodes[1]
	if a.Ready || first.Pools[a.PoolID] != "gpu" || first.Datacenters[a.DC] != "dc2" {
		t.Errorf("node a = %+v, want not ready, pool gpu, dc2", a)
	}
	if !b.Ready || first.Pools[b.PoolID] != structs.DefaultNodePool || first.Datacenters[b.DC] != "dc1" ||
		b.Avail.CpuShares != 3500 || b.Avail.MemoryMB != 8192 {
		t.Errorf("node b = %+v, want ready, default pool, dc1, 3500 MHz and 8192 MB free of reserves", b)
	}
	if len(first.Pools) != 2 || len(first.Datacenters) != 2 || first.Index["a"] != 0 || first.Index["b"] != 1 {
		t.Errorf("pools %v, datacenters %v, index %v: want two each, a at 0 and b at 1", first.Pools, first.Datacenters, first.Index)
	}

	// Unchanged nodes: the same catalogue, from the store and a snapshot,
	// across writes to other tables.
	must(s.UpsertJob(12, &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService}))
	before := s.Snapshot()
	if catalog(s) != first || catalog(before) != first {
		t.Fatal("catalogue made again though no node changed")
	}

	// A node write makes a new one; the older snapshot still lists the
	// nodes it holds.
	must(s.UpdateNodeEligibility(13, "a", structs.NodeSchedulingEligible))
	after := catalog(s)
	if after == first || !after.Nodes[0].Ready {
		t.Fatalf("after making a eligible: catalogue reused = %v, a ready = %v", after == first, after.Nodes[0].Ready)
	}
	if old := catalog(before); old.Nodes[0].Ready {
		t.Error("a snapshot taken before the write sees the new eligibility")
	}
	if again := catalog(s); again.Nodes[0].Node.SchedulingEligibility != structs.NodeSchedulingEligible {
		t.Error("after reading an old snapshot, the store's catalogue is stale")
	}

	must(s.DeleteNode(14, []string{"b"}))
	if c := catalog(s); len(c.Nodes) != 1 || c.Nodes[0].Node.ID != "a" {
		t.Errorf("after deleting b: %+v, want only a", c.Nodes)
	}
}
