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
	putUUID(buf[:], -1)
	return string(buf[:])
}

// GenerateUUIDLed returns a UUID whose first byte (its first two hex
// digits) is lead, its other 114 bits random, and s, held in one string:
// an allocation's ID and name live as long as each other, and a store of
// a million allocations holds a million fewer objects for the collector
// to mark.
//
// The scheduler gives the allocations of one pass the same lead: the store
// keeps allocations in a B+tree ordered by ID and a write copies the leaf
// it lands in, so a thousand placements with random IDs copy a thousand
// leaves, while a thousand sharing a lead land in 1/256 of the tree and
// copy about a hundred (C1M: 1.4 GB of leaf copies became 0.15 GB), as do
// the client reports that soon follow them. The
// IDs stay version 4 UUIDs, and their short form (ShortID, eight hex
// digits) keeps 24 random bits within a pass and 32 across passes: among
// a million allocations placed a thousand a pass, about a quarter more
// pairs of them share a short ID than with fully random IDs.
func GenerateUUIDLed(lead byte, s string) (id, with string) {
	buf := make([]byte, uuidLen+len(s))
	putUUID(buf, int(lead))
	copy(buf[uuidLen:], s)
	both := string(buf)
	return both[:uuidLen], both[uuidLen:]
}

// putUUID writes a random version 4 UUID into the first uuidLen bytes of
// dst; lead, unless negative, is its first byte.
func putUUID(dst []byte, lead int) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	if lead >= 0 {
		b[0] = byte(lead)
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
