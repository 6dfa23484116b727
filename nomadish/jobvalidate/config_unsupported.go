package jobvalidate

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// configUnsupported lists the options of a task's config {} that its
// built-in driver accepts but does not act on (SchemaField.Unsupported),
// each as `config.<path> (<why>)`. Options left at their zero value are
// not listed.
func configUnsupported(t *structs.Task) []string {
	schema, ok := catalog.TaskConfigSchema(t.Driver)
	if !ok || schema == nil {
		return nil
	}
	var out []string
	walkUnsupported("config", schema.Fields, t.Config, &out)
	return out
}

func walkUnsupported(path string, fields []*drivers.SchemaField, cfg map[string]interface{}, out *[]string) {
	byName := make(map[string]*drivers.SchemaField, len(fields))
	for _, f := range fields {
		byName[f.Name] = f
	}
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, v := byName[k], cfg[k]
		if f == nil || isZero(v) {
			continue
		}
		p := path + "." + k
		if f.Unsupported != "" {
			*out = append(*out, fmt.Sprintf("%s (%s)", p, f.Unsupported))
			continue
		}
		if len(f.Fields) == 0 {
			continue
		}
		for i, block := range blocks(v) {
			bp := p
			if f.Type == drivers.TypeBlockList {
				bp = fmt.Sprintf("%s[%d]", p, i)
			}
			walkUnsupported(bp, f.Fields, block, out)
		}
	}
}

// blocks returns the nested blocks of a block or block list value.
func blocks(v interface{}) []map[string]interface{} {
	switch b := v.(type) {
	case map[string]interface{}:
		return []map[string]interface{}{b}
	case []map[string]interface{}:
		return b
	case []interface{}:
		var out []map[string]interface{}
		for _, it := range b {
			if m, ok := it.(map[string]interface{}); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// isZero reports an unset-looking value: null, false, "", 0, or empty.
func isZero(v interface{}) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return rv.IsZero()
}
