package structs

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Diff types, as Nomad names them.
const (
	DiffTypeNone    = "None"
	DiffTypeAdded   = "Added"
	DiffTypeDeleted = "Deleted"
	DiffTypeEdited  = "Edited"
)

// JobDiff is the difference between two versions of a job, in Nomad's
// shape: the job's own fields, its nested objects, and one diff per group.
type JobDiff struct {
	Type       string
	ID         string
	Fields     []*FieldDiff
	Objects    []*ObjectDiff
	TaskGroups []*TaskGroupDiff
}

// TaskGroupDiff is the difference of one group. Updates, filled by a plan,
// counts what the scheduler would do per kind ("create", "destroy",
// "in-place update", "create/destroy update", "canary", "ignore").
type TaskGroupDiff struct {
	Type    string
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
	Tasks   []*TaskDiff
	Updates map[string]uint64
}

// TaskDiff is the difference of one task. Annotations, filled by a plan,
// say whether the change forces the task to be replaced.
type TaskDiff struct {
	Type        string
	Name        string
	Fields      []*FieldDiff
	Objects     []*ObjectDiff
	Annotations []string
}

// ObjectDiff is the difference of a nested object (a block).
type ObjectDiff struct {
	Type    string
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
}

// FieldDiff is the difference of one value.
type FieldDiff struct {
	Type        string
	Name        string
	Old, New    string
	Annotations []string
}

// diffIgnored are fields the servers set, not the user.
var diffIgnored = map[string]bool{
	"Status": true, "StatusDescription": true, "Stable": true, "Version": true,
	"SubmitTime": true, "CreateIndex": true, "ModifyIndex": true, "JobModifyIndex": true,
	"TaskGroups": true, "Tasks": true, "Payload": true,
}

// Diff compares old with new; either may be nil (job added or deleted).
func (old *Job) Diff(new *Job) *JobDiff {
	d := &JobDiff{Type: DiffTypeNone}
	switch {
	case old == nil && new == nil:
		return d
	case old != nil:
		d.ID = old.ID
	default:
		d.ID = new.ID
	}
	d.Fields, d.Objects = diffFlat(flattenObject(old), flattenObject(new))
	groups := map[string][2]*TaskGroup{}
	var names []string
	add := func(j *Job, side int) {
		if j == nil {
			return
		}
		for _, tg := range j.TaskGroups {
			p, seen := groups[tg.Name]
			if !seen {
				names = append(names, tg.Name)
			}
			p[side] = tg
			groups[tg.Name] = p
		}
	}
	add(old, 0)
	add(new, 1)
	for _, n := range names {
		p := groups[n]
		d.TaskGroups = append(d.TaskGroups, diffGroup(n, p[0], p[1]))
	}
	changed := len(d.Fields)+len(d.Objects) > 0
	for _, g := range d.TaskGroups {
		changed = changed || g.Type != DiffTypeNone
	}
	if changed {
		d.Type = pairType(old != nil, new != nil)
	}
	return d
}

func pairType(hasOld, hasNew bool) string {
	switch {
	case !hasOld:
		return DiffTypeAdded
	case !hasNew:
		return DiffTypeDeleted
	}
	return DiffTypeEdited
}

func diffGroup(name string, old, new *TaskGroup) *TaskGroupDiff {
	d := &TaskGroupDiff{Type: DiffTypeNone, Name: name}
	d.Fields, d.Objects = diffFlat(flattenObject(old), flattenObject(new))
	tasks := map[string][2]*Task{}
	var names []string
	add := func(tg *TaskGroup, side int) {
		if tg == nil {
			return
		}
		for _, t := range tg.Tasks {
			p, seen := tasks[t.Name]
			if !seen {
				names = append(names, t.Name)
			}
			p[side] = t
			tasks[t.Name] = p
		}
	}
	add(old, 0)
	add(new, 1)
	changed := len(d.Fields)+len(d.Objects) > 0
	for _, n := range names {
		p := tasks[n]
		td := &TaskDiff{Type: DiffTypeNone, Name: n}
		td.Fields, td.Objects = diffFlat(flattenObject(p[0]), flattenObject(p[1]))
		if len(td.Fields)+len(td.Objects) > 0 || p[0] == nil || p[1] == nil {
			td.Type = pairType(p[0] != nil, p[1] != nil)
			changed = true
		}
		d.Tasks = append(d.Tasks, td)
	}
	if changed || old == nil || new == nil {
		d.Type = pairType(old != nil, new != nil)
	}
	return d
}

// flattenObject turns a struct into path → printed value, skipping zero
// values and the fields in diffIgnored. Paths use "." between objects and
// "[key]" for map keys and list positions.
func flattenObject(obj interface{}) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(obj)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return out
	}
	flattenValue(out, "", v, true)
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

func flattenValue(out map[string]string, path string, v reflect.Value, top bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			if !t.IsZero() {
				out[path] = t.String()
			}
			return
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || (top && diffIgnored[f.Name]) {
				continue
			}
			p := f.Name
			if path != "" {
				p = path + "." + f.Name
			}
			flattenValue(out, p, v.Field(i), false)
		}
	case reflect.Map:
		keys := v.MapKeys()
		free := v.Type().Elem().Kind() == reflect.Interface
		for _, k := range keys {
			p := fmt.Sprintf("%s[%v]", path, k.Interface())
			if free {
				p = fmt.Sprintf("%s.%v", path, k.Interface())
			}
			flattenValue(out, p, v.MapIndex(k), false)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Len() > 0 {
				out[path] = fmt.Sprintf("%d bytes", v.Len())
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			flattenValue(out, fmt.Sprintf("%s[%d]", path, i), v.Index(i), false)
		}
	default:
		if v.IsZero() {
			return
		}
		if v.Type() == durationType {
			out[path] = time.Duration(v.Int()).String()
			return
		}
		out[path] = fmt.Sprint(v.Interface())
	}
}

// diffFlat compares two flattened objects: paths with no "." become fields,
// the others objects named by their first element, recursively.
func diffFlat(old, new map[string]string) ([]*FieldDiff, []*ObjectDiff) {
	var fields []*FieldDiff
	subOld, subNew := map[string]map[string]string{}, map[string]map[string]string{}
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	for k := range keys {
		if head, rest, ok := splitPath(k); ok {
			if v, in := old[k]; in {
				if subOld[head] == nil {
					subOld[head] = map[string]string{}
				}
				subOld[head][rest] = v
			}
			if v, in := new[k]; in {
				if subNew[head] == nil {
					subNew[head] = map[string]string{}
				}
				subNew[head][rest] = v
			}
			continue
		}
		o, hasO := old[k]
		n, hasN := new[k]
		if hasO && hasN && o == n {
			continue
		}
		fields = append(fields, &FieldDiff{Type: pairType(hasO, hasN), Name: k, Old: o, New: n})
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	heads := map[string]bool{}
	for h := range subOld {
		heads[h] = true
	}
	for h := range subNew {
		heads[h] = true
	}
	var objects []*ObjectDiff
	for h := range heads {
		f, o := diffFlat(subOld[h], subNew[h])
		if len(f)+len(o) == 0 {
			continue
		}
		objects = append(objects, &ObjectDiff{Type: pairType(len(subOld[h]) > 0, len(subNew[h]) > 0), Name: h, Fields: f, Objects: o})
	}
	sort.Slice(objects, func(i, j int) bool { return objects[i].Name < objects[j].Name })
	return fields, objects
}

// splitPath splits "Update.MaxParallel" into ("Update", "MaxParallel").
// A "." inside a map key in brackets does not split.
func splitPath(p string) (head, rest string, ok bool) {
	depth := 0
	for i, c := range p {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				return p[:i], p[i+1:], true
			}
		}
	}
	return "", "", false
}

// HasChanges reports whether the diff changes anything.
func (d *JobDiff) HasChanges() bool { return d != nil && d.Type != DiffTypeNone }

// String is a short summary for logs.
func (d *JobDiff) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s job %q", d.Type, d.ID)
	for _, g := range d.TaskGroups {
		if g.Type != DiffTypeNone {
			fmt.Fprintf(&b, "; %s group %q", g.Type, g.Name)
		}
	}
	return b.String()
}
