// Package allocdir builds an allocation's directory tree the way Nomad lays
// it out:
//
//	<root>/<alloc id>/alloc/{data,logs,tmp}      shared by the group's tasks
//	<root>/<alloc id>/<task>/{local,secrets,tmp} one per task
package allocdir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Names of the directories inside an allocation directory.
const (
	SharedAllocName = "alloc"
	SharedDataDir   = "data"
	LogDirName      = "logs"
	TmpDirName      = "tmp"
	TaskLocal       = "local"
	TaskSecrets     = "secrets"
)

// AllocDir is the host layout of one allocation's directory.
type AllocDir struct {
	// AllocDir is <root>/<alloc id>.
	AllocDir string
	// SharedDir is <alloc dir>/alloc, exported to tasks as NOMAD_ALLOC_DIR.
	SharedDir string
	// LogDir is <alloc dir>/alloc/logs.
	LogDir string
}

// TaskDir is the host layout of one task's directory.
type TaskDir struct {
	// Dir is <alloc dir>/<task>.
	Dir string
	// LocalDir is exported to the task as NOMAD_TASK_DIR.
	LocalDir string
	// SecretsDir is exported to the task as NOMAD_SECRETS_DIR.
	SecretsDir string
	// TmpDir is the task's scratch space.
	TmpDir string
}

// New returns the layout of allocation allocID under root without touching
// the disk.
func New(root, allocID string) *AllocDir {
	d := filepath.Join(root, allocID)
	shared := filepath.Join(d, SharedAllocName)
	return &AllocDir{AllocDir: d, SharedDir: shared, LogDir: filepath.Join(shared, LogDirName)}
}

// TaskDir returns the layout of a task's directory.
func (d *AllocDir) TaskDir(task string) *TaskDir {
	dir := filepath.Join(d.AllocDir, task)
	return &TaskDir{
		Dir:        dir,
		LocalDir:   filepath.Join(dir, TaskLocal),
		SecretsDir: filepath.Join(dir, TaskSecrets),
		TmpDir:     filepath.Join(dir, TmpDirName),
	}
}

// LogPath returns the path of a task's log file: "<task>.<stdout|stderr>.<n>".
func (d *AllocDir) LogPath(task, logType string, n int) string {
	return filepath.Join(d.LogDir, fmt.Sprintf("%s.%s.%d", task, logType, n))
}

// Build creates the shared directories and one directory per task. It is
// idempotent, so a restored allocation may call it again.
func (d *AllocDir) Build(tasks []string) error {
	dirs := []struct {
		path string
		mode os.FileMode
	}{
		{d.AllocDir, 0o755},
		{d.SharedDir, 0o755},
		{filepath.Join(d.SharedDir, SharedDataDir), 0o777},
		{d.LogDir, 0o777},
		{filepath.Join(d.SharedDir, TmpDirName), 0o777 | os.ModeSticky},
	}
	for _, t := range tasks {
		td := d.TaskDir(t)
		dirs = append(dirs,
			struct {
				path string
				mode os.FileMode
			}{td.Dir, 0o755},
			struct {
				path string
				mode os.FileMode
			}{td.LocalDir, 0o777},
			struct {
				path string
				mode os.FileMode
			}{td.SecretsDir, 0o700},
			struct {
				path string
				mode os.FileMode
			}{td.TmpDir, 0o777 | os.ModeSticky},
		)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir.path, 0o755); err != nil {
			return fmt.Errorf("create alloc dir: %w", err)
		}
		// MkdirAll applies the umask; set the intended mode explicitly.
		if err := os.Chmod(dir.path, dir.mode); err != nil {
			return fmt.Errorf("chmod alloc dir: %w", err)
		}
	}
	return nil
}

// Destroy removes the allocation directory and everything in it.
func (d *AllocDir) Destroy() error {
	if err := os.RemoveAll(d.AllocDir); err != nil {
		return fmt.Errorf("remove alloc dir: %w", err)
	}
	return nil
}
