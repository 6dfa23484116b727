package drivers

import (
	"encoding/json"
	"fmt"
)

// StringMap is a task config map of strings that also decodes from the
// list of maps a job file's `labels = { ... }` (or repeated blocks) becomes;
// later maps win.
type StringMap map[string]string

// UnmarshalJSON accepts {"k":"v"} and [{"k":"v"}, ...].
func (m *StringMap) UnmarshalJSON(b []byte) error {
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err == nil {
		*m = plain
		return nil
	}
	var list []map[string]string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("want a map of strings: %w", err)
	}
	out := map[string]string{}
	for _, l := range list {
		for k, v := range l {
			out[k] = v
		}
	}
	*m = out
	return nil
}
