package state

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tableServices holds service registrations.
const tableServices = "service_registrations"

// recServiceRegistration is the snapshot record kind of a registration.
const recServiceRegistration byte = 120

func init() {
	registerTable(&memdb.TableSchema{
		Name: tableServices,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"service_name": {Name: "service_name", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "ServiceName"},
			}}},
			"alloc_id": {Name: "alloc_id", Indexer: &memdb.StringFieldIndex{Field: "AllocID"}},
			"node_id":  {Name: "node_id", Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		},
	})
	registerSnapshotTable(tableServices, recServiceRegistration, func() interface{} {
		return &structs.ServiceRegistration{}
	})
}

// UpsertServiceRegistrations stores registrations. One of an allocation
// the state store does not know, or one that is terminal on its client,
// is dropped: the client raced the removal of its allocation. An unchanged
// registration keeps its ModifyIndex so blocking queries do not wake.
func (s *StateStore) UpsertServiceRegistrations(index uint64, regs []*structs.ServiceRegistration) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	changed := false
	allocs, err := allocsIn(txn, nil)
	if err != nil {
		return err
	}
	for _, r := range regs {
		if a := allocs.Get(r.AllocID); a == nil || a.ClientTerminalStatus() {
			continue
		}
		c := r.Copy()
		c.CreateIndex, c.ModifyIndex = index, index
		existing, err := txn.First(tableServices, "id", r.ID)
		if err != nil {
			return fmt.Errorf("service registration lookup: %w", err)
		}
		if existing != nil {
			old := existing.(*structs.ServiceRegistration)
			if old.Equal(c) {
				continue
			}
			c.CreateIndex = old.CreateIndex
		}
		if err := txn.Insert(tableServices, c); err != nil {
			return fmt.Errorf("insert service registration: %w", err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if err := setIndex(txn, tableServices, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// DeleteServiceRegistrationByID removes one registration.
func (s *StateStore) DeleteServiceRegistrationByID(index uint64, namespace, id string) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First(tableServices, "id", id)
	if err != nil {
		return fmt.Errorf("service registration lookup: %w", err)
	}
	if raw == nil || (namespace != "" && namespace != "*" && raw.(*structs.ServiceRegistration).Namespace != namespace) {
		return fmt.Errorf("service registration %q: %w", id, ErrNotFound)
	}
	if err := txn.Delete(tableServices, raw); err != nil {
		return fmt.Errorf("delete service registration: %w", err)
	}
	if err := setIndex(txn, tableServices, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// DeleteServiceRegistrationsByAlloc removes the registrations of
// allocations; with ids set, only those among them.
func (s *StateStore) DeleteServiceRegistrationsByAlloc(index uint64, allocIDs, ids []string) error {
	only := map[string]bool{}
	for _, id := range ids {
		only[id] = true
	}
	return s.deleteServicesBy(index, "alloc_id", allocIDs, func(r *structs.ServiceRegistration) bool {
		return len(only) == 0 || only[r.ID]
	})
}

// DeleteServiceRegistrationsByNode removes every registration of nodes.
func (s *StateStore) DeleteServiceRegistrationsByNode(index uint64, nodeIDs []string) error {
	return s.deleteServicesBy(index, "node_id", nodeIDs, func(*structs.ServiceRegistration) bool { return true })
}

func (s *StateStore) deleteServicesBy(index uint64, by string, keys []string, keep func(*structs.ServiceRegistration) bool) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	var del []interface{}
	for _, k := range keys {
		it, err := txn.Get(tableServices, by, k)
		if err != nil {
			return fmt.Errorf("service registrations by %s: %w", by, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if keep(raw.(*structs.ServiceRegistration)) {
				del = append(del, raw)
			}
		}
	}
	if len(del) == 0 {
		return nil
	}
	for _, raw := range del {
		if err := txn.Delete(tableServices, raw); err != nil {
			return fmt.Errorf("delete service registration: %w", err)
		}
	}
	if err := setIndex(txn, tableServices, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// ServiceRegistrations lists every registration in namespace ns ("" or
// "*" for all), sorted by service name then ID.
func (s *StateStore) ServiceRegistrations(ws memdb.WatchSet, ns string) ([]*structs.ServiceRegistration, error) {
	it, err := s.db.Txn(false).Get(tableServices, "id")
	if err != nil {
		return nil, fmt.Errorf("list service registrations: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.ServiceRegistration
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*structs.ServiceRegistration)
		if ns == "" || ns == "*" || r.Namespace == ns {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ServiceName != out[j].ServiceName {
			return out[i].ServiceName < out[j].ServiceName
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ServiceRegistrationsByName lists the instances of one service.
func (s *StateStore) ServiceRegistrationsByName(ws memdb.WatchSet, ns, name string) ([]*structs.ServiceRegistration, error) {
	return s.servicesBy(ws, "service_name", ns, name)
}

// ServiceRegistrationsByAlloc lists an allocation's registrations.
func (s *StateStore) ServiceRegistrationsByAlloc(ws memdb.WatchSet, allocID string) ([]*structs.ServiceRegistration, error) {
	return s.servicesBy(ws, "alloc_id", allocID)
}

// ServiceRegistrationByID returns a registration or nil.
func (s *StateStore) ServiceRegistrationByID(ws memdb.WatchSet, id string) (*structs.ServiceRegistration, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableServices, "id", id)
	if err != nil {
		return nil, fmt.Errorf("service registration lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.ServiceRegistration), nil
}

func (s *StateStore) servicesBy(ws memdb.WatchSet, index string, args ...interface{}) ([]*structs.ServiceRegistration, error) {
	it, err := s.db.Txn(false).Get(tableServices, index, args...)
	if err != nil {
		return nil, fmt.Errorf("service registrations by %s: %w", index, err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.ServiceRegistration
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ServiceRegistration))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ServiceRegistrationsIndex is the index of the last change to any
// registration, added to ws.
func (s *StateStore) ServiceRegistrationsIndex(ws memdb.WatchSet) uint64 {
	return s.MaxIndex(ws, tableServices)
}
