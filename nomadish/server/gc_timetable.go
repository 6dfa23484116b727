package server

import (
	"sort"
	"sync"
	"time"
)

// timeTable remembers when Raft indexes were appended, so the garbage
// collector can turn "finished more than an hour ago" into "last modified
// at or before index N". The FSM witnesses every entry it applies with
// the time the leader appended it, so every server builds the same table
// from the log it replays; a server restored from a snapshot knows only
// the entries after it, which makes older objects look younger, never
// older.
//
// Entries are kept at least granularity apart, except the last one, which
// is always the latest witness; entries older than limit are dropped.
type timeTable struct {
	mu          sync.Mutex
	granularity time.Duration
	limit       time.Duration
	entries     []timeEntry
}

type timeEntry struct {
	index uint64
	at    time.Time
}

func newTimeTable(granularity, limit time.Duration) *timeTable {
	return &timeTable{granularity: granularity, limit: limit}
}

// witness records that index was appended at at. Called from the FSM's
// apply goroutine; a nil table records nothing.
func (t *timeTable) witness(index uint64, at time.Time) {
	if t == nil || at.IsZero() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.entries)
	if n > 0 {
		last := t.entries[n-1]
		if index <= last.index || at.Before(last.at) {
			return
		}
		// Within granularity of the entry before the last: the last one
		// only moves forward.
		if n >= 2 && at.Sub(t.entries[n-2].at) < t.granularity {
			t.entries[n-1] = timeEntry{index: index, at: at}
			return
		}
	}
	t.entries = append(t.entries, timeEntry{index: index, at: at})
	// Drop what is older than the limit, keeping the newest entry at or
	// before the cut so a lookup at the limit still finds an answer.
	cut := at.Add(-t.limit)
	drop := 0
	for drop+1 < len(t.entries) && !t.entries[drop+1].at.After(cut) {
		drop++
	}
	if drop > 0 {
		t.entries = append(t.entries[:0], t.entries[drop:]...)
	}
}

// nearestIndex returns the highest index witnessed at or before at; 0 when
// nothing that old is known.
func (t *timeTable) nearestIndex(at time.Time) uint64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].at.After(at) })
	if i == 0 {
		return 0
	}
	return t.entries[i-1].index
}
