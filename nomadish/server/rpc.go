package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"github.com/nomadish/nomadish/nomadish/pool"
)

// ErrNoLeader is returned when a request needs the leader and none is known.
var ErrNoLeader = errors.New("no cluster leader")

// rpcTimeout bounds every agent-to-agent call except blocking queries.
const rpcTimeout = 30 * time.Second

// listen accepts connections on the RPC port and hands each to net/rpc or Raft.
func (s *Server) listen() {
	defer s.wg.Done()
	for {
		conn, err := s.rpcListener.Accept()
		if err != nil {
			select {
			case <-s.shutdownCh:
				return
			default:
			}
			s.logger.Error("accept rpc connection", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(conn)
		}()
	}
}

func (s *Server) handleConn(conn net.Conn) {
	var kind [1]byte
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, kind[:]); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	switch kind[0] {
	case pool.RPCNomadish:
		s.trackConn(conn, true)
		s.rpcServer.ServeCodec(pool.ServerCodec(conn))
		s.trackConn(conn, false)
	case pool.RPCRaft:
		select {
		case s.raftLayer.connCh <- conn:
		case <-s.shutdownCh:
			conn.Close()
		}
	default:
		s.logger.Warn("unknown connection kind", "kind", kind[0], "remote", conn.RemoteAddr())
		conn.Close()
	}
}

func (s *Server) trackConn(c net.Conn, add bool) {
	s.connsMu.Lock()
	defer s.connsMu.Unlock()
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
		c.Close()
	}
}

// raftLayer is the raft.StreamLayer that shares the RPC port.
type raftLayer struct {
	addr   net.Addr
	connCh chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newRaftLayer(addr net.Addr) *raftLayer {
	return &raftLayer{addr: addr, connCh: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.connCh:
		return c, nil
	case <-l.closed:
		return nil, errors.New("raft layer closed")
	}
}

func (l *raftLayer) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *raftLayer) Addr() net.Addr { return l.addr }

func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write([]byte{pool.RPCRaft}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// inprocRPC dispatches "Service.Method" calls to endpoint methods directly,
// for the client and HTTP API running in the same agent as the server.
type inprocRPC struct {
	methods map[string]reflect.Value
}

func newInprocRPC(endpoints map[string]interface{}) *inprocRPC {
	r := &inprocRPC{methods: map[string]reflect.Value{}}
	for name, ep := range endpoints {
		v := reflect.ValueOf(ep)
		t := v.Type()
		for i := 0; i < t.NumMethod(); i++ {
			m := t.Method(i)
			if m.Type.NumIn() != 3 || m.Type.NumOut() != 1 {
				continue
			}
			r.methods[name+"."+m.Name] = v.Method(i)
		}
	}
	return r
}

func (r *inprocRPC) call(method string, args, reply interface{}) error {
	m, ok := r.methods[method]
	if !ok {
		return fmt.Errorf("rpc: unknown method %q", method)
	}
	in := reflect.ValueOf(args)
	if want := m.Type().In(0); in.Type() != want {
		// The endpoint decodes the request as another type than the
		// caller sends (Node.UpdateAlloc takes an AllocUpdateRequest as
		// reports): convert it as the wire would.
		conv, err := convertArgs(args, want)
		if err != nil {
			return fmt.Errorf("rpc: %s: %w", method, err)
		}
		in = conv
	}
	out := m.Call([]reflect.Value{in, reflect.ValueOf(reply)})
	if err, _ := out[0].Interface().(error); err != nil {
		return err
	}
	return nil
}

// convertArgs encodes args and decodes the bytes as a new value of the
// pointer type want, as a remote server would read them.
func convertArgs(args interface{}, want reflect.Type) (reflect.Value, error) {
	if want.Kind() != reflect.Pointer {
		return reflect.Value{}, fmt.Errorf("cannot pass %T as %s", args, want)
	}
	var buf []byte
	if err := codec.NewEncoderBytes(&buf, pool.MsgpackHandle).Encode(args); err != nil {
		return reflect.Value{}, fmt.Errorf("encode %T: %w", args, err)
	}
	out := reflect.New(want.Elem())
	if err := codec.NewDecoderBytes(buf, pool.MsgpackHandle).Decode(out.Interface()); err != nil {
		return reflect.Value{}, fmt.Errorf("decode %T as %s: %w", args, want, err)
	}
	return out, nil
}
