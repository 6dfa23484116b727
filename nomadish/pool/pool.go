// Package pool is the wire between agents: the msgpack codec, the
// connection kinds multiplexed on the RPC port, and a pool of multiplexed
// net/rpc clients with per-call timeouts.
package pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// Connection kinds on the RPC port: the first byte a dialer sends says
// which protocol follows.
const (
	RPCNomadish byte = 0x01
	RPCRaft     byte = 0x02
)

// MsgpackHandle encodes Raft log entries, snapshots and RPC messages.
// Maps decode as map[string]interface{} so task configs survive a round trip.
var MsgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = reflect.TypeOf(map[string]interface{}(nil))
	return h
}()

// ServerCodec returns the net/rpc server codec for a connection.
func ServerCodec(conn io.ReadWriteCloser) rpc.ServerCodec {
	return codec.GoRpc.ServerCodec(readBuffered(conn), MsgpackHandle)
}

// readBuffered puts a read buffer in front of conn. The codec buffers its
// writes but, given a connection, decodes straight from it: one read
// system call per byte of every message.
func readBuffered(conn io.ReadWriteCloser) io.ReadWriteCloser {
	return struct {
		io.Reader
		io.Writer
		io.Closer
	}{bufio.NewReaderSize(conn, 32<<10), conn, conn}
}

// ConnPool keeps one multiplexed net/rpc client per remote server.
type ConnPool struct {
	mu      sync.Mutex
	clients map[string]*rpc.Client
}

func (p *ConnPool) get(addr string) (*rpc.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[addr]; ok {
		return c, nil
	}
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if _, err := conn.Write([]byte{RPCNomadish}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := rpc.NewClientWithCodec(codec.GoRpc.ClientCodec(readBuffered(conn), MsgpackHandle))
	if p.clients == nil {
		p.clients = map[string]*rpc.Client{}
	}
	p.clients[addr] = c
	return c, nil
}

func (p *ConnPool) drop(addr string, c *rpc.Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clients[addr] == c {
		delete(p.clients, addr)
	}
	c.Close()
}

// Close closes every connection.
func (p *ConnPool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, c := range p.clients {
		c.Close()
		delete(p.clients, a)
	}
}

// ErrDial wraps errors of connecting: the request was never sent, so it
// is always safe to send it again, elsewhere or later.
var ErrDial = errors.New("rpc dial error")

// ErrTransport wraps errors of the connection rather than of the call:
// the request may not have reached the server, and another may be tried.
var ErrTransport = errors.New("rpc transport error")

// Call makes an RPC to addr and waits at most timeout. Errors the remote
// endpoint returned come back as plain errors with its text; connection
// failures wrap ErrTransport and drop the connection.
func (p *ConnPool) Call(addr, method string, args, reply interface{}, timeout time.Duration) error {
	return p.CallContext(context.Background(), addr, method, args, reply, timeout)
}

// CallContext is Call that also gives up when ctx ends.
func (p *ConnPool) CallContext(ctx context.Context, addr, method string, args, reply interface{}, timeout time.Duration) error {
	c, err := p.get(addr)
	if err != nil {
		return fmt.Errorf("%w: %w: %v", ErrTransport, ErrDial, err)
	}
	call := c.Go(method, args, reply, make(chan *rpc.Call, 1))
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-call.Done:
		if call.Error == nil {
			return nil
		}
		var se rpc.ServerError
		if errors.As(call.Error, &se) {
			return errors.New(string(se))
		}
		p.drop(addr, c)
		return fmt.Errorf("%w: %s to %s: %v", ErrTransport, method, addr, call.Error)
	case <-t.C:
		p.drop(addr, c)
		return fmt.Errorf("%w: %s to %s timed out after %s", ErrTransport, method, addr, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
