package structs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// uuidLen is the length of a UUID in its text form.
const uuidLen = 36

// GenerateUUID returns a random RFC 4122 version 4 UUID.
func GenerateUUID() string {
	var buf [uuidLen]byte
	putUUID(buf[:])
	return string(buf[:])
}

// GenerateUUIDWith returns a random UUID and s, held in one string: an
// allocation's ID and name live as long as each other, and a store of a
// million allocations holds a million fewer objects for the collector to
// mark.
func GenerateUUIDWith(s string) (id, with string) {
	buf := make([]byte, uuidLen+len(s))
	putUUID(buf)
	copy(buf[uuidLen:], s)
	both := string(buf)
	return both[:uuidLen], both[uuidLen:]
}

// putUUID writes a random version 4 UUID into the first uuidLen bytes of
// dst.
func putUUID(dst []byte) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	hex.Encode(dst[0:8], b[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], b[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], b[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], b[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:36], b[10:16])
}

// ShortID returns the first eight characters of an ID, as the CLI shows it.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
