package structs

import "time"

// Defaults Nomad applies to a job that leaves them out.
const (
	DefaultDatacenterAny       = "*"
	DefaultEphemeralDiskMB     = 300
	DefaultLogMaxFiles         = 10
	DefaultLogMaxFileSizeMB    = 10
	DefaultResourcesCPU        = 100
	DefaultResourcesMemoryMB   = 300
	DefaultKillTimeout         = 5 * time.Second
	DefaultTemplateSplay       = 5 * time.Second
	DefaultChangeScriptTimeout = 5 * time.Second
	DefaultAffinityWeight      = 50
	DefaultSpreadWeight        = 50
)

// DefaultUpdateStrategy is the rolling update of a service job without an
// update block, and the base an update block's settings apply over.
func DefaultUpdateStrategy() *UpdateStrategy {
	return &UpdateStrategy{
		Stagger:          30 * time.Second,
		MaxParallel:      1,
		HealthCheck:      "checks",
		MinHealthyTime:   10 * time.Second,
		HealthyDeadline:  5 * time.Minute,
		ProgressDeadline: 10 * time.Minute,
	}
}

// DefaultMigrateStrategy is how allocations leave a draining node.
func DefaultMigrateStrategy() *MigrateStrategy {
	return &MigrateStrategy{
		MaxParallel:     1,
		HealthCheck:     "checks",
		MinHealthyTime:  10 * time.Second,
		HealthyDeadline: 5 * time.Minute,
	}
}

// DefaultRestartPolicy returns the restart policy for a job type.
func DefaultRestartPolicy(jobType string) *RestartPolicy {
	switch jobType {
	case JobTypeBatch, JobTypeSysBatch:
		return &RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: RestartPolicyModeFail}
	default:
		return &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: RestartPolicyModeFail}
	}
}

// DefaultReschedulePolicy returns the reschedule policy for a job type;
// system and sysbatch jobs are not rescheduled, so theirs is nil.
func DefaultReschedulePolicy(jobType string) *ReschedulePolicy {
	switch jobType {
	case JobTypeService, "":
		return &ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential", MaxDelay: time.Hour, Unlimited: true}
	case JobTypeBatch:
		return &ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second, DelayFunction: "constant"}
	}
	return nil
}

// Canonicalize fills in Nomad's defaults for everything the job leaves
// out. It is idempotent and safe on partly filled jobs. A group's count
// cannot be told apart from an explicit 0 here; the parser sets it.
func (j *Job) Canonicalize() {
	if j == nil {
		return
	}
	if j.Namespace == "" {
		j.Namespace = DefaultNamespace
	}
	if j.Region == "" {
		j.Region = DefaultRegion
	}
	if j.Type == "" {
		j.Type = JobTypeService
	}
	if j.Name == "" {
		j.Name = j.ID
	}
	if j.Priority == 0 {
		j.Priority = DefaultJobPriority
	}
	if len(j.Datacenters) == 0 {
		j.Datacenters = []string{DefaultDatacenterAny}
	}
	if j.NodePool == "" {
		j.NodePool = DefaultNodePool
	}
	if j.Type == JobTypeService && j.Update == (UpdateStrategy{}) {
		j.Update = *DefaultUpdateStrategy()
	}
	if j.Periodic != nil {
		if j.Periodic.SpecType == "" {
			j.Periodic.SpecType = "cron"
		}
		if j.Periodic.TimeZone == "" {
			j.Periodic.TimeZone = "UTC"
		}
	}
	if j.ParameterizedJob != nil && j.ParameterizedJob.Payload == "" {
		j.ParameterizedJob.Payload = "optional"
	}
	canonicalizePlacement(j.Constraints, j.Affinities, j.Spreads)
	for _, tg := range j.TaskGroups {
		if tg != nil {
			tg.canonicalize(j)
		}
	}
}

func canonicalizePlacement(cs []*Constraint, as []*Affinity, ss []*Spread) {
	for _, c := range cs {
		if c != nil && c.Operand == "" {
			c.Operand = "="
		}
	}
	for _, a := range as {
		if a == nil {
			continue
		}
		if a.Operand == "" {
			a.Operand = "="
		}
		if a.Weight == 0 {
			a.Weight = DefaultAffinityWeight
		}
	}
	for _, s := range ss {
		if s != nil && s.Weight == 0 {
			s.Weight = DefaultSpreadWeight
		}
	}
}

func (tg *TaskGroup) canonicalize(j *Job) {
	if tg.EphemeralDisk == nil {
		tg.EphemeralDisk = &EphemeralDisk{SizeMB: DefaultEphemeralDiskMB}
	}
	if tg.RestartPolicy == nil {
		tg.RestartPolicy = DefaultRestartPolicy(j.Type)
	}
	if tg.ReschedulePolicy == nil && j.Reschedule != nil {
		c := *j.Reschedule
		tg.ReschedulePolicy = &c
	}
	if tg.Migrate == nil && j.Migrate != nil {
		c := *j.Migrate
		tg.Migrate = &c
	}
	if tg.ReschedulePolicy == nil {
		tg.ReschedulePolicy = DefaultReschedulePolicy(j.Type)
	}
	if tg.Migrate == nil && j.Type == JobTypeService {
		tg.Migrate = DefaultMigrateStrategy()
	}
	if tg.Update == nil && j.Update != (UpdateStrategy{}) && (j.Type == JobTypeService || j.Type == JobTypeSystem) {
		u := j.Update
		tg.Update = &u
	}
	if tg.Scaling != nil && tg.Scaling.Type == "" {
		tg.Scaling.Type = "horizontal"
	}
	canonicalizePlacement(tg.Constraints, tg.Affinities, tg.Spreads)
	canonicalizeServices(tg.Services)
	for _, t := range tg.Tasks {
		if t != nil {
			t.canonicalize(tg)
		}
	}
}

func canonicalizeServices(ss []*Service) {
	for _, s := range ss {
		if s == nil {
			continue
		}
		if s.AddressMode == "" {
			s.AddressMode = "auto"
		}
		if s.OnUpdate == "" {
			s.OnUpdate = "require_healthy"
		}
		if s.Provider == "" {
			s.Provider = "consul"
		}
		for _, c := range s.Checks {
			if c != nil && c.OnUpdate == "" {
				c.OnUpdate = s.OnUpdate
			}
			if c != nil && c.CheckRestart == nil && s.CheckRestart != nil {
				r := *s.CheckRestart
				c.CheckRestart = &r
			}
		}
		s.CheckRestart = nil
	}
}

func (t *Task) canonicalize(tg *TaskGroup) {
	if t.KillTimeout == 0 {
		t.KillTimeout = DefaultKillTimeout
	}
	if t.LogConfig == nil {
		t.LogConfig = &LogConfig{MaxFiles: DefaultLogMaxFiles, MaxFileSizeMB: DefaultLogMaxFileSizeMB}
	}
	if t.Resources == nil {
		t.Resources = &Resources{CPU: DefaultResourcesCPU, MemoryMB: DefaultResourcesMemoryMB}
	}
	if t.RestartPolicy == nil && tg.RestartPolicy != nil {
		r := *tg.RestartPolicy
		t.RestartPolicy = &r
	}
	for _, a := range t.Artifacts {
		if a == nil {
			continue
		}
		if a.GetterMode == "" {
			a.GetterMode = "any"
		}
		if a.RelativeDest == "" {
			a.RelativeDest = "local/"
		}
	}
	for _, tmpl := range t.Templates {
		if tmpl == nil {
			continue
		}
		if tmpl.ChangeMode == "" {
			tmpl.ChangeMode = "restart"
		}
		if tmpl.Perms == "" {
			tmpl.Perms = "0644"
		}
		if tmpl.LeftDelim == "" {
			tmpl.LeftDelim = "{{"
		}
		if tmpl.RightDelim == "" {
			tmpl.RightDelim = "}}"
		}
	}
	if t.Vault != nil && t.Vault.ChangeMode == "" {
		t.Vault.ChangeMode = "restart"
	}
	canonicalizePlacement(t.Constraints, t.Affinities, nil)
	canonicalizeServices(t.Services)
}
