package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// lookupAlloc finds the one allocation whose ID is id or starts with it and
// reads it. On failure it returns a message for the user.
func lookupAlloc(client *api.Client, id string, length int, now time.Time) (*api.Allocation, string) {
	id = strings.TrimSpace(id)
	if len(id) == 1 {
		return nil, "Identifier must contain at least two characters."
	}
	stubs, _, err := client.Allocations().PrefixList(id)
	if err != nil {
		return nil, fmt.Sprintf("Error querying allocation: %v", err)
	}
	if len(stubs) == 0 {
		return nil, fmt.Sprintf("No allocation(s) with prefix or id %q found", id)
	}
	match := ""
	for _, s := range stubs {
		if s.ID == id {
			match = s.ID
		}
	}
	if match == "" && len(stubs) > 1 {
		sortAllocStubs(stubs)
		return nil, fmt.Sprintf("Prefix matched multiple allocations\n\n%s",
			formatAllocListStubs(stubs, length == fullID, length, now))
	}
	if match == "" {
		match = stubs[0].ID
	}
	alloc, _, err := client.Allocations().Info(match, nil)
	if err != nil {
		return nil, fmt.Sprintf("Error querying allocation: %s", err)
	}
	return alloc, ""
}
