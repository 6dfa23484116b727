package structs

import (
	"fmt"
	"regexp"
	"testing"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestGenerateUUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := GenerateUUID()
		if !uuidV4.MatchString(id) {
			t.Fatalf("GenerateUUID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("GenerateUUID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestGenerateUUIDLed(t *testing.T) {
	seen := map[string]bool{}
	for _, lead := range []byte{0x00, 0x7f, 0xff} {
		for i := 0; i < 300; i++ {
			id, name := GenerateUUIDLed(lead, "web.api[1]")
			if !uuidV4.MatchString(id) || name != "web.api[1]" || seen[id] {
				t.Fatalf("GenerateUUIDLed(%#x) = %q, %q: want a fresh version 4 UUID and the name", lead, id, name)
			}
			seen[id] = true
			if want := fmt.Sprintf("%02x", lead); id[:2] != want {
				t.Fatalf("GenerateUUIDLed(%#x) = %q, want it to start with %s", lead, id, want)
			}
		}
	}
	if id, name := GenerateUUIDLed(1, ""); !uuidV4.MatchString(id) || name != "" {
		t.Fatalf("GenerateUUIDLed(1, \"\") = %q, %q", id, name)
	}
}
