package server

import (
	"fmt"
	"sync"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestAllocUpdateBatchesAreBounded sends more client updates in one window
// than a batch may hold: they must land in several Raft entries, none over
// the bound, and every caller must get the index of the entry holding its
// update.
func TestAllocUpdateBatchesAreBounded(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var b allocUpdateBatcher
	const n = 3*allocUpdateBatchMax + 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	perIndex := map[uint64]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Updates of allocations the store does not hold are skipped
			// by the FSM; the batching is what is under test.
			r := structs.AllocClientStatus{ID: fmt.Sprintf("missing-%d", i), ClientStatus: structs.AllocClientStatusRunning}
			index, err := b.add(s, []structs.AllocClientStatus{r}, nil)
			if err != nil {
				t.Errorf("add() error = %v", err)
				return
			}
			mu.Lock()
			perIndex[index]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	total := 0
	for index, c := range perIndex {
		if c > allocUpdateBatchMax {
			t.Errorf("entry %d held %d updates, want <= %d", index, c, allocUpdateBatchMax)
		}
		total += c
	}
	if total != n {
		t.Errorf("callers answered = %d, want %d", total, n)
	}
	if len(perIndex) < 4 {
		t.Errorf("updates went into %d entries, want at least 4", len(perIndex))
	}
}
