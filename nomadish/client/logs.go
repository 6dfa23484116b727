package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Errors of LogReader, for the HTTP handler to map to status codes.
var (
	// ErrUnknownTask: the allocation has no such task (404).
	ErrUnknownTask = allocrunner.ErrUnknownTask
	// ErrTaskNotRunning: the task has no running process to act on (400).
	ErrTaskNotRunning = allocrunner.ErrTaskNotRunning
	// ErrBadLogRequest: type or origin is invalid (400).
	ErrBadLogRequest = errors.New("invalid log request")
)

// Log origins.
const (
	OriginStart = "start"
	OriginEnd   = "end"
)

// logPollInterval is how often a following reader looks for new output.
const logPollInterval = 50 * time.Millisecond

// LogRequest is a read of one task's stdout or stderr, mirroring the
// parameters of Nomad's /v1/client/fs/logs/:alloc_id.
type LogRequest struct {
	// AllocID and Task name the task.
	AllocID string
	Task    string
	// Type is "stdout" or "stderr".
	Type string
	// Origin is "start" (default) or "end".
	Origin string
	// Offset is the byte offset from the origin: bytes skipped from the
	// start, or bytes before the end. Rotated files (<task>.<type>.0, .1,
	// ...) are read as one stream.
	Offset int64
	// Follow keeps the reader open after the current end, returning new
	// output as it is written, until ctx ends, Close is called, or the
	// task is dead and its output fully read.
	Follow bool
}

// LogReader opens a task's log as a plain byte stream. The HTTP handler
// copies it to the response (framing it if the request is not plain), and
// must Close it. Read returns io.EOF at the end (without Follow) or when
// following stops; with Follow, Read blocks until data arrives. Errors:
// ErrUnknownAlloc, ErrUnknownTask, ErrBadLogRequest.
func (c *Client) LogReader(ctx context.Context, req LogRequest) (io.ReadCloser, error) {
	ar := c.runner(req.AllocID)
	if ar == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAlloc, req.AllocID)
	}
	if req.Type != "stdout" && req.Type != "stderr" {
		return nil, fmt.Errorf("%w: type must be stdout or stderr, got %q", ErrBadLogRequest, req.Type)
	}
	switch req.Origin {
	case "":
		req.Origin = OriginStart
	case OriginStart, OriginEnd:
	default:
		return nil, fmt.Errorf("%w: origin must be start or end, got %q", ErrBadLogRequest, req.Origin)
	}
	if req.Offset < 0 {
		return nil, fmt.Errorf("%w: offset %d is negative", ErrBadLogRequest, req.Offset)
	}
	if ar.TaskState(req.Task) == nil {
		return nil, fmt.Errorf("%w: %q in allocation %s", ErrUnknownTask, req.Task, req.AllocID)
	}
	lr := &logReader{
		dir:    ar.AllocDir().LogDir,
		prefix: req.Task + "." + req.Type + ".",
		follow: req.Follow,
		stop:   make(chan struct{}),
		taskDead: func() bool {
			ts := ar.TaskState(req.Task)
			return ts == nil || ts.State == structs.TaskStateDead
		},
	}
	if err := lr.seek(req.Origin, req.Offset); err != nil {
		return nil, err
	}
	lr.unregister = context.AfterFunc(ctx, lr.closeStop)
	return lr, nil
}

// logReader reads the rotated files of one log as a single stream.
type logReader struct {
	dir      string
	prefix   string
	follow   bool
	taskDead func() bool

	idx int
	f   *os.File

	stopOnce   sync.Once
	stop       chan struct{}
	unregister func() bool
}

// indexes returns the existing file indexes, ascending.
func (r *logReader) indexes() ([]int, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if s, ok := strings.CutPrefix(e.Name(), r.prefix); ok {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	sort.Ints(out)
	return out, nil
}

func (r *logReader) path(i int) string {
	return filepath.Join(r.dir, r.prefix+strconv.Itoa(i))
}

// seek positions the reader at offset from origin across all files.
func (r *logReader) seek(origin string, offset int64) error {
	idxs, err := r.indexes()
	if err != nil {
		return err
	}
	if len(idxs) == 0 {
		return nil
	}
	sizes := make([]int64, len(idxs))
	var total int64
	for i, n := range idxs {
		if fi, err := os.Stat(r.path(n)); err == nil {
			sizes[i] = fi.Size()
			total += sizes[i]
		}
	}
	pos := offset
	if origin == OriginEnd {
		pos = total - offset
	}
	pos = max(0, min(pos, total))
	r.idx = idxs[0]
	for i, n := range idxs {
		r.idx = n
		if pos <= sizes[i] || i == len(idxs)-1 {
			break
		}
		pos -= sizes[i]
	}
	f, err := os.Open(r.path(r.idx))
	if err != nil {
		return err
	}
	if _, err := f.Seek(pos, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	r.f = f
	return nil
}

func (r *logReader) Read(p []byte) (int, error) {
	for {
		select {
		case <-r.stop:
			return 0, io.EOF
		default:
		}
		if r.f == nil {
			f, err := os.Open(r.path(r.idx))
			if err == nil {
				r.f = f
			} else if !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
		}
		if r.f != nil {
			n, err := r.f.Read(p)
			if n > 0 {
				return n, nil
			}
			if err != nil && err != io.EOF {
				return 0, err
			}
			// At the end of this file: move on if a later one exists.
			if _, err := os.Stat(r.path(r.idx + 1)); err == nil {
				r.f.Close()
				r.f = nil
				r.idx++
				continue
			}
		}
		if !r.follow {
			return 0, io.EOF
		}
		dead := r.taskDead()
		if dead {
			// One more read after seeing the task dead catches its
			// last writes.
			if r.f != nil {
				if n, _ := r.f.Read(p); n > 0 {
					return n, nil
				}
			}
			return 0, io.EOF
		}
		t := time.NewTimer(logPollInterval)
		select {
		case <-r.stop:
			t.Stop()
			return 0, io.EOF
		case <-t.C:
		}
	}
}

func (r *logReader) closeStop() {
	r.stopOnce.Do(func() { close(r.stop) })
}

// Close stops a following read and releases the file.
func (r *logReader) Close() error {
	r.closeStop()
	if r.unregister != nil {
		r.unregister()
	}
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}
