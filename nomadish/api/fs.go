package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Log types a task writes.
const (
	LogTypeStdout = "stdout"
	LogTypeStderr = "stderr"
)

// Origins of a log offset.
const (
	OriginStart = "start"
	OriginEnd   = "end"
)

// nodeDialTimeout bounds the check that a node's own address is reachable.
const nodeDialTimeout = time.Second

// AllocFS reads the files of allocations, served by the client agent that
// runs them.
type AllocFS struct {
	client *Client
}

// AllocFS returns the allocation file system endpoints.
func (c *Client) AllocFS() *AllocFS { return &AllocFS{client: c} }

// StreamFrame is one chunk of a streamed file.
type StreamFrame struct {
	// Offset is the number of bytes of the stream before Data.
	Offset int64
	// Data is the chunk's content.
	Data []byte
	// File is the file the chunk came from, when the agent says.
	File string
	// FileEvent names a change of the file, such as "file deleted".
	FileEvent string
}

// IsHeartbeat reports whether the frame carries nothing.
func (s *StreamFrame) IsHeartbeat() bool {
	return len(s.Data) == 0 && s.FileEvent == "" && s.File == ""
}

// LogsOptions select what LogsReader streams.
type LogsOptions struct {
	// Task whose logs to read.
	Task string
	// Type is LogTypeStdout or LogTypeStderr.
	Type string
	// Follow keeps the stream open for new output.
	Follow bool
	// Origin is OriginStart or OriginEnd; Offset counts bytes from it.
	Origin string
	Offset int64
}

// LogsReader opens a task's log as a plain byte stream. The request goes to
// the node running the allocation when its address is known and reachable,
// and to the configured agent otherwise. Cancelling q's context, or closing
// the reader, ends the stream.
func (a *AllocFS) LogsReader(alloc *Allocation, opts LogsOptions, q *QueryOptions) (io.ReadCloser, error) {
	if alloc == nil || alloc.ID == "" {
		return nil, errors.New("allocation has no ID")
	}
	if opts.Type == "" {
		opts.Type = LogTypeStdout
	}
	if opts.Origin == "" {
		opts.Origin = OriginStart
	}
	params := map[string]string{
		"task":   opts.Task,
		"type":   opts.Type,
		"plain":  "true",
		"origin": opts.Origin,
		"offset": strconv.FormatInt(opts.Offset, 10),
	}
	if opts.Follow {
		params["follow"] = "true"
	}
	qo := &QueryOptions{}
	if q != nil {
		*qo = *q
	}
	for k, v := range params {
		qo = withParam(qo, k, v)
	}
	path := "/v1/client/fs/logs/" + url.PathEscape(alloc.ID)

	if nc := a.nodeClient(alloc, qo.Context()); nc != nil {
		body, err := nc.stream(path, qo)
		if err == nil {
			return body, nil
		}
		var ue *UnexpectedResponseError
		if errors.As(err, &ue) || errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	return a.client.stream(path, qo)
}

// Logs streams a task's log as frames, in the shape of Nomad's api. The
// frames channel is closed when the stream ends; an error, if any, is sent
// on the error channel first. Closing cancel ends the stream.
func (a *AllocFS) Logs(alloc *Allocation, follow bool, task, logType, origin string,
	offset int64, cancel <-chan struct{}, q *QueryOptions) (<-chan *StreamFrame, <-chan error) {

	frames := make(chan *StreamFrame, 10)
	errCh := make(chan error, 1)
	ctx, stop := context.WithCancel(q.Context())
	go func() {
		defer stop()
		select {
		case <-cancel:
		case <-ctx.Done():
		}
	}()
	go func() {
		defer close(frames)
		defer stop()
		rc, err := a.LogsReader(alloc, LogsOptions{
			Task: task, Type: logType, Follow: follow, Origin: origin, Offset: offset,
		}, q.WithContext(ctx))
		if err != nil {
			errCh <- err
			return
		}
		defer rc.Close()
		var pos int64
		if origin != OriginEnd {
			pos = offset
		}
		buf := make([]byte, 32<<10)
		for {
			n, err := rc.Read(buf)
			if n > 0 {
				f := &StreamFrame{Offset: pos, Data: append([]byte(nil), buf[:n]...)}
				pos += int64(n)
				select {
				case frames <- f:
				case <-ctx.Done():
					return
				}
			}
			if err == io.EOF || ctx.Err() != nil {
				return
			}
			if err != nil {
				errCh <- err
				return
			}
		}
	}()
	return frames, errCh
}

// nodeClient returns a client for the node running alloc, or nil when the
// node or its address is unknown or is the configured agent.
func (a *AllocFS) nodeClient(alloc *Allocation, ctx context.Context) *Client {
	if alloc.NodeID == "" {
		return nil
	}
	node, _, err := a.client.Nodes().Info(alloc.NodeID, (&QueryOptions{}).WithContext(ctx))
	if err != nil || node.HTTPAddr == "" {
		return nil
	}
	addr := node.HTTPAddr
	if host, port, err := net.SplitHostPort(addr); err == nil && host != "" {
		addr = a.client.baseURL.Scheme + "://" + net.JoinHostPort(host, port)
	}
	nc, err := a.client.withAddress(addr)
	if err != nil || nc.baseURL.Host == a.client.baseURL.Host {
		return nil
	}
	// A node behind NAT or a firewall is served through the agent instead;
	// find out quickly rather than waiting for the full dial timeout.
	d := net.Dialer{Timeout: nodeDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", nc.baseURL.Host)
	if err != nil {
		return nil
	}
	conn.Close()
	return nc
}

// stream GETs path and returns the open body.
func (c *Client) stream(path string, q *QueryOptions) (io.ReadCloser, error) {
	r := c.newRequest(http.MethodGet, path)
	r.setQueryOptions(q, 0)
	resp, _, err := c.do(r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
