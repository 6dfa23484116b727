package server

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/klauspost/compress/s2"

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
	// z is the scratch space for compressing.
	z []byte
}

var msgEncoders = sync.Pool{New: func() interface{} {
	e := &msgEncoder{}
	e.enc = codec.NewEncoder(&e.buf, msgpackHandle)
	return e
}}

// maxPooledBuffer bounds the scratch buffers the pool keeps.
const maxPooledBuffer = 16 << 20

// compressMinBytes is the encoded size from which an entry is compressed.
// Plans and batches of allocation updates are far larger, and their
// allocations repeat the same field names and values: a plan of a thousand
// allocations shrinks about eight times, so the log store, the followers
// and the leader's cache of recent entries carry an eighth of the bytes.
const compressMinBytes = 4 << 10

// encodeMsg prefixes a message with its type for the Raft log, compressing
// large messages (see CompressedMessageType). The result is a slice of its
// own, of exactly the encoded size, as Raft keeps it.
func encodeMsg(t structs.MessageType, msg interface{}) ([]byte, error) {
	e := msgEncoders.Get().(*msgEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer && cap(e.z) <= maxPooledBuffer {
			msgEncoders.Put(e)
		}
	}()
	e.buf.Reset()
	e.buf.WriteByte(byte(t))
	e.enc.Reset(&e.buf)
	if err := e.enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	plain := e.buf.Bytes()
	if len(plain)-1 < compressMinBytes {
		return bytes.Clone(plain), nil
	}
	body := plain[1:]
	if n := s2.MaxEncodedLen(len(body)); cap(e.z) < n {
		e.z = make([]byte, n)
	}
	z := s2.Encode(e.z[:cap(e.z)], body)
	if len(z) >= len(body)-len(body)/8 {
		return bytes.Clone(plain), nil // not worth the decoding
	}
	out := make([]byte, 2+len(z))
	out[0], out[1] = byte(structs.CompressedMessageType), byte(t)
	copy(out[2:], z)
	return out, nil
}

// msgBuffers holds the buffers compressed entries are decoded into. A
// message's decoder copies what it keeps, so a buffer is free again once
// the message is applied.
var msgBuffers = sync.Pool{New: func() interface{} { return new([]byte) }}

// openMsg returns an entry's type and message, decompressing a compressed
// one; release gives its buffer back once the message is decoded.
func openMsg(data []byte) (t structs.MessageType, msg []byte, release func(), err error) {
	if len(data) == 0 {
		return 0, nil, func() {}, errors.New("empty entry")
	}
	t = structs.MessageType(data[0])
	if t != structs.CompressedMessageType {
		return t, data[1:], func() {}, nil
	}
	if len(data) < 2 {
		return 0, nil, func() {}, errors.New("compressed entry without its message type")
	}
	t = structs.MessageType(data[1])
	n, err := s2.DecodedLen(data[2:])
	if err != nil {
		return 0, nil, func() {}, fmt.Errorf("compressed entry: %w", err)
	}
	bp := msgBuffers.Get().(*[]byte)
	release = func() {
		if cap(*bp) <= maxPooledBuffer {
			msgBuffers.Put(bp)
		}
	}
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	msg, err = s2.Decode((*bp)[:cap(*bp)], data[2:])
	if err != nil {
		release()
		return 0, nil, func() {}, fmt.Errorf("compressed entry: %w", err)
	}
	return t, msg, release, nil
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
