package executor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LogSpec says where the executor writes a task's output and how it
// rotates it. The executor reads the task's stdout and stderr through pipes
// it holds, so output keeps flowing to the files while the plugin or the
// client restarts.
type LogSpec struct {
	// StdoutPath and StderrPath are the first files, ending in ".0"; later
	// files count up from there.
	StdoutPath string
	StderrPath string
	// MaxFiles is how many files of each stream are kept.
	MaxFiles int
	// MaxFileBytes is the size at which a file is closed and the next begun.
	MaxFileBytes int64
}

// logDrainTimeout bounds how long the executor waits, after the task
// exits, for output still in the pipes.
const logDrainTimeout = 5 * time.Second

// rotator writes a stream into files <prefix>.N, starting a new file when
// one reaches maxBytes and deleting all but the newest maxFiles. It resumes
// the newest existing file, so a restarted task appends to its old output.
type rotator struct {
	dir      string
	prefix   string
	maxFiles int
	maxBytes int64

	mu   sync.Mutex
	f    *os.File
	idx  int
	size int64
}

// newRotator opens the newest file of the stream whose first file is path
// (which must end in ".0").
func newRotator(path string, maxFiles int, maxBytes int64) (*rotator, error) {
	base, suffix, ok := cutLast(filepath.Base(path), ".")
	if !ok || suffix != "0" {
		return nil, fmt.Errorf("log path %q does not end in .0", path)
	}
	if maxFiles < 1 || maxBytes < 1 {
		return nil, fmt.Errorf("log rotation needs max files and max size above zero, got %d and %d", maxFiles, maxBytes)
	}
	r := &rotator{dir: filepath.Dir(path), prefix: base + ".", maxFiles: maxFiles, maxBytes: maxBytes}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	idxs, err := r.indexes()
	if err != nil {
		return nil, err
	}
	if len(idxs) > 0 {
		r.idx = idxs[len(idxs)-1]
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// indexes lists the stream's file numbers in ascending order.
func (r *rotator) indexes() ([]int, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, r.prefix) {
			continue
		}
		n, err := strconv.Atoi(name[len(r.prefix):])
		if err != nil || n < 0 {
			continue
		}
		out = append(out, n)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

func (r *rotator) path(i int) string {
	return filepath.Join(r.dir, r.prefix+strconv.Itoa(i))
}

func (r *rotator) open() error {
	f, err := os.OpenFile(r.path(r.idx), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, fi.Size()
	return nil
}

// Write writes p across as many files as its size needs.
func (r *rotator) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	written := 0
	for len(p) > 0 {
		room := r.maxBytes - r.size
		if room <= 0 {
			if err := r.rotate(); err != nil {
				return written, err
			}
			continue
		}
		chunk := p
		if int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := r.f.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// rotate starts the next file and removes those beyond maxFiles.
func (r *rotator) rotate() error {
	if err := r.f.Close(); err != nil {
		return err
	}
	r.idx++
	if err := r.open(); err != nil {
		return err
	}
	idxs, err := r.indexes()
	if err != nil {
		return err
	}
	var errs []error
	for _, i := range idxs {
		if i <= r.idx-r.maxFiles {
			if err := os.Remove(r.path(i)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes the current file.
func (r *rotator) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}

// logPump copies a task's output pipes into rotated files.
type logPump struct {
	// Stdout and Stderr are the write ends to give the task; the executor
	// closes its copies once the task started.
	Stdout, Stderr *os.File
	done           chan struct{}
}

// startLogPump opens the rotators and the pipes, and copies until every
// writer of the pipes has closed them.
func startLogPump(spec *LogSpec, logf func(string, ...any)) (*logPump, error) {
	outR, err := newRotator(spec.StdoutPath, spec.MaxFiles, spec.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	errR, err := newRotator(spec.StderrPath, spec.MaxFiles, spec.MaxFileBytes)
	if err != nil {
		outR.Close()
		return nil, err
	}
	or, ow, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	er, ew, err := os.Pipe()
	if err != nil {
		or.Close()
		ow.Close()
		return nil, err
	}
	p := &logPump{Stdout: ow, Stderr: ew, done: make(chan struct{})}
	var wg sync.WaitGroup
	copyStream := func(dst *rotator, src *os.File) {
		defer wg.Done()
		defer src.Close()
		defer dst.Close()
		if _, err := io.Copy(dst, src); err != nil {
			logf("copy task output: %v", err)
		}
	}
	wg.Add(2)
	go copyStream(outR, or)
	go copyStream(errR, er)
	go func() { wg.Wait(); close(p.done) }()
	return p, nil
}

// wait waits for the output to be copied, at most d.
func (p *logPump) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}
