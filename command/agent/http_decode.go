package agent

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nomadish/nomadish/nomadish/server"
)

// maxDecodeProblems bounds how many problems one error lists.
const maxDecodeProblems = 10

// decodeBody decodes a JSON request body strictly: every object key must
// name a field of the target type (matched as encoding/json matches
// them) or a Nomad field that nomadish accepts and ignores (see
// ignoredNomadFields), and every value must fit its field's type.
// Problems are answered with 400 naming each field by its path, for
// example "Job.TaskGroups[0].Count".
func decodeBody(r *http.Request, out interface{}) error {
	if r.Body == nil {
		return server.NewCodedError(400, "missing request body")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return server.NewCodedError(400, "failed to read request body: "+err.Error())
	}
	return decodeJSONStrict(body, out)
}

// decodeJSONStrict is decodeBody on a body already read: its problems are
// answered with 400.
func decodeJSONStrict(body []byte, out interface{}) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return server.NewCodedError(400, "missing request body")
	}
	if err := DecodeJSONStrict(body, out); err != nil {
		return server.NewCodedError(400, "failed to decode request body: "+err.Error())
	}
	return nil
}

// DecodeJSONStrict decodes a JSON document into out as request bodies
// are: an unknown field, a wrong type or trailing data is an error naming
// the field's path. The CLI uses it for JSON job files, so they meet the
// same check as a request would.
func DecodeJSONStrict(body []byte, out interface{}) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree interface{}
	if err := dec.Decode(&tree); err != nil {
		return jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	var problems []string
	checkJSON(tree, reflect.TypeOf(out), "", &problems)
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > maxDecodeProblems {
			problems = append(problems[:maxDecodeProblems], fmt.Sprintf("and %d more", len(problems)-maxDecodeProblems))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	if err := json.Unmarshal(body, out); err != nil {
		// The check above should have caught anything that reaches here;
		// a custom unmarshaller may still refuse its value.
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("field %q: cannot use %s as %s", te.Field, te.Value, te.Type)
		}
		return err
	}
	return nil
}

func jsonSyntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at offset %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("unexpected end of JSON input")
	default:
		return err
	}
}

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// checkJSON compares a decoded JSON value (from a decoder with UseNumber)
// with the Go type it will be decoded into, appending a problem for each
// unknown field and each value of the wrong type.
func checkJSON(v interface{}, t reflect.Type, path string, problems *[]string) {
	if v == nil {
		return // null leaves any field as it is
	}
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType) {
			return
		}
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return // the type decodes itself, for example json.RawMessage
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if _, ok := v.(string); !ok {
			*problems = append(*problems, typeProblem(path, v, t))
		}
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Struct:
		obj, ok := v.(map[string]interface{})
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		info := structInfoOf(t)
		for key, val := range obj {
			f, ok := info.lookup(key)
			if !ok {
				if !info.ignored[strings.ToLower(key)] {
					*problems = append(*problems, fmt.Sprintf("unknown field %q", joinPath(path, key)))
				}
				continue
			}
			if f.quoted {
				continue // ",string" fields are left to encoding/json
			}
			checkJSON(val, f.typ, joinPath(path, f.name), problems)
		}
	case reflect.Map:
		obj, ok := v.(map[string]interface{})
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		for key, val := range obj {
			if !mapKeyFits(key, t.Key()) {
				*problems = append(*problems, fmt.Sprintf("field %q: cannot use key %q as %s", path, key, t.Key()))
				continue
			}
			checkJSON(val, t.Elem(), joinPath(path, key), problems)
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonUnmarshalerType) {
			if _, ok := v.(string); !ok { // bytes are base64 text
				*problems = append(*problems, typeProblem(path, v, t))
			}
			return
		}
		arr, ok := v.([]interface{})
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		for i, val := range arr {
			if t.Kind() == reflect.Array && i >= t.Len() {
				break
			}
			checkJSON(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*problems = append(*problems, typeProblem(path, v, t))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			*problems = append(*problems, typeProblem(path, v, t))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			*problems = append(*problems, fmt.Sprintf("field %q: cannot use number %s as %s", path, n, t))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := v.(json.Number)
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
			*problems = append(*problems, fmt.Sprintf("field %q: cannot use number %s as %s", path, n, t))
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			*problems = append(*problems, typeProblem(path, v, t))
			return
		}
		if _, err := strconv.ParseFloat(string(n), t.Bits()); err != nil {
			*problems = append(*problems, fmt.Sprintf("field %q: cannot use number %s as %s", path, n, t))
		}
	default:
		// Channels, functions and the like never come from JSON.
		*problems = append(*problems, typeProblem(path, v, t))
	}
}

// mapKeyFits reports whether encoding/json can decode key as a map key of
// type k.
func mapKeyFits(key string, k reflect.Type) bool {
	if reflect.PointerTo(k).Implements(textUnmarshalerType) {
		return true
	}
	switch k.Kind() {
	case reflect.String:
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err := strconv.ParseInt(key, 10, k.Bits())
		return err == nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err := strconv.ParseUint(key, 10, k.Bits())
		return err == nil
	}
	return false
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeProblem names the JSON kind found where t was expected.
func typeProblem(path string, v interface{}, t reflect.Type) string {
	var kind string
	switch v.(type) {
	case map[string]interface{}:
		kind = "object"
	case []interface{}:
		kind = "array"
	case string:
		kind = "string"
	case bool:
		kind = "bool"
	case json.Number:
		kind = "number"
	default:
		kind = fmt.Sprintf("%T", v)
	}
	if path == "" {
		return fmt.Sprintf("cannot use %s as %s", kind, t)
	}
	return fmt.Sprintf("field %q: cannot use %s as %s", path, kind, t)
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name   string
	typ    reflect.Type
	quoted bool
}

// structInfo holds a struct type's JSON fields and the Nomad field names
// it accepts and ignores.
type structInfo struct {
	fields  map[string]jsonField
	ignored map[string]bool
}

// lookup finds a field by its exact name, else case-insensitively, as
// encoding/json does.
func (s *structInfo) lookup(key string) (jsonField, bool) {
	if f, ok := s.fields[key]; ok {
		return f, true
	}
	for name, f := range s.fields {
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{fields: map[string]jsonField{}, ignored: map[string]bool{}}
	depth := map[string]int{}
	collectFields(t, 0, info, depth)
	structInfos.Store(t, info)
	return info
}

// collectFields walks t's fields, promoting those of embedded structs;
// a shallower field wins over a deeper one of the same name.
func collectFields(t reflect.Type, level int, info *structInfo, depth map[string]int) {
	for _, name := range ignoredNomadFields[t] {
		info.ignored[strings.ToLower(name)] = true
	}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				collectFields(et, level+1, info, depth)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if d, ok := depth[name]; ok && d <= level {
			continue
		}
		depth[name] = level
		info.fields[name] = jsonField{name: name, typ: ft, quoted: strings.Contains(","+opts+",", ",string,")}
	}
}
