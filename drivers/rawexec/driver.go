// Package rawexec is the raw_exec driver: the task is a plain process
// group on the host, without isolation, supervised by an executor so it
// survives a plugin restart. It is disabled unless the agent enables it.
package rawexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "raw_exec"

// fingerprintPeriod is how often an unchanged fingerprint is resent.
const fingerprintPeriod = 30 * time.Second

// Config is the agent's plugin config.
type Config struct {
	// Enabled turns the driver on; it is off by default.
	Enabled bool `json:"enabled"`
}

// TaskConfig is the task's config block.
type TaskConfig struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
}

// ConfigSchema is the agent plugin config schema.
func ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "enabled", Type: drivers.TypeBool},
	}}
}

// TaskConfigSchema is the task config schema.
func TaskConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "command", Type: drivers.TypeString, Required: true},
		{Name: "args", Type: drivers.TypeListStr},
	}}
}

// Driver is the raw_exec driver.
type Driver struct {
	logger hclog.Logger
	tasks  *executor.Tasks

	mu      sync.Mutex
	config  Config
	changed chan struct{} // closed and replaced on every SetConfig
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns a disabled driver.
func New(logger hclog.Logger) *Driver {
	return &Driver{logger: logger.Named(Name), tasks: executor.NewTasks(), changed: make(chan struct{})}
}

func (d *Driver) Name() string                      { return Name }
func (d *Driver) ConfigSchema() *drivers.Schema     { return ConfigSchema() }
func (d *Driver) TaskConfigSchema() *drivers.Schema { return TaskConfigSchema() }

func (d *Driver) SetConfig(_ context.Context, config []byte) error {
	var c Config
	if len(bytes.TrimSpace(config)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("raw_exec plugin config: %w", err)
		}
	}
	d.mu.Lock()
	d.config = c
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
	return nil
}

func (d *Driver) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{
		SendSignals:       true,
		Exec:              true,
		FSIsolation:       "none",
		NetIsolationModes: []string{drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup},
	}, nil
}

func (d *Driver) fingerprint() (*drivers.Fingerprint, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.config.Enabled {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "disabled"}, d.changed
	}
	return &drivers.Fingerprint{
		Health:            drivers.HealthStateHealthy,
		HealthDescription: "healthy",
		Attributes:        map[string]string{"driver.raw_exec": "1"},
	}, d.changed
}

// Fingerprint sends the health now, on every config change, and every 30s.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go func() {
		defer close(ch)
		t := time.NewTicker(fingerprintPeriod)
		defer t.Stop()
		for {
			fp, changed := d.fingerprint()
			select {
			case ch <- fp:
			case <-ctx.Done():
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-t.C:
			}
		}
	}()
	return ch, nil
}

// DecodeTaskConfig parses and checks the task's config block.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	if tc.Command == "" {
		return nil, errors.New("task config: config.command is required")
	}
	return &tc, nil
}

func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	d.mu.Lock()
	enabled := d.config.Enabled
	d.mu.Unlock()
	if !enabled {
		return nil, errors.New("raw_exec is disabled; enable it in the agent's plugin config")
	}
	tc, err := DecodeTaskConfig(cfg.DriverConfig)
	if err != nil {
		return nil, err
	}
	env := EnvList(cfg.Env)
	path, err := LookPath(tc.Command, cfg.TaskDir, cfg.Env["PATH"])
	if err != nil {
		return nil, err
	}
	spec := &executor.Spec{Path: path, Args: tc.Args, Env: env, Dir: cfg.TaskDir, NetworkNamespace: cfg.NetworkNamespace}
	if cfg.User != "" {
		if err := SetUser(spec, cfg.User); err != nil {
			return nil, err
		}
	}
	h, err := d.tasks.Start(ctx, cfg, spec)
	if err != nil {
		return nil, fmt.Errorf("start task: %w", err)
	}
	d.logger.Debug("started task", "task_id", cfg.ID, "command", path)
	return h, nil
}

func (d *Driver) RecoverTask(_ context.Context, handle *drivers.TaskHandle) error {
	return d.tasks.Recover(handle)
}

func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	return d.tasks.Wait(ctx, taskID)
}

func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	return d.tasks.Stop(ctx, taskID, timeout, signal)
}

func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	return d.tasks.Destroy(ctx, taskID, force)
}

func (d *Driver) InspectTask(_ context.Context, taskID string) (*drivers.TaskStatus, error) {
	return d.tasks.Inspect(taskID)
}

func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	return d.tasks.Stats(ctx, taskID, interval)
}

func (d *Driver) SignalTask(_ context.Context, taskID string, signal string) error {
	return d.tasks.Signal(taskID, signal)
}

// ExecTask runs cmd on the host with the task's environment, directory and user.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	cfg, _, err := d.tasks.Config(taskID)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("exec: empty command")
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	path, err := LookPath(cmd[0], cfg.TaskDir, cfg.Env["PATH"])
	if err != nil {
		return nil, err
	}
	c := exec.CommandContext(ctx, path, cmd[1:]...)
	c.Env = EnvList(cfg.Env)
	c.Dir = cfg.TaskDir
	if cfg.User != "" {
		spec := &executor.Spec{}
		if err := SetUser(spec, cfg.User); err != nil {
			return nil, err
		}
		c.SysProcAttr = credential(spec)
	}
	if err := inNetns(c, cfg.NetworkNamespace); err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	res := RunResult(c.Run(), c)
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: res}, nil
}

// TaskEvents yields nothing for raw_exec; the channel closes with ctx.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	ch := make(chan *drivers.TaskEvent)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// Shutdown stops watching tasks; the tasks keep running.
func (d *Driver) Shutdown() { d.tasks.Close() }

// EnvList turns the env map into sorted KEY=VALUE pairs.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// LookPath resolves a command: relative paths against the task dir, bare
// names against the task's PATH (or the host's default).
func LookPath(cmd, taskDir, pathEnv string) (string, error) {
	if strings.Contains(cmd, "/") {
		p := cmd
		if !filepath.IsAbs(p) {
			p = filepath.Join(taskDir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("command %s: %w", cmd, err)
		}
		return p, nil
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(taskDir, dir)
		}
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q: %w", cmd, exec.ErrNotFound)
}

// SetUser resolves a user name or uid into spec's credentials.
func SetUser(spec *executor.Spec, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	spec.RunAsUser, spec.UID, spec.GID = true, uint32(uid), uint32(gid)
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			spec.Groups = append(spec.Groups, uint32(n))
		}
	}
	return nil
}
