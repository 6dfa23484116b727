package structs

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on the size of a job.
const (
	MaxTaskGroupCount = 100000
	MaxTaskGroups     = 1000
	MaxTasksPerJob    = 1000
	MinMemoryMB       = 10
	MinCPU            = 1
)

// problems collects validation errors under a path prefix.
type problems struct {
	errs []error
}

func (p *problems) add(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	p.errs = append(p.errs, errors.New(msg))
}

// Validate checks a canonicalized job and returns every problem found at
// once, each prefixed with where it is, e.g.
// `group "web" -> task "api": resources.memory must be at least 10 MB`.
func (j *Job) Validate() error {
	if j == nil {
		return errors.New("job is missing")
	}
	p := &problems{}
	switch {
	case j.ID == "":
		p.add("", "job ID is required")
	case strings.Contains(j.ID, " "):
		p.add("", "job ID %q contains a space", j.ID)
	case strings.Contains(j.ID, "\x00"):
		p.add("", "job ID contains a null character")
	}
	if strings.Contains(j.Name, "\x00") {
		p.add("", "job name contains a null character")
	}
	switch j.Type {
	case JobTypeService, JobTypeBatch, JobTypeSystem, JobTypeSysBatch:
	default:
		p.add("", "invalid job type %q; must be one of service, batch, system, sysbatch", j.Type)
	}
	if j.Priority < MinJobPriority || j.Priority > MaxJobPriority {
		p.add("", "priority %d must be between %d and %d", j.Priority, MinJobPriority, MaxJobPriority)
	}
	for i, dc := range j.Datacenters {
		if dc == "" {
			p.add("", "datacenters[%d] is empty", i)
		}
	}
	if j.Region == "" {
		p.add("", "region is required")
	}
	if j.Namespace == "" {
		p.add("", "namespace is required")
	}
	validatePlacement(p, "", j.Constraints, j.Affinities, j.Spreads)
	if len(j.TaskGroups) == 0 {
		p.add("", "job must have at least one group")
	}
	if len(j.TaskGroups) > MaxTaskGroups {
		p.add("", "job has %d groups; the limit is %d", len(j.TaskGroups), MaxTaskGroups)
	}
	tasks := 0
	groups := map[string]bool{}
	for i, tg := range j.TaskGroups {
		if tg == nil {
			p.add("", "group %d is empty", i)
			continue
		}
		tasks += len(tg.Tasks)
		path := fmt.Sprintf("group %q", tg.Name)
		if tg.Name == "" {
			path = fmt.Sprintf("group %d", i)
			p.add(path, "group name is required")
		} else if groups[tg.Name] {
			p.add(path, "group name is used more than once")
		}
		groups[tg.Name] = true
		tg.validate(p, j, path)
	}
	if tasks > MaxTasksPerJob {
		p.add("", "job has %d tasks; the limit is %d", tasks, MaxTasksPerJob)
	}
	if j.Periodic != nil && j.Periodic.Enabled {
		if j.Periodic.Spec == "" && len(j.Periodic.Specs) == 0 {
			p.add("periodic", "cron or crons is required")
		}
		if j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
			p.add("periodic", "only batch and sysbatch jobs can be periodic")
		}
	}
	if j.ParameterizedJob != nil {
		if j.Type != JobTypeBatch && j.Type != JobTypeSysBatch {
			p.add("parameterized", "only batch and sysbatch jobs can be parameterized")
		}
		switch j.ParameterizedJob.Payload {
		case "", "optional", "required", "forbidden":
		default:
			p.add("parameterized", "payload %q must be optional, required or forbidden", j.ParameterizedJob.Payload)
		}
	}
	return errors.Join(p.errs...)
}

func validatePlacement(p *problems, path string, cs []*Constraint, as []*Affinity, ss []*Spread) {
	for i, c := range cs {
		if c == nil {
			continue
		}
		cp := join(path, fmt.Sprintf("constraint[%d]", i))
		switch c.Operand {
		case "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "version", "semver", "regexp",
			"set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set":
			if c.LTarget == "" {
				p.add(cp, "attribute is required")
			}
		case "distinct_hosts", "distinct_property":
		default:
			p.add(cp, "unknown operator %q", c.Operand)
		}
	}
	for i, a := range as {
		if a == nil {
			continue
		}
		ap := join(path, fmt.Sprintf("affinity[%d]", i))
		if a.LTarget == "" {
			p.add(ap, "attribute is required")
		}
		if a.Weight == 0 || a.Weight > 100 || a.Weight < -100 {
			p.add(ap, "weight %d must be between -100 and 100 and not 0", a.Weight)
		}
	}
	for i, s := range ss {
		if s == nil {
			continue
		}
		sp := join(path, fmt.Sprintf("spread[%d]", i))
		if s.Attribute == "" {
			p.add(sp, "attribute is required")
		}
		if s.Weight <= 0 || s.Weight > 100 {
			p.add(sp, "weight %d must be between 1 and 100", s.Weight)
		}
		sum := 0
		for _, t := range s.SpreadTarget {
			if t != nil {
				sum += int(t.Percent)
			}
		}
		if sum > 100 {
			p.add(sp, "target percentages add up to %d, more than 100", sum)
		}
	}
}

func join(path, sub string) string {
	if path == "" {
		return sub
	}
	return path + " -> " + sub
}

func (tg *TaskGroup) validate(p *problems, j *Job, path string) {
	if tg.Count < 0 {
		p.add(path, "count %d must not be negative", tg.Count)
	}
	if tg.Count > MaxTaskGroupCount {
		p.add(path, "count %d is more than the limit of %d", tg.Count, MaxTaskGroupCount)
	}
	if len(tg.Tasks) == 0 && !tg.injectsTasks() {
		p.add(path, "group must have at least one task")
	}
	if len(tg.Networks) > 1 {
		p.add(path, "only one network block is allowed per group")
	}
	for _, n := range tg.Networks {
		if n != nil {
			n.validateMode(p, path)
		}
	}
	validatePlacement(p, path, tg.Constraints, tg.Affinities, tg.Spreads)
	tg.validateServices(p, path)
	if r := tg.RestartPolicy; r != nil {
		if r.Mode != RestartPolicyModeDelay && r.Mode != RestartPolicyModeFail {
			p.add(path, "restart.mode %q must be delay or fail", r.Mode)
		}
		if r.Attempts < 0 {
			p.add(path, "restart.attempts must not be negative")
		}
	}
	if r := tg.ReschedulePolicy; r != nil {
		switch r.DelayFunction {
		case "", "constant", "exponential", "fibonacci":
		default:
			p.add(path, "reschedule.delay_function %q must be constant, exponential or fibonacci", r.DelayFunction)
		}
	}
	if d := tg.EphemeralDisk; d != nil && d.SizeMB < 0 {
		p.add(path, "ephemeral_disk.size must not be negative")
	}
	if s := tg.Scaling; s != nil {
		if s.Max < s.Min {
			p.add(path, "scaling.max %d must not be less than scaling.min %d", s.Max, s.Min)
		}
		if s.Min < 0 {
			p.add(path, "scaling.min must not be negative")
		}
	}
	names := map[string]bool{}
	leaders := 0
	for i, t := range tg.Tasks {
		if t == nil {
			p.add(path, "task %d is empty", i)
			continue
		}
		tp := join(path, fmt.Sprintf("task %q", t.Name))
		if t.Name == "" {
			tp = join(path, fmt.Sprintf("task %d", i))
			p.add(tp, "task name is required")
		} else if names[t.Name] {
			p.add(tp, "task name is used more than once in the group")
		}
		names[t.Name] = true
		if t.Leader {
			leaders++
		}
		t.validate(p, tp)
	}
	if leaders > 1 {
		p.add(path, "only one task may be the leader")
	}
}

func (t *Task) validate(p *problems, path string) {
	if t.Driver == "" {
		p.add(path, "driver is required")
	}
	if strings.ContainsAny(t.Name, "/\x00") {
		p.add(path, "task name must not contain '/' or a null character")
	}
	if t.KillTimeout < 0 {
		p.add(path, "kill_timeout must not be negative")
	}
	if r := t.Resources; r != nil {
		if r.MemoryMB < MinMemoryMB {
			p.add(path, "resources.memory must be at least %d MB", MinMemoryMB)
		}
		if r.MemoryMaxMB != 0 && r.MemoryMaxMB < r.MemoryMB {
			p.add(path, "resources.memory_max %d must not be less than resources.memory %d", r.MemoryMaxMB, r.MemoryMB)
		}
		if r.Cores > 0 && r.CPU > 0 {
			p.add(path, "resources.cores and resources.cpu cannot both be set")
		}
		if r.Cores == 0 && r.CPU < MinCPU {
			p.add(path, "resources.cpu must be at least %d MHz", MinCPU)
		}
		if r.Cores < 0 {
			p.add(path, "resources.cores must not be negative")
		}
	}
	if l := t.LogConfig; l != nil {
		if l.MaxFiles < 1 {
			p.add(path, "logs.max_files must be at least 1")
		}
		if l.MaxFileSizeMB < 1 {
			p.add(path, "logs.max_file_size must be at least 1 MB")
		}
	}
	if lc := t.Lifecycle; lc != nil {
		switch lc.Hook {
		case TaskLifecycleHookPrestart, TaskLifecycleHookPoststart, TaskLifecycleHookPoststop:
		default:
			p.add(path, "lifecycle.hook %q must be prestart, poststart or poststop", lc.Hook)
		}
	}
	validatePlacement(p, path, t.Constraints, t.Affinities, nil)
	for i, tmpl := range t.Templates {
		if tmpl == nil {
			continue
		}
		if tmpl.SourcePath == "" && tmpl.EmbeddedTmpl == "" {
			p.add(path, "template[%d] needs source or data", i)
		}
		if tmpl.DestPath == "" {
			p.add(path, "template[%d] needs a destination", i)
		}
		switch tmpl.ChangeMode {
		case "", "restart", "noop", "signal", "script":
		default:
			p.add(path, "template[%d].change_mode %q must be restart, noop, signal or script", i, tmpl.ChangeMode)
		}
		if tmpl.ChangeMode == "signal" && tmpl.ChangeSignal == "" {
			p.add(path, "template[%d] with change_mode signal needs change_signal", i)
		}
	}
	for i, a := range t.Artifacts {
		if a != nil && a.GetterSource == "" {
			p.add(path, "artifact[%d] needs a source", i)
		}
	}
}

// injectsTasks reports whether a Connect sidecar or gateway service will
// add a task to the group when the job is registered. Only a Consul
// service would: the upstreams of a built-in provider service are served
// by the client, with no task.
func (tg *TaskGroup) injectsTasks() bool {
	for _, s := range tg.Services {
		if s != nil && !s.BuiltinProvider() && s.Connect != nil && (s.Connect.SidecarService != nil || s.Connect.Gateway != nil) {
			return true
		}
	}
	return false
}
