package drivertest

import (
	"strings"

	"github.com/nomadish/nomadish/drivers"
)

// WrongType is a task config where the field at Path, and only it, has a
// value of the wrong type; the blocks around it have their required
// fields.
type WrongType struct {
	Path   string
	Config map[string]interface{}
}

// WrongTypes returns a WrongType for every field of the schema, nested
// ones included, so a test can check each is rejected naming its path.
func WrongTypes(fields []*drivers.SchemaField) []WrongType {
	var out []WrongType
	for _, f := range fields {
		out = append(out, WrongType{Path: "config." + f.Name, Config: map[string]interface{}{f.Name: wrongValue(f.Type)}})
		for _, inner := range WrongTypes(f.Fields) {
			block := map[string]interface{}{}
			for _, g := range f.Fields {
				if g.Required {
					block[g.Name] = "/x"
				}
			}
			for k, v := range inner.Config {
				block[k] = v
			}
			rest := strings.TrimPrefix(inner.Path, "config")
			wt := WrongType{Path: "config." + f.Name + rest, Config: map[string]interface{}{f.Name: block}}
			if f.Type == drivers.TypeBlockList {
				wt = WrongType{Path: "config." + f.Name + "[0]" + rest, Config: map[string]interface{}{f.Name: []interface{}{block}}}
			}
			out = append(out, wt)
		}
	}
	return out
}

func wrongValue(typ string) interface{} {
	switch typ {
	case drivers.TypeString:
		return true
	case drivers.TypeBool:
		return "yes"
	default:
		return "x"
	}
}
