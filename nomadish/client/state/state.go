// Package state persists the client's allocations, task states and driver
// task handles in a bbolt database, so a restarted client re-attaches to its
// running tasks instead of starting them again.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Layout: allocs/<alloc id>/{alloc, state/<task>, handle/<task>}.
var (
	allocsBucket = []byte("allocs")
	allocKey     = []byte("alloc")
	stateBucket  = []byte("state")
	handleBucket = []byte("handle")
)

// Store is the client state database. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
}

// Open opens (or creates) the database at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open client state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(allocsBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("init client state: %w", err)
	}
	// Writes go through Batch: concurrent writers (many tasks starting at
	// once) share one fsync, at the cost of this much added latency.
	db.MaxBatchDelay = 2 * time.Millisecond
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func allocBucket(tx *bolt.Tx, allocID string, create bool) (*bolt.Bucket, error) {
	root := tx.Bucket(allocsBucket)
	if create {
		return root.CreateBucketIfNotExists([]byte(allocID))
	}
	return root.Bucket([]byte(allocID)), nil
}

// PutAlloc stores an allocation.
func (s *Store) PutAlloc(a *structs.Allocation) error {
	buf, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alloc %s: %w", a.ID, err)
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, err := allocBucket(tx, a.ID, true)
		if err != nil {
			return err
		}
		return b.Put(allocKey, buf)
	})
}

// DeleteAlloc removes an allocation and everything stored under it.
func (s *Store) DeleteAlloc(allocID string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(allocsBucket).DeleteBucket([]byte(allocID))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// Allocs returns every stored allocation.
func (s *Store) Allocs() ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(allocsBucket).ForEachBucket(func(k []byte) error {
			v := tx.Bucket(allocsBucket).Bucket(k).Get(allocKey)
			if v == nil {
				return nil
			}
			var a structs.Allocation
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("decode alloc %s: %w", k, err)
			}
			out = append(out, &a)
			return nil
		})
	})
	return out, err
}

// PutTask stores a task's state and, when handle is not nil, its driver
// handle, in one transaction. clearHandle removes a stored handle.
func (s *Store) PutTask(allocID, task string, ts *structs.TaskState, handle *drivers.TaskHandle, clearHandle bool) error {
	var stateBuf, handleBuf []byte
	var err error
	if ts != nil {
		if stateBuf, err = json.Marshal(ts); err != nil {
			return fmt.Errorf("encode task state %s/%s: %w", allocID, task, err)
		}
	}
	if handle != nil {
		if handleBuf, err = json.Marshal(handle); err != nil {
			return fmt.Errorf("encode task handle %s/%s: %w", allocID, task, err)
		}
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, err := allocBucket(tx, allocID, true)
		if err != nil {
			return err
		}
		if stateBuf != nil {
			sb, err := b.CreateBucketIfNotExists(stateBucket)
			if err != nil {
				return err
			}
			if err := sb.Put([]byte(task), stateBuf); err != nil {
				return err
			}
		}
		if handleBuf != nil || clearHandle {
			hb, err := b.CreateBucketIfNotExists(handleBucket)
			if err != nil {
				return err
			}
			if handleBuf == nil {
				return hb.Delete([]byte(task))
			}
			return hb.Put([]byte(task), handleBuf)
		}
		return nil
	})
}

// Task returns a task's stored state and handle; either may be nil.
func (s *Store) Task(allocID, task string) (*structs.TaskState, *drivers.TaskHandle, error) {
	var ts *structs.TaskState
	var h *drivers.TaskHandle
	err := s.db.View(func(tx *bolt.Tx) error {
		b, _ := allocBucket(tx, allocID, false)
		if b == nil {
			return nil
		}
		if sb := b.Bucket(stateBucket); sb != nil {
			if v := sb.Get([]byte(task)); v != nil {
				ts = new(structs.TaskState)
				if err := json.Unmarshal(v, ts); err != nil {
					return fmt.Errorf("decode task state %s/%s: %w", allocID, task, err)
				}
			}
		}
		if hb := b.Bucket(handleBucket); hb != nil {
			if v := hb.Get([]byte(task)); v != nil {
				h = new(drivers.TaskHandle)
				if err := json.Unmarshal(v, h); err != nil {
					return fmt.Errorf("decode task handle %s/%s: %w", allocID, task, err)
				}
			}
		}
		return nil
	})
	return ts, h, err
}
