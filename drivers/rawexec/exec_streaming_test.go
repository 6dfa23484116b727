package rawexec_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/drivertest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestExecTaskStreaming runs streamed exec sessions through the plugin's
// gRPC boundary into a running task.
func TestExecTaskStreaming(t *testing.T) {
	d, client := launch(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"enabled": true}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	cfg := drivertest.NewTaskConfig(t, shellTask(`while :; do sleep 0.2; done`))
	if _, err := d.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask() = %v", err)
	}
	defer d.DestroyTask(context.Background(), cfg.ID, true)
	es, ok := d.(drivers.ExecStreamer)
	if !ok {
		t.Fatalf("plugin client %T is not an ExecStreamer", d)
	}

	tests := []struct {
		name       string
		cmd        []string
		tty        bool
		stdin      string
		size       *drivers.TerminalSize
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{name: "stdin to stdout", cmd: []string{"/bin/cat"}, stdin: "hello\nworld\n", wantStdout: []string{"hello\nworld\n"}},
		{name: "stderr and exit code", cmd: []string{"/bin/sh", "-c", "echo oops >&2; exit 5"}, wantCode: 5, wantStderr: "oops\n"},
		{name: "task env and dir", cmd: []string{"/bin/sh", "-c", "echo $CONFORMANCE_WORD; pwd"}, wantStdout: []string{"bonjour\n", cfg.TaskDir}},
		{name: "terminal", cmd: []string{"/bin/sh", "-c", "tty; read x; stty size; echo got-$x"}, tty: true, stdin: "yes\n",
			size: &drivers.TerminalSize{Height: 33, Width: 101}, wantStdout: []string{"/dev/pts/", "33 101", "got-yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			opts := &drivers.ExecOptions{Command: tc.cmd, Tty: tc.tty, Stdout: &stdout, Stderr: &stderr}
			if tc.size != nil {
				ch := make(chan drivers.TerminalSize, 1)
				ch <- *tc.size
				opts.Resize = ch
			}
			pr, pw := io.Pipe()
			opts.Stdin = pr
			go func() {
				// The terminal's size is sent first; the input follows.
				if tc.size != nil {
					time.Sleep(300 * time.Millisecond)
				}
				_, _ = io.WriteString(pw, tc.stdin)
				pw.Close()
			}()
			res, err := es.ExecTaskStreaming(ctx, cfg.ID, opts)
			if err != nil {
				t.Fatalf("ExecTaskStreaming() error = %v", err)
			}
			if res.ExitCode != tc.wantCode {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", res.ExitCode, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout = %q, want it to contain %q", stdout.String(), w)
				}
			}
			if stderr.String() != tc.wantStderr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tc.wantStderr)
			}
		})
	}

	t.Run("output streams before exit", func(t *testing.T) {
		out := &syncBuffer{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = es.ExecTaskStreaming(ctx, cfg.ID, &drivers.ExecOptions{Command: []string{"/bin/sh", "-c", "echo first; sleep 3; echo second"}, Stdout: out})
		}()
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(out.String(), "first") {
			if time.Now().After(deadline) {
				t.Fatalf("no output within 2s of a command that prints at once")
			}
			time.Sleep(20 * time.Millisecond)
		}
		<-done
		if !strings.Contains(out.String(), "second") {
			t.Errorf("stdout = %q, want second", out.String())
		}
	})
}
