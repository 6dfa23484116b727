package state

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// UpsertNode registers a node or refreshes its fingerprint. Status and
// scheduling fields that servers own are kept from the stored node.
func (s *StateStore) UpsertNode(index uint64, in *structs.Node) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	node := *in
	raw, err := txn.First(tableNodes, "id", node.ID)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.Node)
		node.CreateIndex = old.CreateIndex
		node.Drain = old.Drain
		node.DrainStrategy = old.DrainStrategy
		node.SchedulingEligibility = old.SchedulingEligibility
		node.Events = old.Events
	} else {
		node.CreateIndex = index
		node.Events = []*structs.NodeEvent{{Message: "Node registered", Subsystem: "Cluster", Timestamp: time.Unix(node.StatusUpdatedAt, 0).UTC(), CreateIndex: index}}
	}
	if node.SchedulingEligibility == "" {
		node.SchedulingEligibility = structs.NodeSchedulingEligible
	}
	node.ModifyIndex = index
	if err := txn.Insert(tableNodes, &node); err != nil {
		return fmt.Errorf("insert node: %w", err)
	}
	if raw == nil {
		if err := numberNode(txn, node.ID); err != nil {
			return err
		}
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// UpdateNodeStatus sets a node's status.
func (s *StateStore) UpdateNodeStatus(index uint64, nodeID, status string, updatedAt int64, event *structs.NodeEvent) error {
	return s.updateNode(index, nodeID, func(n *structs.Node) {
		n.Status = status
		n.StatusUpdatedAt = updatedAt
		if event != nil {
			e := *event
			e.CreateIndex = index
			n.Events = appendNodeEvent(n.Events, &e)
		}
	})
}

// UpdateNodeEligibility sets whether new allocations may land on a node.
func (s *StateStore) UpdateNodeEligibility(index uint64, nodeID, eligibility string) error {
	return s.updateNode(index, nodeID, func(n *structs.Node) { n.SchedulingEligibility = eligibility })
}

// UpdateNodeDrain starts or stops a drain.
func (s *StateStore) UpdateNodeDrain(index uint64, nodeID string, strategy *structs.DrainStrategy) error {
	return s.updateNode(index, nodeID, func(n *structs.Node) {
		n.DrainStrategy = strategy
		n.Drain = strategy != nil
		if strategy != nil {
			n.SchedulingEligibility = structs.NodeSchedulingIneligible
		}
	})
}

const maxNodeEvents = 10

func appendNodeEvent(events []*structs.NodeEvent, e *structs.NodeEvent) []*structs.NodeEvent {
	out := append(append([]*structs.NodeEvent(nil), events...), e)
	if len(out) > maxNodeEvents {
		out = out[len(out)-maxNodeEvents:]
	}
	return out
}

func (s *StateStore) updateNode(index uint64, nodeID string, fn func(*structs.Node)) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First(tableNodes, "id", nodeID)
	if err != nil {
		return fmt.Errorf("node lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("node %q: %w", nodeID, ErrNotFound)
	}
	node := *raw.(*structs.Node)
	fn(&node)
	node.ModifyIndex = index
	if err := txn.Insert(tableNodes, &node); err != nil {
		return fmt.Errorf("update node: %w", err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// DeleteNode removes nodes.
func (s *StateStore) DeleteNode(index uint64, nodeIDs []string) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	for _, id := range nodeIDs {
		if _, err := txn.DeleteAll(tableNodes, "id", id); err != nil {
			return fmt.Errorf("delete node: %w", err)
		}
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// NodeByID returns a node or nil.
func (s *StateStore) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodes, "id", id)
	if err != nil {
		return nil, fmt.Errorf("node lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Node), nil
}

// Nodes lists nodes whose ID starts with prefix.
func (s *StateStore) Nodes(ws memdb.WatchSet, prefix string) ([]*structs.Node, error) {
	it, err := s.db.Txn(false).Get(tableNodes, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n := raw.(*structs.Node)
		if strings.HasPrefix(n.ID, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}

// NodeCatalog returns the catalogue of the nodes, for the scheduler. It is
// made when the nodes have changed since the last one was made, and
// shared otherwise: a catalogue is immutable, and the store and its
// snapshots keep the latest one with the version of the nodes it lists.
// That version is the watch channel of the nodes table's root: every
// write to the table replaces the root, and with it the channel.
func (s *StateStore) NodeCatalog() (*structs.NodeCatalog, error) {
	txn := s.db.Txn(false)
	it, err := txn.Get(tableNodes, "id_prefix", "")
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	version := it.WatchCh()
	last := s.catalogs.last.Load()
	if last != nil && last.version == version {
		return last.catalog, nil
	}
	var nodes []*structs.Node
	if last != nil {
		nodes = make([]*structs.Node, 0, len(last.catalog.Nodes)+16)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		nodes = append(nodes, raw.(*structs.Node))
	}
	c := structs.NewNodeCatalog(nodes)
	// Slots never change once given, so they hold for every later
	// snapshot with these nodes. A node without one (written other than
	// through UpsertNode) leaves the catalogue without slots: FillUsage
	// then looks nodes up by ID.
	slots := make([]int32, len(c.Nodes))
	for i := range c.Nodes {
		raw, err := txn.First(tableNodeSlots, "id", c.Nodes[i].Node.ID)
		if err != nil {
			return nil, fmt.Errorf("node slot lookup: %w", err)
		}
		if raw == nil {
			slots = nil
			break
		}
		slots[i] = raw.(*nodeSlot).Slot
	}
	c.Slots = slots
	s.catalogs.last.Store(&versionedCatalog{version: version, catalog: c})
	return c, nil
}

// nodeCatalogs holds the latest node catalogue made from a store or its
// snapshots.
type nodeCatalogs struct {
	last atomic.Pointer[versionedCatalog]
}

type versionedCatalog struct {
	version <-chan struct{}
	catalog *structs.NodeCatalog
}
