package state

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// checkTree verifies the tree's invariants and that it holds exactly the
// model's allocations.
func checkTree(t *testing.T, tr allocTree, model map[string]*structs.Allocation) {
	t.Helper()
	if treeLen(tr) != len(model) {
		t.Fatalf("Len = %d, want %d", treeLen(tr), len(model))
	}
	var ids []string
	tr.Ascend("", func(a *structs.Allocation) bool {
		ids = append(ids, a.ID)
		if model[a.ID] != a {
			t.Fatalf("tree holds %s = %p, model %p", a.ID, a, model[a.ID])
		}
		return true
	})
	if len(ids) != len(model) || !slices.IsSorted(ids) {
		t.Fatalf("walk gave %d IDs (sorted %v), want %d", len(ids), slices.IsSorted(ids), len(model))
	}
	for id, a := range model {
		if got := tr.Get(id); got != a {
			t.Fatalf("Get(%s) = %p, want %p", id, got, a)
		}
	}
	if tr.root != nil {
		checkNode(t, tr.root, "", "\xff\xff", true)
	}
}

func checkNode(t *testing.T, n *allocNode, lo, hi string, root bool) {
	t.Helper()
	if !root && n.size() == 0 {
		t.Fatal("empty node below the root")
	}
	if n.leaf() {
		if len(n.allocs) > allocLeafMax {
			t.Fatalf("leaf of %d", len(n.allocs))
		}
		for _, e := range n.allocs {
			a := e.a
			if e.pfx != keyPrefix(a.ID) {
				t.Fatalf("%s carries prefix %x", a.ID, e.pfx)
			}
			if a.ID < lo || a.ID >= hi {
				t.Fatalf("%s outside [%q, %q)", a.ID, lo, hi)
			}
		}
		return
	}
	if len(n.kids) > allocInnerMax {
		t.Fatalf("inner node of %d kids", len(n.kids))
	}
	if root && len(n.kids) < 2 {
		t.Fatalf("inner root of %d kids", len(n.kids))
	}
	if n.keys != nil && len(n.keys) != len(n.kids) {
		t.Fatalf("%d separator keys for %d kids", len(n.keys), len(n.kids))
	}
	for i, kid := range n.kids {
		if i > 0 {
			if s := n.sep(i); s.key != "" && s.pfx != keyPrefix(s.key) {
				t.Fatalf("separator %q carries prefix %x", s.key, s.pfx)
			}
		}
		klo, khi := lo, hi
		if i > 0 {
			klo = sepString(n, i)
		}
		if i+1 < len(n.kids) {
			khi = sepString(n, i+1)
		}
		if klo > khi {
			t.Fatalf("keys out of order: %q > %q", klo, khi)
		}
		checkNode(t, kid.n, klo, khi, false)
	}
}

// sepString is the separator of kid i as a string.
func sepString(n *allocNode, i int) string {
	if s := n.sep(i); s.key != "" {
		return s.key
	}
	var b []byte
	for shift := 56; shift >= 0; shift -= 8 {
		c := byte(n.kids[i].pfx >> shift)
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// treeLen counts a tree's allocations.
func treeLen(tr allocTree) int {
	n := 0
	tr.Ascend("", func(*structs.Allocation) bool { n++; return true })
	return n
}

func treeAlloc(id string) *structs.Allocation { return &structs.Allocation{ID: id} }

// TestAllocTreeMatchesModel writes random puts and deletes in
// transactions of random sizes, and checks after each that the committed
// tree matches a map, and that every earlier committed version still
// reads as it did.
//
// The IDs come in four kinds: random prefixes, whose separators are a
// few bytes; IDs that share their first eight bytes or more, whose
// separators are kept as strings; short IDs with zero bytes, whose
// prefixes tie with longer ones; and a mix of prefixes of one another.
func TestAllocTreeMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []struct {
		name string
		gen  func(i int) string
	}{
		{"random", func(i int) string { return fmt.Sprintf("%08x-%04d", rng.Uint32(), i) }},
		{"long", func(i int) string { return fmt.Sprintf("allocation-%03d-%04d", rng.IntN(40), i) }},
		{"zero", func(i int) string {
			b := []byte{'a', byte('a' + rng.IntN(3)), byte(rng.IntN(2)), 0, byte(i % 97), byte(i / 97 % 61)}
			return string(b[:1+rng.IntN(len(b))])
		}},
		{"mixed", func(i int) string {
			return []string{"ab", "ab\x00", "ab\x00\x00", "abc", "a"}[i%5] + fmt.Sprintf("%x", rng.IntN(1<<(4*(i%4))))
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) { treeModelRun(t, rng, k.gen) })
	}
}

func treeModelRun(t *testing.T, rng *rand.Rand, gen func(int) string) {
	var tr allocTree
	model := map[string]*structs.Allocation{}
	type version struct {
		tree  allocTree
		model map[string]*structs.Allocation
	}
	var versions []version
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = gen(i)
	}
	for round := 0; round < 120; round++ {
		x := tr.Txn()
		n := 1 + rng.IntN(400)
		if round%10 == 0 {
			n = 2000 // big batches make and empty whole subtrees
		}
		deleting, updating := round%3 == 2, round%3 == 1
		for range n {
			id := ids[rng.IntN(len(ids))]
			if updating && rng.IntN(2) == 0 {
				var made *structs.Allocation
				keep := rng.IntN(4) == 0 // fn declines: nothing changes
				old, got := x.Update(id, func(o *structs.Allocation) *structs.Allocation {
					if o != model[id] || o == nil {
						t.Fatalf("Update(%s) called fn with %p, want %p", id, o, model[id])
					}
					if keep {
						return nil
					}
					made = treeAlloc(id)
					return made
				})
				if old != model[id] || got != made {
					t.Fatalf("Update(%s) = %p, %p; want %p, %p", id, old, got, model[id], made)
				}
				if made != nil {
					model[id] = made
				}
				if x.Get(id) != model[id] {
					t.Fatalf("the transaction does not read its own update of %s", id)
				}
				continue
			}
			if deleting {
				got := x.Delete(id)
				if got != model[id] {
					t.Fatalf("Delete(%s) returned %p, want %p", id, got, model[id])
				}
				delete(model, id)
				continue
			}
			a := treeAlloc(id)
			if got := x.Put(a); got != model[id] {
				t.Fatalf("Put(%s) returned %p, want %p", id, got, model[id])
			}
			model[id] = a
			if x.Get(id) != a {
				t.Fatalf("the transaction does not read its own put of %s", id)
			}
		}
		tr = x.Commit()
		checkTree(t, tr, model)
		versions = append(versions, version{tr, maps.Clone(model)})
	}
	for i, v := range versions {
		if treeLen(v.tree) != len(v.model) {
			t.Fatalf("version %d changed: %d allocations, want %d", i, treeLen(v.tree), len(v.model))
		}
		checkTree(t, v.tree, v.model)
	}
}

// A transaction that goes on after Commit must not change what it
// committed.
func TestAllocTreeCommitFreezes(t *testing.T) {
	x := allocTree{}.Txn()
	for i := range 200 {
		x.Put(treeAlloc(fmt.Sprintf("a%03d", i)))
	}
	first := x.Commit()
	x.Put(treeAlloc("a050"))
	x.Delete("a100")
	x.Put(treeAlloc("b"))
	if treeLen(first) != 200 || first.Get("b") != nil || first.Get("a100") == nil {
		t.Fatalf("committed tree changed: len %d, b %v, a100 %v", treeLen(first), first.Get("b"), first.Get("a100"))
	}
	second := x.Commit()
	if treeLen(second) != 200 || second.Get("b") == nil || second.Get("a100") != nil || second.Get("a050") == first.Get("a050") {
		t.Fatalf("second commit lost writes: len %d", treeLen(second))
	}
}

func TestAllocTreeAscendPrefix(t *testing.T) {
	x := allocTree{}.Txn()
	model := map[string]*structs.Allocation{}
	for i := range 3000 {
		id := fmt.Sprintf("%03x-%d", i%700, i)
		a := treeAlloc(id)
		x.Put(a)
		model[id] = a
	}
	tr := x.Commit()
	for _, prefix := range []string{"", "0", "1a", "2b", "2bc-", "2bc-1", "zz", "00", "2bc-2000"} {
		var want []string
		for id := range model {
			if strings.HasPrefix(id, prefix) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		var got []string
		tr.Ascend(prefix, func(a *structs.Allocation) bool {
			got = append(got, a.ID)
			return true
		})
		if !slices.Equal(got, want) {
			t.Errorf("Ascend(%q) = %d IDs, want %d", prefix, len(got), len(want))
		}
	}
	n := 0
	tr.Ascend("", func(*structs.Allocation) bool { n++; return n < 10 })
	if n != 10 {
		t.Errorf("Ascend went on after fn returned false: %d calls", n)
	}
}

// IDs inserted in order fill their leaves, as a restore does.
func TestAllocTreeInOrderFills(t *testing.T) {
	x := allocTree{}.Txn()
	for i := range allocLeafMax * 100 {
		x.Put(treeAlloc(fmt.Sprintf("%06d", i)))
	}
	tr := x.Commit()
	leaves := 0
	var walk func(n *allocNode)
	walk = func(n *allocNode) {
		if n.leaf() {
			leaves++
			return
		}
		for _, k := range n.kids {
			walk(k.n)
		}
	}
	walk(tr.root)
	if leaves > 101 {
		t.Errorf("%d leaves for %d allocations in order; want about 100", leaves, allocLeafMax*100)
	}
	checkTree(t, tr, func() map[string]*structs.Allocation {
		m := map[string]*structs.Allocation{}
		tr.Ascend("", func(a *structs.Allocation) bool { m[a.ID] = a; return true })
		return m
	}())
}

// BenchmarkAllocTreePut: a batch of client reports rewriting 1,024 random
// allocations of a tree of a million, one transaction per op.
func BenchmarkAllocTreePut(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := allocTree{}.Txn()
	allocs := make([]*structs.Allocation, 1_000_000)
	for i := range allocs {
		allocs[i] = treeAlloc(structs.GenerateUUID())
		x.Put(allocs[i])
	}
	tr := x.Commit()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		x := tr.Txn()
		for range 1024 {
			a := allocs[rng.IntN(len(allocs))]
			c := *a
			x.Put(&c)
		}
		tr = x.Commit()
	}
}

// BenchmarkAllocTreeGet: looking up random allocations of a tree of a
// million.
func BenchmarkAllocTreeGet(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := allocTree{}.Txn()
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = structs.GenerateUUID()
		x.Put(treeAlloc(ids[i]))
	}
	tr := x.Commit()
	b.ResetTimer()
	for range b.N {
		if tr.Get(ids[rng.IntN(len(ids))]) == nil {
			b.Fatal("not found")
		}
	}
}
