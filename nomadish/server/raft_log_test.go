package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// The log keeps what was written across a close and a reopen of the same
// directory, which a restarted server does.
func TestRaftLogReopens(t *testing.T) {
	dir := t.TempDir()
	l, err := openRaftLog(dir, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("openRaftLog() error = %v", err)
	}
	if err := l.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Data: []byte("one")}, {Index: 2, Term: 1, Data: []byte("two")}}); err != nil {
		t.Fatalf("StoreLogs() error = %v", err)
	}
	if err := l.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatalf("SetUint64() error = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	l, err = openRaftLog(dir, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("openRaftLog() again error = %v", err)
	}
	defer l.Close()
	var got raft.Log
	if err := l.GetLog(2, &got); err != nil || string(got.Data) != "two" {
		t.Fatalf("GetLog(2) = %q, %v; want two", got.Data, err)
	}
	if term, err := l.GetUint64([]byte("CurrentTerm")); err != nil || term != 3 {
		t.Fatalf("GetUint64(CurrentTerm) = %d, %v; want 3", term, err)
	}
}

// A data directory with a Raft log of the BoltDB format is refused with
// an error that says so, and nothing is written beside it.
func TestRaftLogRefusesBoltDB(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "raft.db"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := openRaftLog(dir, hclog.NewNullLogger())
	if err == nil || !strings.Contains(err.Error(), "raft.db") || !strings.Contains(err.Error(), "BoltDB") {
		t.Fatalf("openRaftLog() error = %v, want raft.db in the BoltDB format named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wal")); !os.IsNotExist(err) {
		t.Errorf("wal directory created beside raft.db: %v", err)
	}
}
