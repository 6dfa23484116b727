package structs

import (
	"slices"
	"strings"
)

// NodeCatalog is a list of nodes with what a scheduler checks of every node
// before anything else: whether it takes work, its pool and datacenter,
// and its resources net of what is reserved. It is made once per version
// of the nodes (the state store keeps it while they do not change) and
// never changed, so evaluations share it; they walk its contiguous entries
// instead of every node's own fields, which are spread over the heap, and
// find nodes by ID in its index instead of building one each.
type NodeCatalog struct {
	// Nodes are sorted by ID.
	Nodes []CatalogNode
	// Index maps a node's ID to its position in Nodes.
	Index map[string]int32
	// Datacenters and Pools are the distinct datacenters and pools of the
	// nodes, which CatalogNode.DC and CatalogNode.PoolID number, so that a
	// scheduler matches each once per evaluation instead of once per node.
	Datacenters []string
	Pools       []string
	// Slots are where the state store keeps each node's usage, by
	// position in Nodes; nil for a catalogue made elsewhere.
	Slots []int32
}

// CatalogNode is one node of a catalogue.
type CatalogNode struct {
	Node *Node
	// Ready is Node.Ready().
	Ready bool
	// DC is the position of the node's datacenter in Datacenters, PoolID
	// that of its pool in Pools (DefaultNodePool when it names none).
	DC, PoolID uint32
	// Avail is NodeComparableResources(Node).
	Avail ComparableResources
}

// NewNodeCatalog catalogues nodes, which it sorts by ID if they are not.
func NewNodeCatalog(nodes []*Node) *NodeCatalog {
	c := &NodeCatalog{Nodes: make([]CatalogNode, 0, len(nodes)), Index: make(map[string]int32, len(nodes))}
	dcs, pools := map[string]uint32{}, map[string]uint32{}
	number := func(seen map[string]uint32, list *[]string, s string) uint32 {
		id, ok := seen[s]
		if !ok {
			id = uint32(len(*list))
			seen[s] = id
			*list = append(*list, s)
		}
		return id
	}
	for _, n := range nodes {
		pool := n.NodePool
		if pool == "" {
			pool = DefaultNodePool
		}
		c.Nodes = append(c.Nodes, CatalogNode{Node: n, Ready: n.Ready(),
			DC: number(dcs, &c.Datacenters, n.Datacenter), PoolID: number(pools, &c.Pools, pool),
			Avail: *NodeComparableResources(n)})
	}
	byID := func(a, b CatalogNode) int { return strings.Compare(a.Node.ID, b.Node.ID) }
	if !slices.IsSortedFunc(c.Nodes, byID) {
		slices.SortFunc(c.Nodes, byID)
	}
	for i := range c.Nodes {
		c.Index[c.Nodes[i].Node.ID] = int32(i)
	}
	return c
}
