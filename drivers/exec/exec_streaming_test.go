package exec_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestExecStreamingKeepsIsolation streams an exec session into an isolated
// task, with and without a terminal: input reaches the command, and it runs
// in the task's pid namespace.
func TestExecStreamingKeepsIsolation(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := drivertest.NewTaskConfig(t, shellTask(`echo ready; while :; do sleep 0.1; done`))
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v, want nil", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	es, ok := d.(drivers.ExecStreamer)
	if !ok {
		t.Fatalf("plugin client %T is not an ExecStreamer", d)
	}
	tests := []struct {
		name    string
		tty     bool
		want    []string
		notWant string
	}{
		{name: "pipes", want: []string{"got-hi", "/bin/sh -c echo ready"}, notWant: "on-a-terminal"},
		{name: "terminal", tty: true, want: []string{"got-hi", "/bin/sh -c echo ready", "on-a-terminal"}, notWant: "no-such-output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out lockedBuffer
			res, err := es.ExecTaskStreaming(ctx, cfg.ID, &drivers.ExecOptions{
				Command: []string{"/bin/sh", "-c", "read x; echo got-$x; cat /proc/1/cmdline | tr '\\0' ' '; echo; [ -t 0 ] && echo on-a-terminal || true"},
				Tty:     tc.tty,
				Stdin:   strings.NewReader("hi\n"),
				Stdout:  &out,
				Stderr:  &out,
			})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("ExecTaskStreaming() = %+v, %v, output %q", res, err, out.String())
			}
			if strings.Contains(out.String(), tc.notWant) {
				t.Errorf("output = %q, want no %q", out.String(), tc.notWant)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output = %q, want it to contain %q", out.String(), w)
				}
			}
		})
	}
}
