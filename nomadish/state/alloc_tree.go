package state

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// allocTree holds the store's allocations: a copy-on-write B+tree ordered
// by ID. A value is an immutable version; a transaction (allocTreeTxn)
// copies the nodes on the paths it writes, once each, and changes its own
// copies in place after that.
//
// It stands in for a memdb table because of what a write costs there. A
// memdb index is an immutable radix tree over the key's bytes: writing
// one allocation copies a path of five or six nodes, each with its edge
// array and a fresh leaf and watch channel, tracks the copies in an LRU
// cache and their channels in a map — about 4 KB of garbage per write,
// and seven live objects per allocation. Allocations are the store's most
// written objects (each is placed, then reported on by its client), and
// the collector's work near a million of them is what slows a full
// cluster. Here a write copies a leaf of at most allocLeafMax pointers and
// the inner nodes above it that the transaction has not copied yet, and
// the tree holds two objects per allocLeafMax allocations.
//
// The tree is kept in the memdb row of tableAllocTree, so a memdb
// transaction or snapshot reads the allocations as of its own time, and a
// write transaction's allocations commit with the rest of it.
type allocTree struct {
	root *allocNode
}

// A write copies a leaf and, in a big transaction, most often an inner
// node too: at a million allocations, leaves of 32 make a fifth less
// garbage per write than leaves of 64 (BenchmarkAllocTreePut: 1.24 and
// 1.57 MB per 1,024 writes), at the same speed of writes and lookups.
const (
	allocLeafMax  = 32
	allocInnerMax = 16
)

// allocNode is a leaf (kids nil) holding allocations sorted by ID, or an
// inner node whose kids' separators divide them: every ID under kids[i-1]
// is below the separator of kids[i], every ID under kids[i] is at least
// that. kids[0]'s separator is not used.
//
// Entries carry the first eight bytes of their key as a number: searches
// compare those first, and follow a key's pointer only on a tie, which
// UUIDs make rare. Following one is a cache miss in a store of a million
// allocations.
//
// A separator is the shortest prefix of the right kid's first ID that is
// above the left kid's last one (separatorOf). Between UUIDs it is a few
// bytes, so its prefix number alone stands for it and the node keeps no
// string: an inner node is then sixteen bytes a kid, half of it pointers,
// which matters as a write copies the inner nodes on its path.
type allocNode struct {
	// gen is the transaction that made the node; only it may change the
	// node, and only until it commits.
	gen    uint64
	allocs []allocEntry
	kids   []kidEntry
	// keys holds, by kid, the separators longer than eight bytes, which
	// their prefix cannot stand for ("" for the others); nil when every
	// separator of the node is short.
	keys []string
}

type allocEntry struct {
	pfx uint64
	a   *structs.Allocation
}

// kidEntry is an inner node's kid with its separator's prefix.
type kidEntry struct {
	pfx uint64
	n   *allocNode
}

// separator is the key an inner node puts before a kid: pfx alone when key
// is "", else key (whose prefix pfx is).
type separator struct {
	pfx uint64
	key string
}

// separatorOf returns the shortest prefix of b above a (a < b): any key
// at least it is above a, and b is at least it. A prefix of at most eight
// bytes without zero bytes is carried by its prefix number alone: a key
// whose prefix equals that number starts with it, so is at least it.
func separatorOf(a, b string) separator {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i < 8 && i < len(b) && !strings.ContainsRune(b[:i+1], 0) {
		return separator{pfx: keyPrefix(b[:i+1])}
	}
	return separator{pfx: keyPrefix(b), key: b}
}

// keyPrefix is the first eight bytes of a key, big-endian, zero-padded:
// a < b for two prefixes means the same for their keys.
func keyPrefix(s string) uint64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(s) {
			p |= uint64(s[i])
		}
	}
	return p
}

// keyLess reports whether the key (pfx, key) sorts before (qpfx, q).
func keyLess(pfx uint64, key string, qpfx uint64, q string) bool {
	if pfx != qpfx {
		return pfx < qpfx
	}
	return key < q
}

// allocTreeGen numbers transactions. Zero is never used, so a node made
// outside a transaction is never changed in place.
var allocTreeGen atomic.Uint64

func (n *allocNode) leaf() bool { return n.kids == nil }

func (n *allocNode) size() int {
	if n.leaf() {
		return len(n.allocs)
	}
	return len(n.kids)
}

// find returns where id (whose prefix is p) is or would be in a leaf.
func (n *allocNode) find(p uint64, id string) (int, bool) {
	lo, hi := 0, len(n.allocs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e := n.allocs[m]; keyLess(e.pfx, e.a.ID, p, id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(n.allocs) && n.allocs[lo].pfx == p && n.allocs[lo].a.ID == id
}

// child returns the kid of an inner node that holds id, or would.
func (n *allocNode) child(p uint64, id string) int {
	lo, hi := 1, len(n.kids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !n.below(m, p, id) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// below reports whether id (whose prefix is p) sorts before the separator
// of kid i.
func (n *allocNode) below(i int, p uint64, id string) bool {
	if s := n.kids[i].pfx; p != s {
		return p < s
	}
	return n.keys != nil && id < n.keys[i]
}

// sep returns the separator of kid i.
func (n *allocNode) sep(i int) separator {
	s := separator{pfx: n.kids[i].pfx}
	if n.keys != nil {
		s.key = n.keys[i]
	}
	return s
}

// insertKid puts kid at i, after the separator s.
func (n *allocNode) insertKid(i int, s separator, kid *allocNode) {
	n.kids = slices.Insert(n.kids, i, kidEntry{pfx: s.pfx, n: kid})
	if s.key != "" && n.keys == nil {
		n.keys = make([]string, len(n.kids)-1, cap(n.kids))
	}
	if n.keys != nil {
		n.keys = slices.Insert(n.keys, i, s.key)
	}
}

// deleteKid drops kid i and its separator.
func (n *allocNode) deleteKid(i int) {
	n.kids = slices.Delete(n.kids, i, i+1)
	if n.keys != nil {
		n.keys = slices.Delete(n.keys, i, i+1)
	}
}

// splitSeparator is the separator a parent puts between left and right,
// the halves of a split.
func splitSeparator(left, right *allocNode) separator {
	if right.leaf() {
		return separatorOf(left.allocs[len(left.allocs)-1].a.ID, right.allocs[0].a.ID)
	}
	// An inner split leaves right's first separator unused: it moves up.
	return right.sep(0)
}

// Get returns the allocation with the ID, or nil.
func (t allocTree) Get(id string) *structs.Allocation {
	n := t.root
	if n == nil {
		return nil
	}
	p := keyPrefix(id)
	for !n.leaf() {
		n = n.kids[n.child(p, id)].n
	}
	if i, ok := n.find(p, id); ok {
		return n.allocs[i].a
	}
	return nil
}

// Ascend calls fn with each allocation whose ID starts with prefix, in ID
// order, until fn returns false.
func (t allocTree) Ascend(prefix string, fn func(*structs.Allocation) bool) {
	if t.root == nil {
		return
	}
	ascend(t.root, keyPrefix(prefix), prefix, func(a *structs.Allocation) bool {
		return strings.HasPrefix(a.ID, prefix) && fn(a)
	})
}

// ascend calls fn with the allocations under n from the first ID at or
// after from, and reports whether fn asked for more.
func ascend(n *allocNode, p uint64, from string, fn func(*structs.Allocation) bool) bool {
	if n.leaf() {
		i, _ := n.find(p, from)
		for _, e := range n.allocs[i:] {
			if !fn(e.a) {
				return false
			}
		}
		return true
	}
	for i := n.child(p, from); i < len(n.kids); i++ {
		if !ascend(n.kids[i].n, p, from, fn) {
			return false
		}
	}
	return true
}

// allocTreeTxn changes a tree. Its zero value is not usable: start one
// with allocTree.Txn.
type allocTreeTxn struct {
	t   allocTree
	gen uint64
}

// Txn starts changing a copy of t; t itself never changes.
func (t allocTree) Txn() *allocTreeTxn {
	return &allocTreeTxn{t: t, gen: allocTreeGen.Add(1)}
}

// Get reads the transaction's tree, its own writes included.
func (x *allocTreeTxn) Get(id string) *structs.Allocation { return x.t.Get(id) }

// Commit returns the changed tree. The transaction may go on, on a new
// copy: what it returned no longer changes.
func (x *allocTreeTxn) Commit() allocTree {
	x.gen = allocTreeGen.Add(1)
	return x.t
}

// own returns n if the transaction made it, else a copy it may change.
func (x *allocTreeTxn) own(n *allocNode) *allocNode {
	if n.gen == x.gen {
		return n
	}
	c := &allocNode{gen: x.gen}
	if n.leaf() {
		c.allocs = make([]allocEntry, len(n.allocs), len(n.allocs)+1)
		copy(c.allocs, n.allocs)
	} else {
		c.kids = make([]kidEntry, len(n.kids), len(n.kids)+1)
		copy(c.kids, n.kids)
		if n.keys != nil {
			c.keys = slices.Clone(n.keys)
		}
	}
	return c
}

// Put stores a, replacing the allocation with its ID, which it returns.
func (x *allocTreeTxn) Put(a *structs.Allocation) *structs.Allocation {
	e := allocEntry{pfx: keyPrefix(a.ID), a: a}
	if x.t.root == nil {
		x.t.root = &allocNode{gen: x.gen, allocs: []allocEntry{e}}
		return nil
	}
	root, split, old := x.put(x.t.root, e)
	if split != nil {
		s := splitSeparator(root, split)
		root = &allocNode{gen: x.gen, kids: []kidEntry{{n: root}}}
		root.insertKid(1, s, split)
	}
	x.t.root = root
	return old
}

// put stores e under n. It returns the node to take n's place, the right
// half when n had to split, and the allocation e replaced.
func (x *allocTreeTxn) put(n *allocNode, e allocEntry) (*allocNode, *allocNode, *structs.Allocation) {
	if n.leaf() {
		i, found := n.find(e.pfx, e.a.ID)
		n = x.own(n)
		if found {
			old := n.allocs[i].a
			n.allocs[i] = e
			return n, nil, old
		}
		n.allocs = slices.Insert(n.allocs, i, e)
		if len(n.allocs) <= allocLeafMax {
			return n, nil, nil
		}
		return n, x.splitLeaf(n, i), nil
	}
	i := n.child(e.pfx, e.a.ID)
	kid, split, old := x.put(n.kids[i].n, e)
	if kid == n.kids[i].n && split == nil {
		return n, nil, old // the kid was changed in place
	}
	n = x.own(n)
	n.kids[i].n = kid
	if split == nil {
		return n, nil, old
	}
	n.insertKid(i+1, splitSeparator(kid, split), split)
	if len(n.kids) <= allocInnerMax {
		return n, nil, old
	}
	return n, x.splitInner(n, i+1), old
}

// Update finds the allocation with the ID and, if there is one, puts
// what fn makes of it in its place, in one descent of the tree: a write
// that depends on the stored version costs no separate Get. fn's result
// must have the same ID; nil leaves the allocation as it is. Update
// returns the stored allocation and its replacement.
func (x *allocTreeTxn) Update(id string, fn func(old *structs.Allocation) *structs.Allocation) (old, new *structs.Allocation) {
	if x.t.root == nil {
		return nil, nil
	}
	x.t.root, old, new = x.update(x.t.root, keyPrefix(id), id, fn)
	return old, new
}

func (x *allocTreeTxn) update(n *allocNode, p uint64, id string, fn func(*structs.Allocation) *structs.Allocation) (*allocNode, *structs.Allocation, *structs.Allocation) {
	if n.leaf() {
		i, found := n.find(p, id)
		if !found {
			return n, nil, nil
		}
		old := n.allocs[i].a
		new := fn(old)
		if new == nil {
			return n, old, nil
		}
		n = x.own(n)
		n.allocs[i].a = new
		return n, old, new
	}
	i := n.child(p, id)
	kid, old, new := x.update(n.kids[i].n, p, id, fn)
	if kid != n.kids[i].n {
		n = x.own(n)
		n.kids[i].n = kid
	}
	return n, old, new
}

// splitAt is where a node that overflowed after an insert at i splits: in
// half, unless the insert was at its end, where the left node stays full
// so that IDs arriving in order (a restore) fill their nodes.
func splitAt(size, i int) int {
	if i == size-1 {
		return size - 1
	}
	return size / 2
}

// splitOff cuts *s after an insert at i and returns the right part, in
// an array of room max+1.
func splitOff[T any](s *[]T, i, max int) []T {
	m := splitAt(len(*s), i)
	r := make([]T, len(*s)-m, max+1)
	copy(r, (*s)[m:])
	clear((*s)[m:])
	*s = (*s)[:m]
	return r
}

func (x *allocTreeTxn) splitLeaf(n *allocNode, i int) *allocNode {
	return &allocNode{gen: x.gen, allocs: splitOff(&n.allocs, i, allocLeafMax)}
}

func (x *allocTreeTxn) splitInner(n *allocNode, i int) *allocNode {
	r := &allocNode{gen: x.gen}
	if n.keys != nil {
		m := splitAt(len(n.kids), i) // where splitOff cuts the kids
		r.keys = slices.Clone(n.keys[m:])
		clear(n.keys[m:])
		n.keys = n.keys[:m]
	}
	r.kids = splitOff(&n.kids, i, allocInnerMax)
	return r
}

// Delete removes the allocation with the ID and returns it (nil if there
// was none).
func (x *allocTreeTxn) Delete(id string) *structs.Allocation {
	if x.t.root == nil {
		return nil
	}
	root, old := x.del(x.t.root, keyPrefix(id), id)
	if old == nil {
		return nil
	}
	for !root.leaf() && len(root.kids) == 1 {
		root = root.kids[0].n
	}
	if root.size() == 0 {
		root = nil
	}
	x.t.root = root
	return old
}

// del removes id (whose prefix is p) under n; it returns the node to take
// n's place and the allocation removed.
func (x *allocTreeTxn) del(n *allocNode, p uint64, id string) (*allocNode, *structs.Allocation) {
	if n.leaf() {
		i, found := n.find(p, id)
		if !found {
			return n, nil
		}
		old := n.allocs[i].a
		n = x.own(n)
		n.allocs = slices.Delete(n.allocs, i, i+1)
		return n, old
	}
	i := n.child(p, id)
	kid, old := x.del(n.kids[i].n, p, id)
	if old == nil {
		return n, nil
	}
	small := kid.size() < minFill(kid)
	if kid == n.kids[i].n && !small {
		return n, old
	}
	n = x.own(n)
	n.kids[i].n = kid
	if small {
		x.mergeKid(n, i)
	}
	return n, old
}

// minFill is the size below which a node is merged with a neighbour that
// has room for it.
func minFill(n *allocNode) int {
	if n.leaf() {
		return allocLeafMax / 4
	}
	return allocInnerMax / 4
}

// mergeKid drops n's kid i if it is empty, or merges it with a neighbour
// when both fit in one node. n is the transaction's own.
func (x *allocTreeTxn) mergeKid(n *allocNode, i int) {
	if n.kids[i].n.size() == 0 {
		n.deleteKid(i)
		return
	}
	l := i - 1 // merge kids l and l+1
	if l < 0 || (i+1 < len(n.kids) && n.kids[i+1].n.size() < n.kids[l].n.size()) {
		l = i
	}
	if l+1 >= len(n.kids) {
		return
	}
	left, right := n.kids[l].n, n.kids[l+1].n
	max := allocInnerMax
	if left.leaf() {
		max = allocLeafMax
	}
	if left.size()+right.size() > max {
		return
	}
	left = x.own(left)
	if left.leaf() {
		left.allocs = append(left.allocs, right.allocs...)
	} else {
		// right's first kid goes under the separator its parent held.
		had := len(left.kids)
		s := n.sep(l + 1)
		first := right.kids[0]
		first.pfx = s.pfx
		left.kids = append(left.kids, first)
		left.kids = append(left.kids, right.kids[1:]...)
		if left.keys != nil || right.keys != nil || s.key != "" {
			if left.keys == nil {
				left.keys = make([]string, had, len(left.kids))
			}
			left.keys = append(left.keys, s.key)
			if right.keys != nil {
				left.keys = append(left.keys, right.keys[1:]...)
			} else {
				left.keys = append(left.keys, make([]string, len(right.kids)-1)...)
			}
		}
	}
	n.kids[l].n = left
	n.deleteKid(l + 1)
}

// tableAllocTree has one row, the allocTree of the store's allocations.
// Each transaction that writes allocations replaces it once, on flushing
// its writeBatch; a watch on it fires on any allocation written.
const tableAllocTree = "alloc_tree"

const allocTreeKey = "allocs"

type allocTreeRow struct {
	Key  string
	Tree allocTree
}

func init() {
	registerTable(&memdb.TableSchema{Name: tableAllocTree, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
	}})
}

// allocsIn returns the allocations as txn reads them, and adds to ws (when
// not nil) a watch that fires when any allocation is written.
func allocsIn(txn *memdb.Txn, ws memdb.WatchSet) (allocTree, error) {
	t, ch, err := allocsWatch(txn)
	ws.Add(ch)
	return t, err
}

// allocsWatch returns the allocations as txn reads them and a channel
// closed when any allocation is written.
func allocsWatch(txn *memdb.Txn) (allocTree, <-chan struct{}, error) {
	ch, raw, err := txn.FirstWatch(tableAllocTree, "id", allocTreeKey)
	if err != nil {
		return allocTree{}, nil, fmt.Errorf("allocations: %w", err)
	}
	if raw == nil {
		return allocTree{}, ch, nil
	}
	return raw.(*allocTreeRow).Tree, ch, nil
}

// setAllocs makes t the transaction's allocations.
func setAllocs(txn *memdb.Txn, t allocTree) error {
	if err := txn.Insert(tableAllocTree, &allocTreeRow{Key: allocTreeKey, Tree: t}); err != nil {
		return fmt.Errorf("store allocations: %w", err)
	}
	return nil
}
