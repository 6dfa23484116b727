package structs

import (
	"time"
)

// Job types, as Nomad names them.
const (
	JobTypeService  = "service"
	JobTypeBatch    = "batch"
	JobTypeSystem   = "system"
	JobTypeSysBatch = "sysbatch"
)

// Job statuses.
const (
	JobStatusPending = "pending"
	JobStatusRunning = "running"
	JobStatusDead    = "dead"
)

// Defaults applied by Canonicalize.
const (
	DefaultNamespace   = "default"
	DefaultRegion      = "global"
	DefaultDatacenter  = "dc1"
	DefaultNodePool    = "default"
	DefaultJobPriority = 50
	MinJobPriority     = 1
	MaxJobPriority     = 100
)

// Job is the unit a user submits: one or more task groups scheduled together.
// Field names are Nomad's, so the JSON encoding is Nomad's API encoding.
type Job struct {
	// Region the job is submitted to.
	Region string
	// Namespace the job lives in.
	Namespace string
	// ID is unique within the namespace.
	ID string
	// ParentID is set on children of periodic and parameterized jobs.
	ParentID string
	// Name is for display; defaults to ID.
	Name string
	// Type is one of the JobType constants.
	Type string
	// Priority from 1 to 100; higher is scheduled first.
	Priority int
	// AllAtOnce asks for all groups to be placed or none.
	AllAtOnce bool
	// Datacenters the job may run in; entries may be globs.
	Datacenters []string
	// NodePool restricts placement to one pool of nodes.
	NodePool string
	// Constraints, Affinities and Spreads apply to every group.
	Constraints []*Constraint
	Affinities  []*Affinity
	Spreads     []*Spread
	// TaskGroups are the groups of the job.
	TaskGroups []*TaskGroup
	// Update is the job-level default update strategy.
	Update UpdateStrategy
	// Reschedule and Migrate are job-level defaults for the groups; API
	// clients send them, and Canonicalize copies them into groups without
	// their own.
	Reschedule *ReschedulePolicy `json:",omitempty"`
	Migrate    *MigrateStrategy  `json:",omitempty"`
	// VersionTag names a version.
	VersionTag *JobVersionTag `json:",omitempty"`
	// Multiregion is parsed and stored, not acted on.
	Multiregion *Multiregion `json:",omitempty"`
	// Periodic makes the job a template launched on a schedule.
	Periodic *PeriodicConfig
	// ParameterizedJob makes the job a template launched by dispatch.
	ParameterizedJob *ParameterizedJobConfig
	// Dispatched is true for children created by dispatch.
	Dispatched bool
	// DispatchIdempotencyToken dedups dispatches.
	DispatchIdempotencyToken string `json:",omitempty"`
	// Payload is the dispatch payload of a dispatched child.
	Payload []byte
	// Meta is free-form metadata, interpolated into tasks.
	Meta map[string]string
	// ConsulToken, VaultToken and friends are kept for old job files.
	ConsulToken     string `json:",omitempty"`
	ConsulNamespace string `json:",omitempty"`
	VaultToken      string `json:",omitempty"`
	VaultNamespace  string `json:",omitempty"`
	NomadTokenID    string `json:",omitempty"`
	// UI is parsed and stored.
	UI *JobUIConfig `json:",omitempty"`

	// Stop marks a job stopped but not purged.
	Stop bool
	// Status is computed by the server.
	Status            string
	StatusDescription string
	// Stable is set when a deployment of this version succeeded.
	Stable bool
	// Version increases with every change to the job.
	Version uint64
	// SubmitTime is the Unix nanosecond time of this version.
	SubmitTime int64

	CreateIndex    uint64
	ModifyIndex    uint64
	JobModifyIndex uint64
}

// JobVersionTag names a job version.
type JobVersionTag struct {
	Name        string
	Description string
	TaggedTime  int64
}

// Secret is a task secret block (parsed and stored, not acted on).
type Secret struct {
	Name     string
	Provider string
	Path     string
	Config   map[string]interface{}
	Env      map[string]string
}

// Action is a named command a task offers (parsed and stored).
type Action struct {
	Name    string
	Command string
	Args    []string
}

// ServiceWeights are Consul DNS weights (parsed and stored).
type ServiceWeights struct {
	Passing int
	Warning int
}

// JobUIConfig holds UI hints.
type JobUIConfig struct {
	Description string
	Links       []*JobUILink
}

// JobUILink is a link shown in a UI.
type JobUILink struct {
	Label string
	URL   string
}

// Multiregion is parsed and stored.
type Multiregion struct {
	Strategy *MultiregionStrategy
	Regions  []*MultiregionRegion
}

// MultiregionStrategy of a multiregion job.
type MultiregionStrategy struct {
	MaxParallel int
	OnFailure   string
}

// MultiregionRegion of a multiregion job.
type MultiregionRegion struct {
	Name        string
	Count       int
	Datacenters []string
	NodePool    string
	Meta        map[string]string
}

// NamespacedID is a job's identity.
type NamespacedID struct {
	ID        string
	Namespace string
}

// NamespacedID returns the job's namespaced ID.
func (j *Job) NamespacedID() NamespacedID {
	return NamespacedID{ID: j.ID, Namespace: j.Namespace}
}

// LookupTaskGroup finds a group by name, or nil.
func (j *Job) LookupTaskGroup(name string) *TaskGroup {
	for _, tg := range j.TaskGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

// IsPeriodic reports whether the job is a periodic template.
func (j *Job) IsPeriodic() bool { return j.Periodic != nil && j.Periodic.Enabled }

// IsParameterized reports whether the job is a dispatch template.
func (j *Job) IsParameterized() bool { return j.ParameterizedJob != nil && !j.Dispatched }

// TaskGroup is a set of tasks placed together on one node: the pod.
type TaskGroup struct {
	// Name is unique within the job.
	Name string
	// Count is the number of allocations wanted.
	Count int
	// Constraints, Affinities and Spreads apply to this group.
	Constraints []*Constraint
	Affinities  []*Affinity
	Spreads     []*Spread
	// Tasks run together in each allocation.
	Tasks []*Task
	// RestartPolicy governs local restarts of failed tasks.
	RestartPolicy *RestartPolicy
	// ReschedulePolicy governs replacing failed allocations.
	ReschedulePolicy *ReschedulePolicy
	// Update overrides the job's update strategy.
	Update *UpdateStrategy
	// Migrate governs moving allocations off draining nodes.
	Migrate *MigrateStrategy
	// EphemeralDisk sizes the allocation's scratch space.
	EphemeralDisk *EphemeralDisk
	// Networks is the group's network (at most one).
	Networks []*NetworkResource
	// Services registered for the group.
	Services []*Service
	// Volumes requested by the group.
	Volumes map[string]*VolumeRequest
	// Scaling policy of the group.
	Scaling *ScalingPolicy
	// Meta is free-form metadata.
	Meta map[string]string
	// ShutdownDelay before tasks are killed.
	ShutdownDelay *time.Duration
	// StopAfterClientDisconnect stops allocs on a disconnected client.
	StopAfterClientDisconnect *time.Duration
	// MaxClientDisconnect keeps allocs unknown this long before lost.
	MaxClientDisconnect *time.Duration
	// Disconnect is the newer form of the two fields above.
	Disconnect *DisconnectStrategy
	// PreventRescheduleOnLost keeps lost allocs from being replaced.
	PreventRescheduleOnLost bool
	// Consul is parsed and stored.
	Consul *Consul `json:",omitempty"`
	// MaxRunDuration is parsed and stored.
	MaxRunDuration *time.Duration `json:",omitempty"`
}

// LookupTask finds a task by name, or nil.
func (tg *TaskGroup) LookupTask(name string) *Task {
	for _, t := range tg.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// DisconnectStrategy says what happens to allocs on a disconnected client.
type DisconnectStrategy struct {
	LostAfter         time.Duration
	Replace           *bool
	Reconcile         string
	StopOnClientAfter *time.Duration
}

// Consul settings of a group or task (parsed, not acted on).
type Consul struct {
	Namespace string
	Cluster   string
	Partition string
}

// Task is one process, container or command within a group.
type Task struct {
	// Name is unique within the group.
	Name string
	// Driver runs the task: raw_exec, exec, docker, containerd.
	Driver string
	// User to run as.
	User string
	// Config is the driver-specific configuration.
	Config map[string]interface{}
	// Env is set in the task's environment.
	Env map[string]string
	// Services registered for the task.
	Services []*Service
	// Vault is parsed and stored.
	Vault *Vault `json:",omitempty"`
	// Consul is parsed and stored.
	Consul *Consul `json:",omitempty"`
	// Templates rendered before the task starts.
	Templates []*Template
	// Constraints and Affinities for this task.
	Constraints []*Constraint
	Affinities  []*Affinity
	// Resources asked for.
	Resources *Resources
	// RestartPolicy overrides the group's.
	RestartPolicy *RestartPolicy
	// DispatchPayload says where to write a dispatch payload.
	DispatchPayload *DispatchPayloadConfig
	// Lifecycle makes the task a prestart/poststart/poststop hook.
	Lifecycle *TaskLifecycleConfig
	// Meta is free-form metadata.
	Meta map[string]string
	// KillTimeout between kill signal and SIGKILL.
	KillTimeout time.Duration
	// LogConfig sizes log rotation.
	LogConfig *LogConfig
	// Artifacts fetched before start.
	Artifacts []*TaskArtifact
	// Leader tasks stop the group when they exit.
	Leader bool
	// ShutdownDelay before the kill signal.
	ShutdownDelay time.Duration
	// VolumeMounts of the group's volumes.
	VolumeMounts []*VolumeMount
	// KillSignal sent first on stop.
	KillSignal string
	// Kind is used by connect sidecars.
	Kind string `json:",omitempty"`
	// Identity and Identities are parsed and stored.
	Identity   *WorkloadIdentity   `json:",omitempty"`
	Identities []*WorkloadIdentity `json:",omitempty"`
	// ScalingPolicies are parsed and stored.
	ScalingPolicies []*ScalingPolicy `json:",omitempty"`
	// Schedule is parsed and stored.
	Schedule *TaskSchedule `json:",omitempty"`
	// Secrets and Actions are parsed and stored.
	Secrets []*Secret `json:",omitempty"`
	Actions []*Action `json:",omitempty"`
	// CSIPluginConfig is parsed and stored.
	CSIPluginConfig *TaskCSIPluginConfig `json:",omitempty"`
}

// TaskCSIPluginConfig is parsed and stored.
type TaskCSIPluginConfig struct {
	ID                  string
	Type                string
	MountDir            string
	StagePublishBaseDir string
	HealthTimeout       time.Duration
}

// TaskSchedule is parsed and stored.
type TaskSchedule struct {
	Cron *TaskScheduleCron
}

// TaskScheduleCron is parsed and stored.
type TaskScheduleCron struct {
	Start    string
	End      string
	Timezone string
}

// WorkloadIdentity is parsed and stored.
type WorkloadIdentity struct {
	Name         string
	Audience     []string
	ChangeMode   string
	ChangeSignal string
	Env          bool
	File         bool
	Filepath     string
	ServiceName  string
	TTL          time.Duration
	// ExtraClaims names the claims, defined by the namespace, to add.
	ExtraClaims []string `json:",omitempty"`
}

// Vault is parsed and stored.
type Vault struct {
	Role                 string
	Policies             []string
	Namespace            string
	Cluster              string
	Env                  bool
	DisableFile          bool
	ChangeMode           string
	ChangeSignal         string
	AllowTokenExpiration bool
}

// Resources a task asks for.
type Resources struct {
	CPU         int
	Cores       int
	MemoryMB    int
	MemoryMaxMB int
	DiskMB      int
	IOPS        int `json:",omitempty"`
	Networks    []*NetworkResource
	Devices     []*RequestedDevice
	SecretsMB   int           `json:",omitempty"`
	NUMA        *NUMAResource `json:",omitempty"`
}

// NUMAResource is parsed and stored.
type NUMAResource struct {
	Affinity string
	Devices  []string
}

// RequestedDevice asks for devices.
type RequestedDevice struct {
	Name        string
	Count       uint64
	Constraints []*Constraint
	Affinities  []*Affinity
}

// Port is a named port.
type Port struct {
	Label           string
	Value           int
	To              int
	HostNetwork     string
	IgnoreCollision bool `json:",omitempty"`
}

// DNSConfig of a group network.
type DNSConfig struct {
	Servers  []string
	Searches []string
	Options  []string
}

// NetworkResource is a group's network: its mode and ports.
type NetworkResource struct {
	Mode          string
	Device        string
	CIDR          string
	IP            string
	Hostname      string
	MBits         int
	DNS           *DNSConfig
	ReservedPorts []Port
	DynamicPorts  []Port
	CNI           *CNIConfig `json:",omitempty"`
}

// CNIConfig is parsed and stored.
type CNIConfig struct {
	Args map[string]string
}

// Constraint restricts placement.
type Constraint struct {
	LTarget string
	RTarget string
	Operand string
}

// Affinity prefers (or avoids) nodes.
type Affinity struct {
	LTarget string
	RTarget string
	Operand string
	Weight  int8
}

// Spread spreads allocations over a node attribute.
type Spread struct {
	Attribute    string
	Weight       int8
	SpreadTarget []*SpreadTarget
}

// SpreadTarget is a desired share of one attribute value.
type SpreadTarget struct {
	Value   string
	Percent uint8
}

// RestartPolicy modes.
const (
	RestartPolicyModeDelay = "delay"
	RestartPolicyModeFail  = "fail"
)

// RestartPolicy governs local restarts.
type RestartPolicy struct {
	Attempts        int
	Interval        time.Duration
	Delay           time.Duration
	Mode            string
	RenderTemplates bool
}

// ReschedulePolicy governs replacement of failed allocations.
type ReschedulePolicy struct {
	Attempts      int
	Interval      time.Duration
	Delay         time.Duration
	DelayFunction string
	MaxDelay      time.Duration
	Unlimited     bool
}

// UpdateStrategy configures rolling updates.
type UpdateStrategy struct {
	Stagger          time.Duration
	MaxParallel      int
	HealthCheck      string
	MinHealthyTime   time.Duration
	HealthyDeadline  time.Duration
	ProgressDeadline time.Duration
	AutoRevert       bool
	AutoPromote      bool
	Canary           int
}

// MigrateStrategy configures drains.
type MigrateStrategy struct {
	MaxParallel     int
	HealthCheck     string
	MinHealthyTime  time.Duration
	HealthyDeadline time.Duration
}

// EphemeralDisk sizes the allocation's scratch space.
type EphemeralDisk struct {
	Sticky  bool
	SizeMB  int
	Migrate bool
}

// LogConfig sizes log rotation.
type LogConfig struct {
	MaxFiles      int
	MaxFileSizeMB int
	Disabled      bool
	// Enabled is the newer form of Disabled; false turns log collection off.
	Enabled *bool `json:",omitempty"`
}

// TaskArtifact is fetched before a task starts.
type TaskArtifact struct {
	GetterSource   string
	GetterOptions  map[string]string
	GetterHeaders  map[string]string
	GetterMode     string
	RelativeDest   string
	Chown          bool
	GetterInsecure bool
}

// Template is rendered into the task directory.
type Template struct {
	SourcePath    string
	DestPath      string
	EmbeddedTmpl  string
	ChangeMode    string
	ChangeSignal  string
	ChangeScript  *ChangeScript
	Splay         time.Duration
	Perms         string
	Uid           *int
	Gid           *int
	LeftDelim     string
	RightDelim    string
	Envvars       bool
	VaultGrace    time.Duration
	Wait          *WaitConfig
	ErrMissingKey bool
	Once          bool
}

// ChangeScript runs on template change.
type ChangeScript struct {
	Command          string
	Args             []string
	Timeout          time.Duration
	FailOnError      bool
	RunOnFirstRender *bool `json:",omitempty"`
}

// WaitConfig bounds template re-rendering.
type WaitConfig struct {
	Min *time.Duration
	Max *time.Duration
}

// Lifecycle hooks.
const (
	TaskLifecycleHookPrestart  = "prestart"
	TaskLifecycleHookPoststart = "poststart"
	TaskLifecycleHookPoststop  = "poststop"
)

// TaskLifecycleConfig makes a task a lifecycle hook.
type TaskLifecycleConfig struct {
	Hook    string
	Sidecar bool
}

// DispatchPayloadConfig says where to write the payload.
type DispatchPayloadConfig struct {
	File string
}

// PeriodicConfig schedules a periodic job.
type PeriodicConfig struct {
	Enabled         bool
	Spec            string
	Specs           []string
	SpecType        string
	ProhibitOverlap bool
	TimeZone        string
}

// ParameterizedJobConfig makes a job dispatchable.
type ParameterizedJobConfig struct {
	Payload      string
	MetaRequired []string
	MetaOptional []string
}

// VolumeRequest asks for a host or CSI volume.
type VolumeRequest struct {
	Name           string
	Type           string
	Source         string
	ReadOnly       bool
	Sticky         bool
	AccessMode     string
	AttachmentMode string
	PerAlloc       bool
	MountOptions   *CSIMountOptions
}

// CSIMountOptions is parsed and stored.
type CSIMountOptions struct {
	FSType     string
	MountFlags []string
}

// VolumeMount mounts a group volume into a task.
type VolumeMount struct {
	Volume          string
	Destination     string
	ReadOnly        bool
	PropagationMode string
	SELinuxLabel    string
}

// ScalingPolicy bounds a group's count.
type ScalingPolicy struct {
	ID          string `json:",omitempty"`
	Namespace   string `json:",omitempty"`
	CreateIndex uint64 `json:",omitempty"`
	ModifyIndex uint64 `json:",omitempty"`
	Type        string
	Target      map[string]string
	Min         int64
	Max         int64
	Policy      map[string]interface{}
	Enabled     bool
}

// Service is a registration in service discovery.
type Service struct {
	Name              string
	TaskName          string
	PortLabel         string
	AddressMode       string
	Address           string
	EnableTagOverride bool
	Tags              []string
	CanaryTags        []string
	Checks            []*ServiceCheck
	Connect           *ConsulConnect `json:",omitempty"`
	Meta              map[string]string
	CanaryMeta        map[string]string
	TaggedAddresses   map[string]string
	Namespace         string
	OnUpdate          string
	Provider          string
	Cluster           string            `json:",omitempty"`
	Identity          *WorkloadIdentity `json:",omitempty"`

	// CheckRestart is the default of the checks without their own;
	// Canonicalize copies it into them and clears it.
	CheckRestart *CheckRestart `json:",omitempty"`
}

// ServiceCheck is a health check of a service.
type ServiceCheck struct {
	Name                   string
	Type                   string
	Command                string
	Args                   []string
	Path                   string
	Protocol               string
	PortLabel              string
	Expose                 bool
	AddressMode            string
	Interval               time.Duration
	Timeout                time.Duration
	InitialStatus          string
	TLSServerName          string
	TLSSkipVerify          bool
	Method                 string
	Header                 map[string][]string
	Body                   string
	GRPCService            string
	GRPCUseTLS             bool
	TaskName               string
	OnUpdate               string
	SuccessBeforePassing   int
	FailuresBeforeCritical int
	FailuresBeforeWarning  int
	CheckRestart           *CheckRestart
	Advertise              string `json:",omitempty"`
	Notes                  string `json:",omitempty"`
}

// CheckRestart restarts a task whose check fails.
type CheckRestart struct {
	Limit          int
	Grace          time.Duration
	IgnoreWarnings bool
}
