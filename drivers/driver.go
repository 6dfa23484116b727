// Package drivers defines the task driver contract shared by the client and
// every driver plugin. Drivers run out of process as go-plugin (gRPC)
// plugins; the client holds a DriverPlugin that forwards each call over gRPC.
//
// Contract for implementers: every method may be called concurrently from
// several goroutines of the client; methods must honour ctx cancellation and
// must not block past it, except WaitTask's channel and the streams, which
// stay open until the task exits or ctx is done. Returned channels are owned
// by the driver, which closes them.
package drivers

import (
	"context"
	"errors"
	"time"
)

// ErrTaskNotFound is returned for a task ID the driver does not know.
var ErrTaskNotFound = errors.New("task not found")

// ErrNotSupported is returned by a driver asked for an optional ability it
// does not have, such as creating a network namespace.
var ErrNotSupported = errors.New("not supported by the driver")

// ErrPluginExited is returned by calls to an out-of-process driver whose
// plugin process is gone. Its tasks may still run: launch the driver again
// and RecoverTask them.
var ErrPluginExited = errors.New("driver plugin exited")

// Health states reported by Fingerprint.
const (
	HealthStateUndetected = "undetected"
	HealthStateUnhealthy  = "unhealthy"
	HealthStateHealthy    = "healthy"
)

// Task states reported by InspectTask.
const (
	TaskStateUnknown = "unknown"
	TaskStateRunning = "running"
	TaskStateExited  = "exited"
)

// DriverPlugin is the interface every task driver implements.
type DriverPlugin interface {
	// Name is the driver's name as jobs use it ("raw_exec").
	Name() string
	// ConfigSchema describes the agent-level plugin config block.
	ConfigSchema() *Schema
	// TaskConfigSchema describes the task `config {}` block.
	TaskConfigSchema() *Schema
	// SetConfig passes the agent's `plugin "NAME" { config {...} }` as JSON.
	SetConfig(ctx context.Context, config []byte) error
	// Capabilities says what the driver supports.
	Capabilities(ctx context.Context) (*Capabilities, error)
	// Fingerprint streams the driver's health and attributes; the first
	// value arrives promptly, later ones when something changes.
	Fingerprint(ctx context.Context) (<-chan *Fingerprint, error)
	// StartTask starts a task and returns a handle the client persists.
	StartTask(ctx context.Context, cfg *TaskConfig) (*TaskHandle, error)
	// RecoverTask re-attaches to a task from a persisted handle.
	RecoverTask(ctx context.Context, handle *TaskHandle) error
	// WaitTask returns a channel that yields one ExitResult when the task
	// exits. The channel is closed without a value if ctx is done first, or
	// if the driver's plugin process exits first (the task may still run).
	WaitTask(ctx context.Context, taskID string) (<-chan *ExitResult, error)
	// StopTask sends signal, waits up to timeout, then kills.
	StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error
	// DestroyTask cleans up after a stopped task; force kills a running one.
	DestroyTask(ctx context.Context, taskID string, force bool) error
	// InspectTask reports a task's status.
	InspectTask(ctx context.Context, taskID string) (*TaskStatus, error)
	// TaskStats streams resource usage every interval.
	TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *TaskResourceUsage, error)
	// SignalTask sends a signal to the task.
	SignalTask(ctx context.Context, taskID string, signal string) error
	// ExecTask runs a command inside the task's environment.
	ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*ExecTaskResult, error)
	// TaskEvents streams driver events about tasks (for example image pulls).
	TaskEvents(ctx context.Context) (<-chan *TaskEvent, error)
}

// Schema describes a config block field by field.
type Schema struct {
	Fields []*SchemaField
}

// Field types of a Schema.
const (
	TypeString    = "string"
	TypeNumber    = "number"
	TypeBool      = "bool"
	TypeListStr   = "list(string)"
	TypeMapStr    = "map(string)"
	TypeMapNumber = "map(number)"
	TypeListMap   = "list(map)"
	TypeBlock     = "block"
	TypeBlockList = "list(block)"
	TypeAny       = "any"
)

// SchemaField is one attribute or nested block.
type SchemaField struct {
	Name     string
	Type     string
	Required bool
	// Fields of a nested block.
	Fields []*SchemaField
	// Unsupported, when set, says why the driver accepts this field but
	// does not act on it; job validate and job run warn when a job sets
	// it. It is not carried over the plugin protocol.
	Unsupported string
}

// Network isolation modes, as listed in Capabilities.NetIsolationModes.
const (
	// NetIsolationModeHost runs the task in the host's network namespace.
	NetIsolationModeHost = "host"
	// NetIsolationModeGroup joins the allocation's shared namespace
	// (TaskConfig.NetworkIsolation).
	NetIsolationModeGroup = "group"
	// NetIsolationModeTask gives the task a namespace of its own.
	NetIsolationModeTask = "task"
)

// Capabilities of a driver.
type Capabilities struct {
	SendSignals bool
	Exec        bool
	FSIsolation string // "none", "chroot", "image"
	// NetIsolationModes lists the NetIsolationMode* values the driver can
	// run tasks in.
	NetIsolationModes []string
	// MustInitiateNetwork says the driver's tasks can only join a group
	// namespace the driver made itself: the client then asks the driver,
	// which must implement NetworkManager, to create it.
	MustInitiateNetwork bool
}

// SupportsNetIsolation reports whether mode is among NetIsolationModes.
func (c *Capabilities) SupportsNetIsolation(mode string) bool {
	if c == nil {
		return false
	}
	for _, m := range c.NetIsolationModes {
		if m == mode {
			return true
		}
	}
	return false
}

// NetworkIsolationSpec names the network namespace a task joins.
type NetworkIsolationSpec struct {
	// Mode is NetIsolationModeGroup.
	Mode string
	// Path is the namespace's file (/var/run/netns/<name>).
	Path string
	// Labels carry what the driver that created the namespace needs to
	// find it again, such as the ID of the container holding it.
	Labels map[string]string
}

// NetworkManager is implemented by drivers that set MustInitiateNetwork.
// The client calls CreateNetwork before any task of the allocation starts
// (and again after its own restart, when the driver must return the
// namespace it made before), then configures the namespace's interfaces
// itself; it calls DestroyNetwork once every task has stopped. Both may be
// called from any goroutine and must honour ctx.
type NetworkManager interface {
	CreateNetwork(ctx context.Context, allocID string) (*NetworkIsolationSpec, error)
	DestroyNetwork(ctx context.Context, allocID string, spec *NetworkIsolationSpec) error
}

// Fingerprint is a driver's health and attributes.
type Fingerprint struct {
	Health            string
	HealthDescription string
	// Attributes are published as node attributes under "driver.<name>.*".
	Attributes map[string]string
}

// TaskConfig is everything a driver needs to start a task.
type TaskConfig struct {
	// ID is unique per task run: "<alloc id>/<task>/<random>".
	ID            string
	JobName       string
	JobID         string
	TaskGroupName string
	Name          string
	Namespace     string
	AllocID       string
	User          string
	// Env is the full, interpolated environment.
	Env map[string]string
	// Resources granted by the scheduler.
	Resources *Resources
	// AllocDir is the host path of the allocation directory.
	AllocDir string
	// TaskDir is the host path of this task's directory inside AllocDir.
	TaskDir string
	// StdoutPath and StderrPath are files the task's output goes to.
	StdoutPath string
	StderrPath string
	// LogMaxFiles and LogMaxFileSizeMB rotate the output files: the path's
	// trailing ".0" counts up at each LogMaxFileSizeMB and only the newest
	// LogMaxFiles are kept. Zero leaves one file that grows without bound.
	LogMaxFiles      int
	LogMaxFileSizeMB int
	// DriverConfig is the task's `config {}` block as JSON, interpolated.
	DriverConfig []byte
	// KillSignal is used by StopTask when none is given.
	KillSignal string
	// NetworkNamespace is the path of the allocation's netns, if any; it
	// equals NetworkIsolation.Path.
	NetworkNamespace string
	// NetworkIsolation is the allocation's shared network namespace, nil
	// in host mode.
	NetworkIsolation *NetworkIsolationSpec
	// Ports maps port labels to host port and container port.
	Ports []PortMapping
}

// PortMapping is one allocated port.
type PortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// Resources granted to a task.
type Resources struct {
	CPUShares   int64
	Cores       []uint16
	MemoryMB    int64
	MemoryMaxMB int64
	DiskMB      int64
}

// TaskHandle is what the client persists to re-attach to a task.
type TaskHandle struct {
	// Version of the driver's state format.
	Version int
	Config  *TaskConfig
	State   string
	// DriverState is opaque to the client.
	DriverState []byte
}

// ExitResult is how a task ended.
type ExitResult struct {
	ExitCode  int
	Signal    int
	OOMKilled bool
	// Err is set when waiting itself failed.
	Err string
}

// Successful reports a zero exit without signal or error.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && r.Err == "" && !r.OOMKilled
}

// TaskStatus is a task's status from InspectTask.
type TaskStatus struct {
	ID          string
	Name        string
	State       string
	StartedAt   time.Time
	CompletedAt time.Time
	ExitResult  *ExitResult
	Attributes  map[string]string
}

// TaskResourceUsage is one sample of a task's usage.
type TaskResourceUsage struct {
	Timestamp      int64
	CPUPercent     float64
	CPUTotalTicks  float64
	CPUUserMode    float64
	CPUSystemMode  float64
	MemoryRSS      uint64
	MemoryCache    uint64
	MemorySwap     uint64
	MemoryUsage    uint64
	MemoryMaxUsage uint64
	Pids           map[string]*TaskResourceUsage
}

// ExecTaskResult is the output of ExecTask.
type ExecTaskResult struct {
	Stdout     []byte
	Stderr     []byte
	ExitResult *ExitResult
}

// TaskEvent is an event a driver raises about a task.
type TaskEvent struct {
	TaskID      string
	AllocID     string
	TaskName    string
	Timestamp   time.Time
	Message     string
	Annotations map[string]string
}
