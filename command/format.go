package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// timeFmt is how absolute times are printed.
const timeFmt = "2006-01-02T15:04:05Z07:00"

// row builds one row of a table or key/value block.
func row(cols ...string) []string { return cols }

// formatList aligns rows into columns separated by two spaces. The first row
// is the header.
func formatList(rows [][]string) string {
	return columnize(rows, "  ")
}

// formatKV aligns "key = value" lines.
func formatKV(rows [][]string) string {
	return columnize(rows, " = ")
}

func columnize(rows [][]string, glue string) string {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(c)); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	for ri, r := range rows {
		if ri > 0 {
			b.WriteByte('\n')
		}
		var line strings.Builder
		for i, c := range r {
			if i > 0 {
				line.WriteString(glue)
			}
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
	}
	return b.String()
}

// formatTime prints t, or "" for the zero or Unix-epoch time.
func formatTime(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return ""
	}
	return t.Format(timeFmt)
}

// formatUnixNanoTime prints a Unix-nanosecond time.
func formatUnixNanoTime(nano int64) string {
	if nano <= 0 {
		return ""
	}
	return formatTime(time.Unix(0, nano))
}

// prettyTimeDiff says how long ago then was, seen from now, in at most two
// units: "45s ago", "5m12s ago", "3h4m ago", "2d1h ago".
func prettyTimeDiff(then, now time.Time) string {
	if then.IsZero() || then.Unix() <= 0 {
		return ""
	}
	d := now.Sub(then).Round(time.Second)
	suffix := " ago"
	if d < 0 {
		d = -d
		suffix = " from now"
	}
	units := []struct {
		name string
		size time.Duration
	}{
		{"d", 24 * time.Hour},
		{"h", time.Hour},
		{"m", time.Minute},
		{"s", time.Second},
	}
	var parts []string
	for _, u := range units {
		if len(parts) == 2 {
			break
		}
		n := d / u.size
		d -= n * u.size
		if n == 0 && len(parts) == 0 {
			continue
		}
		if n == 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
	}
	if len(parts) == 0 {
		return "0s" + suffix
	}
	return strings.Join(parts, "") + suffix
}

// limit truncates an ID to length characters.
func limit(s string, length int) string {
	if len(s) > length {
		return s[:length]
	}
	return s
}

// orNone returns s, or "<none>" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// formatBytes prints a size in binary units: "0 B", "300 MiB", "7.6 GiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	suffixes := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n)
	i := -1
	for v >= unit && i < len(suffixes)-1 {
		v /= unit
		i++
	}
	if v < 10 && v != float64(int64(v)) {
		return fmt.Sprintf("%.1f %s", v, suffixes[i])
	}
	return fmt.Sprintf("%.0f %s", v, suffixes[i])
}

// formatAllocMetrics explains why allocations could not be placed, one
// "* reason" line each, every line starting with prefix.
func formatAllocMetrics(m *api.AllocationMetric, prefix string) string {
	if m == nil {
		return ""
	}
	var lines []string
	add := func(format string, args ...any) {
		lines = append(lines, prefix+"* "+fmt.Sprintf(format, args...))
	}
	if m.NodesEvaluated == 0 {
		add("No nodes were eligible for evaluation")
	}
	for _, dc := range sortedKeys(m.NodesAvailable) {
		if m.NodesAvailable[dc] == 0 {
			add("No nodes are available in datacenter %q", dc)
		}
	}
	for _, class := range sortedKeys(m.ClassFiltered) {
		add("Class %q: %d nodes excluded by filter", class, m.ClassFiltered[class])
	}
	for _, cs := range sortedKeys(m.ConstraintFiltered) {
		add("Constraint %q: %d nodes excluded by filter", cs, m.ConstraintFiltered[cs])
	}
	if m.NodesExhausted > 0 {
		add("Resources exhausted on %d nodes", m.NodesExhausted)
	}
	for _, class := range sortedKeys(m.ClassExhausted) {
		add("Class %q exhausted on %d nodes", class, m.ClassExhausted[class])
	}
	for _, dim := range sortedKeys(m.DimensionExhausted) {
		add("Dimension %q exhausted on %d nodes", dim, m.DimensionExhausted[dim])
	}
	for _, q := range m.QuotaExhausted {
		add("Quota limit hit %q", q)
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatAllocListStubs is the allocations table of job, node and eval status.
func formatAllocListStubs(stubs []*api.AllocationListStub, verbose bool, length int, now time.Time) string {
	if len(stubs) == 0 {
		return "No allocations placed"
	}
	var rows [][]string
	if verbose {
		rows = append(rows, row("ID", "Eval ID", "Node ID", "Node Name", "Task Group", "Version", "Desired", "Status", "Created", "Modified"))
	} else {
		rows = append(rows, row("ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"))
	}
	for _, a := range stubs {
		created := prettyTimeDiff(time.Unix(0, a.CreateTime), now)
		modified := prettyTimeDiff(time.Unix(0, a.ModifyTime), now)
		if verbose {
			created = formatUnixNanoTime(a.CreateTime)
			modified = formatUnixNanoTime(a.ModifyTime)
			rows = append(rows, row(limit(a.ID, length), limit(a.EvalID, length), limit(a.NodeID, length),
				a.NodeName, a.TaskGroup, fmt.Sprint(a.JobVersion), a.DesiredStatus, a.ClientStatus, created, modified))
			continue
		}
		rows = append(rows, row(limit(a.ID, length), limit(a.NodeID, length), a.TaskGroup,
			fmt.Sprint(a.JobVersion), a.DesiredStatus, a.ClientStatus, created, modified))
	}
	return formatList(rows)
}

// sortAllocStubs orders allocations newest first, as Nomad lists them.
func sortAllocStubs(stubs []*api.AllocationListStub) {
	sort.SliceStable(stubs, func(i, j int) bool {
		if stubs[i].CreateIndex != stubs[j].CreateIndex {
			return stubs[i].CreateIndex > stubs[j].CreateIndex
		}
		return stubs[i].ID < stubs[j].ID
	})
}
