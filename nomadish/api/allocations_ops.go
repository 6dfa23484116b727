package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Restart restarts one task of an allocation, or all its running tasks when
// taskName is "".
func (a *Allocations) Restart(alloc *Allocation, taskName string, q *QueryOptions) error {
	body := map[string]interface{}{"TaskName": taskName, "AllTasks": taskName == ""}
	_, err := a.client.put("/v1/client/allocation/"+url.PathEscape(alloc.ID)+"/restart", body, nil, writeOpts(q))
	return err
}

// Signal sends a signal to a task of an allocation.
func (a *Allocations) Signal(alloc *Allocation, q *QueryOptions, task, signal string) error {
	body := map[string]string{"Task": task, "Signal": signal}
	_, err := a.client.put("/v1/client/allocation/"+url.PathEscape(alloc.ID)+"/signal", body, nil, writeOpts(q))
	return err
}

// AllocStopResponse names the evaluation that replaces a stopped allocation.
type AllocStopResponse struct {
	EvalID string
	Index  uint64
}

// Stop stops an allocation; the scheduler replaces it.
func (a *Allocations) Stop(alloc *Allocation, q *QueryOptions) (*AllocStopResponse, error) {
	var resp AllocStopResponse
	_, err := a.client.put("/v1/allocation/"+url.PathEscape(alloc.ID)+"/stop", nil, &resp, writeOpts(q))
	return &resp, err
}

// MemoryStats is a task's memory usage.
type MemoryStats struct {
	RSS, Cache, Swap, Usage, MaxUsage uint64
	KernelUsage, KernelMaxUsage       uint64
	Measured                          []string
}

// CpuStats is a task's cpu usage.
type CpuStats struct {
	SystemMode, UserMode, TotalTicks float64
	ThrottledPeriods, ThrottledTime  uint64
	Percent                          float64
	Measured                         []string
}

// ResourceUsage is memory and cpu usage.
type ResourceUsage struct {
	MemoryStats *MemoryStats
	CpuStats    *CpuStats
}

// TaskResourceUsage is one task's usage.
type TaskResourceUsage struct {
	ResourceUsage *ResourceUsage
	Timestamp     int64
	Pids          map[string]*ResourceUsage
}

// AllocResourceUsage is an allocation's usage, in total and per task.
type AllocResourceUsage struct {
	ResourceUsage *ResourceUsage
	Tasks         map[string]*TaskResourceUsage
	Timestamp     int64
}

// Stats reads the live resource usage of an allocation's tasks.
func (a *Allocations) Stats(alloc *Allocation, q *QueryOptions) (*AllocResourceUsage, error) {
	var resp AllocResourceUsage
	_, err := a.client.query("/v1/client/allocation/"+url.PathEscape(alloc.ID)+"/stats", &resp, q)
	return &resp, err
}

// execFrame is one frame of the exec websocket, either way.
type execFrame struct {
	Stdin *struct {
		Data  []byte `json:"data,omitempty"`
		Close bool   `json:"close,omitempty"`
	} `json:"stdin,omitempty"`
	Stdout *struct {
		Data []byte `json:"data,omitempty"`
	} `json:"stdout,omitempty"`
	Stderr *struct {
		Data []byte `json:"data,omitempty"`
	} `json:"stderr,omitempty"`
	Exited bool `json:"exited,omitempty"`
	Result *struct {
		ExitCode int `json:"exit_code"`
	} `json:"result,omitempty"`
}

// TerminalSize is the size of an exec session's terminal.
type TerminalSize struct {
	Height int
	Width  int
}

// Exec runs command in a task over the exec websocket and copies its
// output to stdout and stderr as it comes; it returns the command's exit
// code. Stdin, when not nil, is sent as input frames; with tty the command
// runs on a terminal whose size follows terminalSizeCh.
func (a *Allocations) Exec(ctx context.Context, alloc *Allocation, task string, tty bool, command []string,
	stdin io.Reader, stdout, stderr io.Writer, terminalSizeCh <-chan TerminalSize, q *QueryOptions) (int, error) {
	cmd, err := json.Marshal(command)
	if err != nil {
		return -1, err
	}
	u := *a.client.baseURL
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/client/allocation/" + url.PathEscape(alloc.ID) + "/exec"
	params := url.Values{"task": {task}, "command": {string(cmd)}, "tty": {fmt.Sprint(tty)}}
	if q != nil && q.Namespace != "" {
		params.Set("namespace", q.Namespace)
	}
	u.RawQuery = params.Encode()
	hdr := http.Header{}
	if a.client.config.SecretID != "" {
		hdr.Set("X-Nomad-Token", a.client.config.SecretID)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, u.String(), hdr)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			return -1, &UnexpectedResponseError{statusCode: resp.StatusCode, body: strings.TrimSpace(string(body))}
		}
		return -1, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var wmu sync.Mutex
	send := func(v any) error {
		wmu.Lock()
		defer wmu.Unlock()
		return conn.WriteJSON(v)
	}
	if stdin != nil {
		go sendStdin(send, stdin)
	} else {
		_ = send(map[string]any{"stdin": map[string]bool{"close": true}})
	}
	if terminalSizeCh != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-terminalSizeCh:
					if !ok {
						return
					}
					if send(map[string]any{"tty_size": map[string]int{"height": sz.Height, "width": sz.Width}}) != nil {
						return
					}
				}
			}
		}()
	}
	for {
		var f execFrame
		if err := conn.ReadJSON(&f); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.CloseNormalClosure {
				return -1, fmt.Errorf("exec: %s", ce.Text)
			}
			return -1, fmt.Errorf("exec stream ended without an exit code: %w", err)
		}
		if f.Stdout != nil && len(f.Stdout.Data) > 0 && stdout != nil {
			_, _ = stdout.Write(f.Stdout.Data)
		}
		if f.Stderr != nil && len(f.Stderr.Data) > 0 && stderr != nil {
			_, _ = stderr.Write(f.Stderr.Data)
		}
		if f.Exited {
			code := 0
			if f.Result != nil {
				code = f.Result.ExitCode
			}
			return code, nil
		}
	}
}

func sendStdin(send func(any) error, r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if send(map[string]any{"stdin": map[string]any{"data": buf[:n]}}) != nil {
				return
			}
		}
		if err != nil {
			_ = send(map[string]any{"stdin": map[string]bool{"close": true}})
			return
		}
	}
}

// AllocFileInfo describes a file of an allocation's directory.
type AllocFileInfo struct {
	Name        string
	IsDir       bool
	Size        int64
	FileMode    string
	ModTime     time.Time
	ContentType string
}

// List lists a directory of an allocation.
func (a *AllocFS) List(alloc *Allocation, path string, q *QueryOptions) ([]*AllocFileInfo, *QueryMeta, error) {
	var out []*AllocFileInfo
	qm, err := a.client.query("/v1/client/fs/ls/"+url.PathEscape(alloc.ID), &out, withParam(q, "path", path))
	return out, qm, err
}

// Stat describes one file of an allocation.
func (a *AllocFS) Stat(alloc *Allocation, path string, q *QueryOptions) (*AllocFileInfo, *QueryMeta, error) {
	var out AllocFileInfo
	qm, err := a.client.query("/v1/client/fs/stat/"+url.PathEscape(alloc.ID), &out, withParam(q, "path", path))
	return &out, qm, err
}

// Cat opens a file of an allocation.
func (a *AllocFS) Cat(alloc *Allocation, path string, q *QueryOptions) (io.ReadCloser, error) {
	return a.client.stream("/v1/client/fs/cat/"+url.PathEscape(alloc.ID), withParam(q, "path", path))
}

// writeOpts carries a query's region and namespace to a write.
func writeOpts(q *QueryOptions) *WriteOptions {
	if q == nil {
		return nil
	}
	return &WriteOptions{Region: q.Region, Namespace: q.Namespace, AuthToken: q.AuthToken}
}

// DrainSpec is how a node is drained.
type DrainSpec struct {
	// Deadline is how long allocations may take to migrate before they are
	// stopped; -1 stops them at once, 0 waits without bound.
	Deadline time.Duration
	// IgnoreSystemJobs leaves system jobs' allocations running.
	IgnoreSystemJobs bool
}

// NodeDrainUpdateResponse answers a drain or eligibility update.
type NodeDrainUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	Index           uint64
}

// UpdateDrain starts a drain with spec, or stops one when spec is nil;
// markEligible makes a node whose drain stops eligible again.
func (n *Nodes) UpdateDrain(nodeID string, spec *DrainSpec, markEligible bool, q *WriteOptions) (*NodeDrainUpdateResponse, error) {
	body := map[string]interface{}{"DrainSpec": spec, "MarkEligible": markEligible}
	var resp NodeDrainUpdateResponse
	_, err := n.client.put("/v1/node/"+url.PathEscape(nodeID)+"/drain", body, &resp, q)
	return &resp, err
}

// ToggleEligibility makes a node eligible or ineligible for new work.
func (n *Nodes) ToggleEligibility(nodeID string, eligible bool, q *WriteOptions) (*NodeDrainUpdateResponse, error) {
	e := "ineligible"
	if eligible {
		e = "eligible"
	}
	var resp NodeDrainUpdateResponse
	_, err := n.client.put("/v1/node/"+url.PathEscape(nodeID)+"/eligibility", map[string]string{"NodeID": nodeID, "Eligibility": e}, &resp, q)
	return &resp, err
}
