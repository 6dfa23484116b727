package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// diffMark is the prefix of a line of a diff, as Nomad prints it.
func diffMark(t string) string {
	switch t {
	case structs.DiffTypeAdded:
		return "+"
	case structs.DiffTypeDeleted:
		return "-"
	case structs.DiffTypeEdited:
		return "+/-"
	}
	return ""
}

// formatJobDiff prints a job diff; with verbose, unchanged groups and
// tasks are listed too.
func formatJobDiff(d *api.JobDiff, verbose bool) string {
	var b strings.Builder
	if d == nil {
		return ""
	}
	fmt.Fprintf(&b, "%s Job: %q\n", diffMark(d.Type), d.ID)
	writeFieldsObjects(&b, 0, d.Fields, d.Objects)
	for _, g := range d.TaskGroups {
		if g.Type == structs.DiffTypeNone && !verbose && len(g.Updates) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s Task Group: %q%s\n", diffMark(g.Type), g.Name, formatUpdates(g.Updates))
		writeFieldsObjects(&b, 1, g.Fields, g.Objects)
		for _, t := range g.Tasks {
			if t.Type == structs.DiffTypeNone && !verbose {
				continue
			}
			ann := ""
			if len(t.Annotations) > 0 {
				ann = " (" + strings.Join(t.Annotations, ", ") + ")"
			}
			fmt.Fprintf(&b, "  %s Task: %q%s\n", diffMark(t.Type), t.Name, ann)
			writeFieldsObjects(&b, 2, t.Fields, t.Objects)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func formatUpdates(u map[string]uint64) string {
	if len(u) == 0 {
		return ""
	}
	keys := make([]string, 0, len(u))
	for k := range u {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", u[k], k))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func writeFieldsObjects(b *strings.Builder, depth int, fields []*structs.FieldDiff, objects []*structs.ObjectDiff) {
	pad := strings.Repeat("  ", depth)
	for _, f := range fields {
		switch f.Type {
		case structs.DiffTypeAdded:
			fmt.Fprintf(b, "%s+ %s: %q\n", pad, f.Name, f.New)
		case structs.DiffTypeDeleted:
			fmt.Fprintf(b, "%s- %s: %q\n", pad, f.Name, f.Old)
		default:
			fmt.Fprintf(b, "%s+/- %s: %q => %q\n", pad, f.Name, f.Old, f.New)
		}
	}
	for _, o := range objects {
		fmt.Fprintf(b, "%s%s %s {\n", pad, diffMark(o.Type), o.Name)
		writeFieldsObjects(b, depth+1, o.Fields, o.Objects)
		fmt.Fprintf(b, "%s}\n", pad)
	}
}
