package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/nomadish/nomadish/drivers"
)

// ValidateTaskConfig checks a task's config map against a schema: required
// fields, unknown fields and types. Every problem is reported, each naming
// its field path (config.args[0]).
func ValidateTaskConfig(s *drivers.Schema, cfg map[string]interface{}) error {
	if s == nil {
		return nil
	}
	var errs []error
	validateFields("config", s.Fields, cfg, &errs)
	return errors.Join(errs...)
}

func validateFields(path string, fields []*drivers.SchemaField, cfg map[string]interface{}, errs *[]error) {
	known := make(map[string]*drivers.SchemaField, len(fields))
	for _, f := range fields {
		known[f.Name] = f
		if _, ok := cfg[f.Name]; !ok && f.Required {
			*errs = append(*errs, fmt.Errorf("%s.%s: required field is missing", path, f.Name))
		}
	}
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := known[k]
		p := path + "." + k
		if !ok {
			*errs = append(*errs, fmt.Errorf("%s: unknown field", p))
			continue
		}
		validateValue(p, f, cfg[k], errs)
	}
}

func validateValue(path string, f *drivers.SchemaField, v interface{}, errs *[]error) {
	bad := func(want string) {
		*errs = append(*errs, fmt.Errorf("%s: want %s, got %s", path, want, describe(v)))
	}
	switch f.Type {
	case drivers.TypeAny:
	case drivers.TypeString:
		if _, ok := v.(string); !ok {
			bad("string")
		}
	case drivers.TypeNumber:
		if !isNumber(v) {
			bad("number")
		}
	case drivers.TypeBool:
		if _, ok := v.(bool); !ok {
			bad("bool")
		}
	case drivers.TypeListStr:
		items, ok := asList(v)
		if !ok {
			bad("list of strings")
			return
		}
		for i, it := range items {
			if _, ok := it.(string); !ok {
				*errs = append(*errs, fmt.Errorf("%s[%d]: want string, got %s", path, i, describe(it)))
			}
		}
	case drivers.TypeMapStr:
		validateMap(path, v, "string", func(x interface{}) bool { _, ok := x.(string); return ok }, errs)
	case drivers.TypeMapNumber:
		validateMap(path, v, "number", isNumber, errs)
	case drivers.TypeListMap:
		items, ok := asList(v)
		if !ok {
			bad("list of maps")
			return
		}
		for i, it := range items {
			if _, ok := asMap(it); !ok {
				*errs = append(*errs, fmt.Errorf("%s[%d]: want map, got %s", path, i, describe(it)))
			}
		}
	case drivers.TypeBlock:
		// A block decoded from HCL may arrive as a one-element list.
		if items, ok := asList(v); ok && len(items) == 1 {
			v = items[0]
		}
		m, ok := asMap(v)
		if !ok {
			bad("block")
			return
		}
		validateFields(path, f.Fields, m, errs)
	case drivers.TypeBlockList:
		items, ok := asList(v)
		if !ok {
			if m, isMap := asMap(v); isMap {
				items = []interface{}{m}
			} else {
				bad("list of blocks")
				return
			}
		}
		for i, it := range items {
			m, ok := asMap(it)
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s[%d]: want block, got %s", path, i, describe(it)))
				continue
			}
			validateFields(fmt.Sprintf("%s[%d]", path, i), f.Fields, m, errs)
		}
	default:
		*errs = append(*errs, fmt.Errorf("%s: schema has unknown type %q", path, f.Type))
	}
}

// validateMap checks a map whose values are all of one type. A job file's
// `labels { ... }` arrives as a list of one map, and repeating the block
// makes a longer list, merged as Nomad merges it.
func validateMap(path string, v interface{}, elem string, ok func(interface{}) bool, errs *[]error) {
	maps := []interface{}{v}
	if items, isList := asList(v); isList {
		maps = items
	}
	for _, it := range maps {
		m, isMap := asMap(it)
		if !isMap {
			*errs = append(*errs, fmt.Errorf("%s: want map of %ss, got %s", path, elem, describe(v)))
			return
		}
		for _, k := range sortedKeys(m) {
			if !ok(m[k]) {
				*errs = append(*errs, fmt.Errorf("%s.%s: want %s, got %s", path, k, elem, describe(m[k])))
			}
		}
	}
}

func isNumber(v interface{}) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number, *big.Float, *big.Int:
		return true
	}
	return false
}

func asList(v interface{}) ([]interface{}, bool) {
	switch l := v.(type) {
	case []interface{}:
		return l, true
	case []string:
		out := make([]interface{}, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, true
	case []map[string]interface{}:
		out := make([]interface{}, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func asMap(v interface{}) (map[string]interface{}, bool) {
	switch m := v.(type) {
	case map[string]interface{}:
		return m, true
	case map[string]string:
		out := make(map[string]interface{}, len(m))
		for k, s := range m {
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]interface{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func describe(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case []interface{}, []string:
		return "list"
	case map[string]interface{}, map[string]string:
		return "map"
	}
	if isNumber(v) {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}
