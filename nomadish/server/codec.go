package server

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

var msgpackHandle = pool.MsgpackHandle

// msgEncoder is an encoder with its scratch buffer, kept in a pool: a
// message encoded into a fresh buffer grows it by doubling, which for a
// plan of a thousand allocations allocates twice its size in garbage.
type msgEncoder struct {
	buf bytes.Buffer
	enc *codec.Encoder
}

var msgEncoders = sync.Pool{New: func() interface{} {
	e := &msgEncoder{}
	e.enc = codec.NewEncoder(&e.buf, msgpackHandle)
	return e
}}

// maxPooledBuffer bounds the scratch buffers the pool keeps.
const maxPooledBuffer = 16 << 20

// encodeMsg prefixes a message with its type for the Raft log. The result
// is a slice of its own, of exactly the encoded size, as Raft keeps it.
func encodeMsg(t structs.MessageType, msg interface{}) ([]byte, error) {
	e := msgEncoders.Get().(*msgEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer {
			msgEncoders.Put(e)
		}
	}()
	e.buf.Reset()
	e.buf.WriteByte(byte(t))
	e.enc.Reset(&e.buf)
	if err := e.enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	return bytes.Clone(e.buf.Bytes()), nil
}

var msgDecoders = sync.Pool{New: func() interface{} {
	return codec.NewDecoderBytes(nil, msgpackHandle)
}}

func decodeMsg(buf []byte, out interface{}) error {
	d := msgDecoders.Get().(*codec.Decoder)
	d.ResetBytes(buf)
	err := d.Decode(out)
	d.ResetBytes(nil)
	msgDecoders.Put(d)
	return err
}
