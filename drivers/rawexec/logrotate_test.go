package rawexec_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/drivertest"
)

func logFiles(t *testing.T, dir, prefix string) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out[e.Name()] = fi.Size()
	}
	return out
}

// TestLogRotation runs a task that writes 5 MB to stdout with 1 MB files
// and three kept, and checks the files the executor leaves.
func TestLogRotation(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask(`head -c 5000000 /dev/zero | tr '\0' x; echo oops >&2`))
	cfg.LogMaxFiles, cfg.LogMaxFileSizeMB = 3, 1
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	ch, err := d.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask() = %v", err)
	}
	if res := <-ch; res == nil || !res.Successful() {
		t.Fatalf("exit = %+v, want success", res)
	}
	dir := filepath.Dir(cfg.StdoutPath)
	got := logFiles(t, dir, "web.stdout.")
	want := map[string]int64{"web.stdout.2": 1 << 20, "web.stdout.3": 1 << 20, "web.stdout.4": 5000000 - 4<<20}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stdout files = %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "web.stderr.0"))
	if err != nil || string(b) != "oops\n" {
		t.Errorf("stderr = %q, %v, want \"oops\\n\"", b, err)
	}
}

// TestLogsOutliveThePlugin kills the plugin under a task that keeps
// writing and checks its output keeps reaching the rotated files.
func TestLogsOutliveThePlugin(t *testing.T) {
	d, client := launch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask(`i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.01; done`))
	cfg.LogMaxFiles, cfg.LogMaxFileSizeMB = 2, 1
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	size := func() int64 {
		var n int64
		for _, s := range logFiles(t, filepath.Dir(cfg.StdoutPath), "web.stdout.") {
			n += s
		}
		return n
	}
	waitGrow := func(from int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for size() <= from {
			if time.Now().After(deadline) {
				t.Fatalf("stdout stayed at %d bytes", from)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitGrow(0)
	client.Kill()
	before := size()
	waitGrow(before)

	d2, client2 := launch(t)
	defer client2.Kill()
	if err := d2.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	if err := d2.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask() = %v", err)
	}
	if err := d2.DestroyTask(ctx, cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask() = %v", err)
	}
	names := logFiles(t, filepath.Dir(cfg.StdoutPath), "web.stdout.")
	var keys []string
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 1 || keys[0] != "web.stdout.0" {
		t.Errorf("stdout files = %v, want web.stdout.0 only", keys)
	}
	b, _ := os.ReadFile(cfg.StdoutPath)
	if !strings.HasPrefix(string(b), "line 1\n") {
		t.Errorf("stdout starts %q, want \"line 1\\n\"", firstLine(b))
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
