package executor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Environment variables that turn the current binary into a helper process.
const (
	// EnvExecutor holds the state directory of the task to supervise.
	EnvExecutor = "NOMADISH_EXECUTOR"
	// EnvInit holds the state directory of an isolated task whose init this is.
	EnvInit = "NOMADISH_EXEC_INIT"
)

// Files in the state directory.
const (
	specFile = "spec.json"
	exitFile = "exit.json"
	logFile  = "executor.log"
)

// Spec is what the executor needs to start one task.
type Spec struct {
	// Path of the command, already resolved; inside Isolation.Root if isolated.
	Path string
	// Args after the command name.
	Args []string
	// Env as KEY=VALUE pairs.
	Env []string
	// Dir is the working directory (inside Isolation.Root if isolated).
	Dir string
	// UID, GID and Groups to run as; RunAsUser false keeps the executor's.
	RunAsUser bool
	UID       uint32
	GID       uint32
	Groups    []uint32
	// Isolation is nil for a plain process group.
	Isolation *Isolation
	// NetworkNamespace is a netns path a plain task (without Isolation)
	// starts in, if any.
	NetworkNamespace string `json:",omitempty"`
	// Logs, when set, has the executor pipe and rotate the task's output;
	// otherwise the task writes to the files the plugin opened.
	Logs *LogSpec `json:",omitempty"`
}

// Isolation describes the exec driver's namespaces, chroot and cgroup.
type Isolation struct {
	// Root is the host directory that becomes the task's root.
	Root string
	// Mounts are bind mounts made inside Root.
	Mounts []Mount
	// Caps are the capability names ("CAP_CHOWN") the task may keep.
	Caps []string
	// HostPID and HostIPC share the host's pid or ipc namespace.
	HostPID bool
	HostIPC bool
	// NetworkNamespace is a netns path to join, if any.
	NetworkNamespace string
	// Cgroup is the cgroup path relative to each hierarchy's root.
	Cgroup string
	// CPUShares is the cpu weight; zero leaves the default.
	CPUShares uint64
	// MemoryLimit is the hard limit in bytes; zero means none.
	MemoryLimit int64
	// MemoryReservation is the soft limit in bytes; zero means none.
	MemoryReservation int64
}

// Mount is one bind mount.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// exitRecord is what the executor writes when the task ends.
type exitRecord struct {
	ExitCode    int       `json:"exit_code"`
	Signal      int       `json:"signal"`
	OOMKilled   bool      `json:"oom_killed"`
	Err         string    `json:"err,omitempty"`
	CompletedAt time.Time `json:"completed_at"`
}

// startReport is what the executor sends the plugin once the task runs.
type startReport struct {
	TaskPID   int       `json:"task_pid"`
	StartedAt time.Time `json:"started_at"`
	Err       string    `json:"err,omitempty"`
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", filepath.Base(path), err)
	}
	return nil
}
