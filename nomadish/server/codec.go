package server

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

var msgpackHandle = pool.MsgpackHandle

// encodeMsg prefixes a message with its type for the Raft log.
func encodeMsg(t structs.MessageType, msg interface{}) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(byte(t))
	if err := codec.NewEncoder(&buf, msgpackHandle).Encode(msg); err != nil {
		return nil, fmt.Errorf("encode %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

func decodeMsg(buf []byte, out interface{}) error {
	return codec.NewDecoderBytes(buf, msgpackHandle).Decode(out)
}
