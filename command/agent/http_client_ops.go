package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client"
	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// forwardedHeader marks a request an agent passed on to the node running
// the allocation, so that it is never passed on twice.
const forwardedHeader = "X-Nomadish-Forwarded"

func init() {
	registerRoutes(func(h *HTTPServer) {
		m := h.mux
		m.HandleFunc("/v1/client/allocation/{alloc}/restart", h.clientAlloc(h.allocRestart))
		m.HandleFunc("/v1/client/allocation/{alloc}/signal", h.clientAlloc(h.allocSignal))
		m.HandleFunc("GET /v1/client/allocation/{alloc}/stats", h.clientAlloc(h.allocStats))
		m.HandleFunc("GET /v1/client/allocation/{alloc}/exec", h.forwarding(h.allocExec))
		m.HandleFunc("GET /v1/client/fs/ls/{alloc}", h.clientAlloc(h.fsList))
		m.HandleFunc("GET /v1/client/fs/stat/{alloc}", h.clientAlloc(h.fsStat))
		m.HandleFunc("GET /v1/client/fs/cat/{alloc}", h.forwarding(h.fsCat))
		m.HandleFunc("/v1/allocation/{id}/stop", h.wrap(h.allocStop))
		m.HandleFunc("/v1/node/{id}/drain", h.wrap(h.nodeDrain))
		m.HandleFunc("/v1/node/{id}/eligibility", h.wrap(h.nodeEligibility))
	})
}

// clientAlloc serves a client allocation request here, or on the node that
// runs the allocation.
func (h *HTTPServer) clientAlloc(fn handlerFunc) http.HandlerFunc {
	return h.forwarding(h.wrap(fn))
}

// forwarding passes a request for an allocation this agent does not run to
// the HTTP address of the node that runs it.
func (h *HTTPServer) forwarding(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("alloc")
		if c := h.agent.client; c != nil {
			if _, err := c.AllocDir(id); err == nil {
				next(w, r)
				return
			}
		}
		if r.Header.Get(forwardedHeader) != "" {
			next(w, r)
			return
		}
		target, err := h.nodeHTTPAddr(id)
		if err != nil {
			code, msg := errorStatus(err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(code)
			_, _ = io.WriteString(w, msg)
			return
		}
		if target == "" || target == h.Addr() {
			next(w, r)
			return
		}
		u := &url.URL{Scheme: "http", Host: target}
		if r.TLS != nil {
			u.Scheme = "https"
		}
		p := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(u)
				pr.Out.Header.Set(forwardedHeader, "1")
			},
			ErrorLog: nil,
		}
		p.ServeHTTP(w, r)
	}
}

// nodeHTTPAddr finds the HTTP address of the node running an allocation.
func (h *HTTPServer) nodeHTTPAddr(allocID string) (string, error) {
	var ar structs.SingleAllocResponse
	if err := h.rpc("Alloc.GetAlloc", &structs.AllocSpecificRequest{AllocID: allocID, QueryOptions: structs.QueryOptions{AllowStale: true}}, &ar); err != nil {
		return "", err
	}
	if ar.Alloc == nil {
		return "", server.NewCodedError(404, "Unknown allocation \""+allocID+"\"")
	}
	var nr structs.SingleNodeResponse
	if err := h.rpc("Node.GetNode", &structs.NodeSpecificRequest{NodeID: ar.Alloc.NodeID, QueryOptions: structs.QueryOptions{AllowStale: true}}, &nr); err != nil {
		return "", err
	}
	if nr.Node == nil {
		return "", server.NewCodedError(404, "Unknown node \""+ar.Alloc.NodeID+"\"")
	}
	return nr.Node.HTTPAddr, nil
}

// localClient returns this agent's client, or a 400 when it runs none.
func (h *HTTPServer) localClient() (*client.Client, error) {
	if h.agent.client == nil {
		return nil, server.NewCodedError(400, "this agent runs no client")
	}
	return h.agent.client, nil
}

// clientError maps client errors to HTTP statuses.
func clientError(err error) error {
	switch {
	case errors.Is(err, client.ErrUnknownAlloc), errors.Is(err, client.ErrUnknownTask):
		return server.NewCodedError(404, err.Error())
	case errors.Is(err, client.ErrTaskNotRunning), errors.Is(err, client.ErrBadLogRequest):
		return server.NewCodedError(400, err.Error())
	}
	return err
}

// allocRestartBody is Nomad's restart request.
type allocRestartBody struct {
	TaskName string
	AllTasks bool
}

func (h *HTTPServer) allocRestart(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	c, err := h.localClient()
	if err != nil {
		return nil, err
	}
	var body allocRestartBody
	if r.ContentLength != 0 {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	if body.AllTasks && body.TaskName != "" {
		return nil, server.NewCodedError(400, "task name must not be set when restarting all tasks")
	}
	if err := c.RestartAlloc(r.PathValue("alloc"), body.TaskName); err != nil {
		return nil, clientError(err)
	}
	return struct{}{}, nil
}

// allocSignalBody is Nomad's signal request.
type allocSignalBody struct {
	Task   string
	Signal string
}

func (h *HTTPServer) allocSignal(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	c, err := h.localClient()
	if err != nil {
		return nil, err
	}
	var body allocSignalBody
	if r.ContentLength != 0 {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	if body.Signal == "" {
		body.Signal = "SIGKILL"
	}
	id := r.PathValue("alloc")
	tasks := []string{body.Task}
	if body.Task == "" {
		// As Nomad: without a task, every running task is signalled.
		alloc, err := c.Alloc(id)
		if err != nil {
			return nil, clientError(err)
		}
		tasks = tasks[:0]
		for name, ts := range alloc.TaskStates {
			if ts != nil && ts.State == structs.TaskStateRunning {
				tasks = append(tasks, name)
			}
		}
		sort.Strings(tasks)
		if len(tasks) == 0 {
			return nil, clientError(fmt.Errorf("%w: no task of allocation %s runs", client.ErrTaskNotRunning, id))
		}
	}
	for _, task := range tasks {
		if err := c.SignalAlloc(r.Context(), id, task, body.Signal); err != nil {
			return nil, clientError(err)
		}
	}
	return struct{}{}, nil
}

// Resource usage in the shape of Nomad's AllocResourceUsage.
type (
	memoryStats struct {
		RSS, Cache, Swap, Usage, MaxUsage uint64
		KernelUsage, KernelMaxUsage       uint64
		Measured                          []string
	}
	cpuStats struct {
		SystemMode, UserMode, TotalTicks float64
		ThrottledPeriods, ThrottledTime  uint64
		Percent                          float64
		Measured                         []string
	}
	resourceUsage struct {
		MemoryStats *memoryStats
		CpuStats    *cpuStats
		DeviceStats []interface{}
	}
	taskResourceUsage struct {
		ResourceUsage *resourceUsage
		Timestamp     int64
		Pids          map[string]*resourceUsage
	}
	allocResourceUsage struct {
		ResourceUsage *resourceUsage
		Tasks         map[string]*taskResourceUsage
		Timestamp     int64
	}
)

func (h *HTTPServer) allocStats(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	c, err := h.localClient()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("alloc")
	alloc, err := c.Alloc(id)
	if err != nil {
		return nil, clientError(err)
	}
	only := r.URL.Query().Get("task")
	out := &allocResourceUsage{Tasks: map[string]*taskResourceUsage{}, ResourceUsage: &resourceUsage{MemoryStats: &memoryStats{}, CpuStats: &cpuStats{}}}
	names := make([]string, 0, len(alloc.TaskStates))
	for name := range alloc.TaskStates {
		names = append(names, name)
	}
	sort.Strings(names)
	if only != "" {
		if _, ok := alloc.TaskStates[only]; !ok {
			return nil, server.NewCodedError(404, "unknown task name \""+only+"\"")
		}
		names = []string{only}
	}
	for _, name := range names {
		u, err := c.TaskStats(r.Context(), id, name)
		if err != nil {
			if errors.Is(err, client.ErrTaskNotRunning) {
				continue
			}
			return nil, clientError(err)
		}
		ru := &resourceUsage{
			MemoryStats: &memoryStats{RSS: u.MemoryRSS, Cache: u.MemoryCache, Swap: u.MemorySwap, Usage: u.MemoryUsage, MaxUsage: u.MemoryMaxUsage, Measured: []string{"RSS", "Cache", "Swap", "Usage", "Max Usage"}},
			CpuStats:    &cpuStats{SystemMode: u.CPUSystemMode, UserMode: u.CPUUserMode, TotalTicks: u.CPUTotalTicks, Percent: u.CPUPercent, Measured: []string{"System Mode", "User Mode", "Percent"}},
		}
		out.Tasks[name] = &taskResourceUsage{ResourceUsage: ru, Timestamp: u.Timestamp}
		m, c := out.ResourceUsage.MemoryStats, out.ResourceUsage.CpuStats
		m.RSS += u.MemoryRSS
		m.Cache += u.MemoryCache
		m.Swap += u.MemorySwap
		m.Usage += u.MemoryUsage
		m.MaxUsage += u.MemoryMaxUsage
		c.SystemMode += u.CPUSystemMode
		c.UserMode += u.CPUUserMode
		c.TotalTicks += u.CPUTotalTicks
		c.Percent += u.CPUPercent
		if u.Timestamp > out.Timestamp {
			out.Timestamp = u.Timestamp
		}
	}
	return out, nil
}

// allocFile is Nomad's AllocFileInfo.
type allocFile struct {
	Name        string
	IsDir       bool
	Size        int64
	FileMode    string
	ModTime     time.Time
	ContentType string `json:",omitempty"`
}

func fileInfo(fi fs.FileInfo) allocFile {
	return allocFile{Name: fi.Name(), IsDir: fi.IsDir(), Size: fi.Size(), FileMode: fi.Mode().String(), ModTime: fi.ModTime()}
}

// allocRoot opens an allocation's directory as a root that no path, ".."
// or symlink can leave, and the request's path cleaned relative to it.
func (h *HTTPServer) allocRoot(r *http.Request) (*os.Root, string, error) {
	c, err := h.localClient()
	if err != nil {
		return nil, "", err
	}
	dir, err := c.AllocDir(r.PathValue("alloc"))
	if err != nil {
		return nil, "", clientError(err)
	}
	p := r.URL.Query().Get("path")
	if p == "" {
		p = "/"
	}
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, "", err
	}
	return root, rel, nil
}

// fsError maps file errors to HTTP statuses without naming host paths.
func fsError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return server.NewCodedError(404, "file "+p+" not found")
	case errors.Is(err, fs.ErrPermission):
		return server.NewCodedError(403, "permission denied: "+p)
	}
	if strings.Contains(err.Error(), "escapes from parent") || strings.Contains(err.Error(), "path escapes") {
		return server.NewCodedError(403, "path "+p+" is outside the allocation directory")
	}
	return server.NewCodedError(400, "can not read "+p)
}

func (h *HTTPServer) fsList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	root, rel, err := h.allocRoot(r)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return nil, fsError(rel, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fsError(rel, err)
	}
	out := make([]allocFile, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileInfo(fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (h *HTTPServer) fsStat(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	root, rel, err := h.allocRoot(r)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fi, err := root.Stat(rel)
	if err != nil {
		return nil, fsError(rel, err)
	}
	out := fileInfo(fi)
	if rel == "." {
		out.Name = "/"
	}
	return out, nil
}

func (h *HTTPServer) fsCat(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		code, msg := errorStatus(err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg)
	}
	root, rel, err := h.allocRoot(r)
	if err != nil {
		fail(err)
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		fail(fsError(rel, err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fail(fsError(rel, err))
		return
	}
	if fi.IsDir() {
		fail(server.NewCodedError(400, "file "+rel+" is a directory"))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(200)
	_, _ = io.Copy(w, f)
}

// Exec frames, as Nomad's websocket protocol carries them.
type (
	execData struct {
		Data  []byte `json:"data,omitempty"`
		Close bool   `json:"close,omitempty"`
	}
	execInput struct {
		Stdin   *execData `json:"stdin,omitempty"`
		TTYSize *struct {
			Height int `json:"height"`
			Width  int `json:"width"`
		} `json:"tty_size,omitempty"`
	}
	execResult struct {
		ExitCode int `json:"exit_code"`
	}
	execOutput struct {
		Stdout *execData   `json:"stdout,omitempty"`
		Stderr *execData   `json:"stderr,omitempty"`
		Exited bool        `json:"exited,omitempty"`
		Result *execResult `json:"result,omitempty"`
	}
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// wsWriter sends what is written to it as exec output frames.
type wsWriter struct {
	mu     *sync.Mutex
	conn   *websocket.Conn
	stderr bool
}

func (w *wsWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := execOutput{}
	d := &execData{Data: p}
	if w.stderr {
		f.Stderr = d
	} else {
		f.Stdout = d
	}
	if err := w.conn.WriteJSON(f); err != nil {
		return 0, err
	}
	return len(p), nil
}

// allocExec runs a command in a task over Nomad's exec websocket: input
// frames feed its stdin, tty_size frames resize its terminal (with
// tty=true), and its output is sent as it comes, then its exit code.
func (h *HTTPServer) allocExec(w http.ResponseWriter, r *http.Request) {
	c := h.agent.client
	q := r.URL.Query()
	task := q.Get("task")
	tty := q.Get("tty") == "true"
	var cmd []string
	cmdErr := json.Unmarshal([]byte(q.Get("command")), &cmd)
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	var mu sync.Mutex
	closeWith := func(code int, msg string) {
		mu.Lock()
		defer mu.Unlock()
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg), time.Now().Add(time.Second))
	}
	switch {
	case c == nil:
		closeWith(websocket.CloseInternalServerErr, "this agent runs no client")
		return
	case cmdErr != nil || len(cmd) == 0:
		closeWith(websocket.ClosePolicyViolation, "command is not a JSON array of strings")
		return
	case task == "":
		closeWith(websocket.ClosePolicyViolation, "missing task name")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stdinR, stdinW := io.Pipe()
	defer stdinR.Close()
	resize := make(chan drivers.TerminalSize, 4)
	go func() {
		defer cancel()
		defer stdinW.Close()
		for {
			var in execInput
			if err := conn.ReadJSON(&in); err != nil {
				return
			}
			if in.Stdin != nil && len(in.Stdin.Data) > 0 {
				if _, err := stdinW.Write(in.Stdin.Data); err != nil {
					return
				}
			}
			if in.Stdin != nil && in.Stdin.Close {
				_ = stdinW.Close()
			}
			if in.TTYSize != nil {
				select {
				case resize <- drivers.TerminalSize{Height: in.TTYSize.Height, Width: in.TTYSize.Width}:
				default:
				}
			}
		}
	}()
	res, err := c.ExecTaskStreaming(ctx, r.PathValue("alloc"), task, &drivers.ExecOptions{
		Command: cmd,
		Tty:     tty,
		Stdin:   stdinR,
		Stdout:  &wsWriter{mu: &mu, conn: conn},
		Stderr:  &wsWriter{mu: &mu, conn: conn, stderr: true},
		Resize:  resize,
	})
	if err != nil {
		closeWith(websocket.CloseInternalServerErr, clientError(err).Error())
		return
	}
	code := 0
	if res != nil {
		code = res.ExitCode
		if res.Err != "" && code == 0 {
			code = -1
		}
	}
	mu.Lock()
	_ = conn.WriteJSON(execOutput{Exited: true, Result: &execResult{ExitCode: code}})
	mu.Unlock()
	closeWith(websocket.CloseNormalClosure, "")
}

// allocStopResponse is Nomad's answer to an alloc stop.
type allocStopResponse struct {
	EvalID string
	Index  uint64
}

func (h *HTTPServer) allocStop(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	args := structs.AllocStopRequest{
		AllocID:         r.PathValue("id"),
		NoShutdownDelay: r.URL.Query().Get("no_shutdown_delay") == "true",
		WriteRequest:    writeNamespace(r),
	}
	var reply structs.AllocStopResponse
	if err := h.rpc("Alloc.Stop", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &allocStopResponse{EvalID: reply.EvalID, Index: reply.Index}, nil
}

// nodeDrainBody is Nomad's drain request.
type nodeDrainBody struct {
	NodeID       string
	DrainSpec    *structs.DrainSpec
	MarkEligible bool
	Meta         map[string]string
}

// nodeUpdateResponse is Nomad's answer to drain and eligibility updates.
type nodeUpdateResponse struct {
	EvalIDs         []string
	EvalCreateIndex uint64
	NodeModifyIndex uint64
	Index           uint64
}

func (h *HTTPServer) nodeDrain(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var body nodeDrainBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.NodeID != "" && body.NodeID != r.PathValue("id") {
		return nil, server.NewCodedError(400, "node ID does not match request path")
	}
	args := structs.NodeUpdateDrainRequest{NodeID: r.PathValue("id"), MarkEligible: body.MarkEligible, Meta: body.Meta, WriteRequest: writeNamespace(r)}
	if body.DrainSpec != nil {
		args.DrainStrategy = &structs.DrainStrategy{DrainSpec: *body.DrainSpec}
	}
	var reply structs.NodeDrainUpdateResponse
	if err := h.rpc("Node.UpdateDrain", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &nodeUpdateResponse{EvalIDs: reply.EvalIDs, EvalCreateIndex: reply.EvalCreateIndex, NodeModifyIndex: reply.NodeModifyIndex, Index: reply.Index}, nil
}

// nodeEligibilityBody is Nomad's eligibility request.
type nodeEligibilityBody struct {
	NodeID      string
	Eligibility string
}

func (h *HTTPServer) nodeEligibility(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var body nodeEligibilityBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.NodeID != "" && body.NodeID != id {
		return nil, server.NewCodedError(400, "node ID does not match request path")
	}
	args := structs.NodeUpdateEligibilityRequest{NodeID: id, Eligibility: body.Eligibility, WriteRequest: writeNamespace(r)}
	var reply structs.NodeDrainUpdateResponse
	if err := h.rpc("Node.UpdateEligibility", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &nodeUpdateResponse{EvalIDs: reply.EvalIDs, EvalCreateIndex: reply.EvalCreateIndex, NodeModifyIndex: reply.NodeModifyIndex, Index: reply.Index}, nil
}
