package structs

import (
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
	id, name := GenerateUUIDWith("web.api[12]")
	if !uuidV4.MatchString(id) || name != "web.api[12]" || seen[id] {
		t.Fatalf("GenerateUUIDWith() = %q, %q", id, name)
	}
	if id, name := GenerateUUIDWith(""); !uuidV4.MatchString(id) || name != "" {
		t.Fatalf("GenerateUUIDWith(\"\") = %q, %q", id, name)
	}
}
