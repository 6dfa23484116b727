package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/nomadish/nomadish/nomadish/server"
)

// logPollInterval is how often a followed log is checked for new data.
const logPollInterval = 100 * time.Millisecond

// taskNameRe bounds what a task name in a log request may be, so that it
// can never name a path outside the alloc's log dir.
var taskNameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// logFrame is one frame of Nomad's framed log stream.
type logFrame struct {
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	Offset    int64  `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// clientLogs serves GET /v1/client/fs/logs/:alloc: a task's stdout or
// stderr across its rotated files, from the start or the end, following
// new output when asked; plain text with plain=true, else Nomad's JSON frames.
func (h *HTTPServer) clientLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg)
	}
	if h.agent.client == nil {
		fail(400, "this agent runs no client")
		return
	}
	task := q.Get("task")
	if !taskNameRe.MatchString(task) {
		fail(400, "must provide a valid task name")
		return
	}
	typ := q.Get("type")
	if typ != "stdout" && typ != "stderr" {
		fail(400, "type must be stdout or stderr")
		return
	}
	origin := q.Get("origin")
	if origin == "" {
		origin = "start"
	}
	if origin != "start" && origin != "end" {
		fail(400, "origin must be start or end")
		return
	}
	var offset int64
	if s := q.Get("offset"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			fail(400, "offset must be a non-negative integer")
			return
		}
		offset = n
	}
	follow := q.Get("follow") == "true"
	plain := q.Get("plain") == "true"

	dir, err := h.agent.client.AllocDir(r.PathValue("alloc"))
	if err != nil {
		code, msg := server.ErrorCode(err)
		if code == 500 {
			code = 404
		}
		fail(code, msg)
		return
	}
	lr := &logReader{dir: filepath.Join(dir, "alloc", "logs"), prefix: task + "." + typ + "."}
	if origin == "end" {
		total := lr.total()
		offset = total - offset
		if offset < 0 {
			offset = 0
		}
	}
	if plain {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(200)
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	buf := make([]byte, 64<<10)
	for {
		n, file, fileOff, err := lr.readAt(offset, buf)
		if err != nil && err != io.EOF {
			return
		}
		if n > 0 {
			offset += int64(n)
			if plain {
				if _, err := w.Write(buf[:n]); err != nil {
					return
				}
			} else if err := enc.Encode(logFrame{Data: buf[:n], File: file, Offset: fileOff + int64(n)}); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
			continue
		}
		if !follow {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(logPollInterval):
		}
	}
}

// logReader reads a task's rotated log files as one stream.
type logReader struct {
	dir    string
	prefix string
}

type logFile struct {
	name string
	idx  int
	size int64
}

func (l *logReader) files() []logFile {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil
	}
	var out []logFile
	for _, e := range entries {
		name := e.Name()
		if len(name) <= len(l.prefix) || name[:len(l.prefix)] != l.prefix {
			continue
		}
		idx, err := strconv.Atoi(name[len(l.prefix):])
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, logFile{name: name, idx: idx, size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].idx < out[j].idx })
	return out
}

func (l *logReader) total() int64 {
	var t int64
	for _, f := range l.files() {
		t += f.size
	}
	return t
}

// readAt reads at a stream offset; it returns io.EOF when no data is there yet.
func (l *logReader) readAt(off int64, buf []byte) (int, string, int64, error) {
	for _, f := range l.files() {
		if off >= f.size {
			off -= f.size
			continue
		}
		fh, err := os.Open(filepath.Join(l.dir, f.name))
		if err != nil {
			return 0, "", 0, fmt.Errorf("open log: %w", err)
		}
		defer fh.Close()
		n, err := fh.ReadAt(buf, off)
		if n > 0 {
			return n, f.name, off, nil
		}
		return 0, f.name, off, err
	}
	return 0, "", 0, io.EOF
}
