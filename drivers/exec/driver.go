// Package exec is the exec driver: the task runs isolated on Linux as root
// requires it, in new PID, mount, IPC and UTS namespaces, chrooted into its
// task directory with the host's system directories bind-mounted read-only,
// limited by a cgroup, with a reduced capability set. Like raw_exec it is
// supervised by an executor so it survives a plugin restart.
package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

// Name is the driver's name in job files.
const Name = "exec"

const fingerprintPeriod = 30 * time.Second

// Namespace modes.
const (
	ModePrivate = "private"
	ModeHost    = "host"
)

// DefaultCaps is the capability set a task gets unless it adds or drops
// some; it is also the default allow list.
var DefaultCaps = []string{
	"audit_write", "chown", "dac_override", "fowner", "fsetid", "kill", "mknod",
	"net_bind_service", "setfcap", "setgid", "setpcap", "setuid", "sys_chroot",
}

// DefaultChrootEnv maps host paths to paths in the task's root.
var DefaultChrootEnv = map[string]string{
	"/bin":            "/bin",
	"/etc":            "/etc",
	"/lib":            "/lib",
	"/lib32":          "/lib32",
	"/lib64":          "/lib64",
	"/run/resolvconf": "/run/resolvconf",
	"/sbin":           "/sbin",
	"/usr":            "/usr",
}

// Config is the agent's plugin config.
type Config struct {
	// DefaultPidMode is "private" (default) or "host".
	DefaultPidMode string `json:"default_pid_mode"`
	// DefaultIpcMode is "private" (default) or "host".
	DefaultIpcMode string `json:"default_ipc_mode"`
	// AllowCaps are the capabilities tasks may have; DefaultCaps if empty.
	AllowCaps []string `json:"allow_caps"`
	// ChrootEnv maps host paths to task paths; DefaultChrootEnv if empty.
	ChrootEnv map[string]string `json:"chroot_env"`
}

// TaskConfig is the task's config block.
type TaskConfig struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
	PidMode string   `json:"pid_mode"`
	IpcMode string   `json:"ipc_mode"`
	CapAdd  []string `json:"cap_add"`
	CapDrop []string `json:"cap_drop"`
}

// ConfigSchema is the agent plugin config schema.
func ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "default_pid_mode", Type: drivers.TypeString},
		{Name: "default_ipc_mode", Type: drivers.TypeString},
		{Name: "allow_caps", Type: drivers.TypeListStr},
		{Name: "chroot_env", Type: drivers.TypeMapStr},
	}}
}

// TaskConfigSchema is the task config schema.
func TaskConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "command", Type: drivers.TypeString, Required: true},
		{Name: "args", Type: drivers.TypeListStr},
		{Name: "pid_mode", Type: drivers.TypeString},
		{Name: "ipc_mode", Type: drivers.TypeString},
		{Name: "cap_add", Type: drivers.TypeListStr},
		{Name: "cap_drop", Type: drivers.TypeListStr},
	}}
}

// Driver is the exec driver.
type Driver struct {
	logger hclog.Logger
	tasks  *executor.Tasks

	mu     sync.Mutex
	config Config
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns the driver with the default config.
func New(logger hclog.Logger) *Driver {
	return &Driver{logger: logger.Named(Name), tasks: executor.NewTasks()}
}

func (d *Driver) Name() string                      { return Name }
func (d *Driver) ConfigSchema() *drivers.Schema     { return ConfigSchema() }
func (d *Driver) TaskConfigSchema() *drivers.Schema { return TaskConfigSchema() }

func validMode(m string) bool { return m == "" || m == ModePrivate || m == ModeHost }

// Validate reports every problem in the plugin config.
func (c *Config) Validate() error {
	var errs []error
	if !validMode(c.DefaultPidMode) {
		errs = append(errs, fmt.Errorf("default_pid_mode: %q is not private or host", c.DefaultPidMode))
	}
	if !validMode(c.DefaultIpcMode) {
		errs = append(errs, fmt.Errorf("default_ipc_mode: %q is not private or host", c.DefaultIpcMode))
	}
	for i, c := range c.AllowCaps {
		if !executor.KnownCap(capName(c)) {
			errs = append(errs, fmt.Errorf("allow_caps[%d]: unknown capability %q", i, c))
		}
	}
	return errors.Join(errs...)
}

func (d *Driver) SetConfig(_ context.Context, config []byte) error {
	var c Config
	if len(bytes.TrimSpace(config)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(config))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("exec plugin config: %w", err)
		}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("exec plugin config: %w", err)
	}
	d.mu.Lock()
	d.config = c
	d.mu.Unlock()
	return nil
}

func (d *Driver) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{
		SendSignals:       true,
		Exec:              true,
		FSIsolation:       "chroot",
		NetIsolationModes: []string{"host", "group"},
	}, nil
}

func fingerprint() *drivers.Fingerprint {
	if os.Geteuid() != 0 {
		return &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy, HealthDescription: "exec driver must run as root"}
	}
	if err := executor.CgroupsUsable(); err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy, HealthDescription: "cgroups unusable: " + err.Error()}
	}
	return &drivers.Fingerprint{
		Health:            drivers.HealthStateHealthy,
		HealthDescription: "healthy",
		Attributes:        map[string]string{"driver.exec": "1", "driver.exec.cgroups": executor.CgroupVersion()},
	}
}

// Fingerprint sends the health now and every 30s.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go func() {
		defer close(ch)
		t := time.NewTicker(fingerprintPeriod)
		defer t.Stop()
		for {
			select {
			case ch <- fingerprint():
			case <-ctx.Done():
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, nil
}

func capName(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

// effectiveCaps computes the task's capabilities: the defaults plus
// cap_add minus cap_drop ("all" drops everything), which must lie within
// the allowed set.
func effectiveCaps(allow, add, drop []string) ([]string, error) {
	if len(allow) == 0 {
		allow = DefaultCaps
	}
	allowed := map[string]bool{}
	for _, c := range allow {
		allowed[capName(c)] = true
	}
	set := map[string]bool{}
	for _, c := range DefaultCaps {
		set[capName(c)] = true
	}
	var errs []error
	for i, c := range drop {
		if strings.EqualFold(c, "all") {
			set = map[string]bool{}
			continue
		}
		if !executor.KnownCap(capName(c)) {
			errs = append(errs, fmt.Errorf("config.cap_drop[%d]: unknown capability %q", i, c))
		}
		delete(set, capName(c))
	}
	for i, c := range add {
		if !executor.KnownCap(capName(c)) {
			errs = append(errs, fmt.Errorf("config.cap_add[%d]: unknown capability %q", i, c))
			continue
		}
		set[capName(c)] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		if !allowed[c] {
			errs = append(errs, fmt.Errorf("capability %s is not in the plugin's allow_caps", strings.ToLower(strings.TrimPrefix(c, "CAP_"))))
			continue
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out, errors.Join(errs...)
}

// DecodeTaskConfig parses and checks the task's config block.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	var errs []error
	if tc.Command == "" {
		errs = append(errs, errors.New("config.command is required"))
	}
	if !validMode(tc.PidMode) {
		errs = append(errs, fmt.Errorf("config.pid_mode: %q is not private or host", tc.PidMode))
	}
	if !validMode(tc.IpcMode) {
		errs = append(errs, fmt.Errorf("config.ipc_mode: %q is not private or host", tc.IpcMode))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return &tc, nil
}

// cgroupPath is the task's cgroup, below a nomadish parent in every hierarchy.
func cgroupPath(id string) string {
	return "/nomadish/" + strings.NewReplacer("/", "-", "..", "-").Replace(id)
}

func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if fp := fingerprint(); fp.Health != drivers.HealthStateHealthy {
		return nil, fmt.Errorf("exec driver unavailable: %s", fp.HealthDescription)
	}
	tc, err := DecodeTaskConfig(cfg.DriverConfig)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	pc := d.config
	d.mu.Unlock()
	caps, err := effectiveCaps(pc.AllowCaps, tc.CapAdd, tc.CapDrop)
	if err != nil {
		return nil, err
	}
	pidMode := firstNonEmpty(tc.PidMode, pc.DefaultPidMode, ModePrivate)
	ipcMode := firstNonEmpty(tc.IpcMode, pc.DefaultIpcMode, ModePrivate)
	for _, dir := range []string{cfg.TaskDir, filepath.Join(cfg.TaskDir, "local"), filepath.Join(cfg.TaskDir, "secrets"), filepath.Join(cfg.TaskDir, "tmp")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(filepath.Join(cfg.TaskDir, "tmp"), 0o1777); err != nil {
		return nil, err
	}
	iso := &executor.Isolation{
		Root:             cfg.TaskDir,
		Mounts:           chrootMounts(pc.ChrootEnv, cfg.AllocDir),
		Caps:             caps,
		NetworkNamespace: cfg.NetworkNamespace,
		Cgroup:           cgroupPath(cfg.ID),
		HostPID:          pidMode == ModeHost,
		HostIPC:          ipcMode == ModeHost,
	}
	if r := cfg.Resources; r != nil {
		if r.CPUShares > 0 {
			iso.CPUShares = uint64(max(r.CPUShares, 2))
		}
		iso.MemoryLimit = r.MemoryMB << 20
		if r.MemoryMaxMB > 0 {
			iso.MemoryLimit = r.MemoryMaxMB << 20
			iso.MemoryReservation = r.MemoryMB << 20
		}
	}
	spec := &executor.Spec{
		Path:      tc.Command,
		Args:      tc.Args,
		Env:       rawexec.EnvList(cfg.Env),
		Dir:       "/",
		Isolation: iso,
	}
	if cfg.User != "" {
		if err := rawexec.SetUser(spec, cfg.User); err != nil {
			return nil, err
		}
	}
	h, err := d.tasks.Start(ctx, cfg, spec)
	if err != nil {
		return nil, fmt.Errorf("start task: %w", err)
	}
	d.logger.Debug("started task", "task_id", cfg.ID, "command", tc.Command)
	return h, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// chrootMounts lists the read-only system mounts that exist on this host,
// and the shared alloc dir at /alloc.
func chrootMounts(env map[string]string, allocDir string) []executor.Mount {
	if len(env) == 0 {
		env = DefaultChrootEnv
	}
	srcs := make([]string, 0, len(env))
	for src := range env {
		srcs = append(srcs, src)
	}
	sort.Strings(srcs)
	var out []executor.Mount
	for _, src := range srcs {
		if _, err := os.Stat(src); err != nil {
			continue
		}
		out = append(out, executor.Mount{Source: src, Target: env[src], ReadOnly: true})
	}
	shared := filepath.Join(allocDir, "alloc")
	if _, err := os.Stat(shared); err == nil {
		out = append(out, executor.Mount{Source: shared, Target: "/alloc"})
	}
	return out
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

// ExecTask runs cmd inside the task's namespaces and root with nsenter,
// under the task's capability bounding set and user (through setpriv from
// the task's root, when it has one).
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	cfg, st, err := d.tasks.Config(taskID)
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
	nsenter, err := osexec.LookPath("nsenter")
	if err != nil {
		return nil, fmt.Errorf("exec into task needs nsenter: %w", err)
	}
	pid := strconv.Itoa(st.TaskPID)
	args := []string{"--target", pid, "--mount", "--uts", "--ipc", "--pid", "--root", "--wd"}
	if cfg.NetworkNamespace != "" {
		args = append(args, "--net")
	}
	args = append(args, "--")
	priv, err := d.privArgs(cfg, pid)
	if err != nil {
		return nil, err
	}
	args = append(append(args, priv...), cmd...)
	c := osexec.CommandContext(ctx, nsenter, args...)
	c.Env = rawexec.EnvList(cfg.Env)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	res := rawexec.RunResult(c.Run(), c)
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: res}, nil
}

// setprivPath is where setpriv is looked for inside the task's root.
const setprivPath = "/usr/bin/setpriv"

// privArgs returns the setpriv prefix that gives an exec'd command the
// task's capabilities and user; none if the task's root lacks setpriv.
func (d *Driver) privArgs(cfg *drivers.TaskConfig, pid string) ([]string, error) {
	if _, err := os.Stat(filepath.Join("/proc", pid, "root", setprivPath)); err != nil {
		if cfg.User != "" {
			return nil, fmt.Errorf("exec as user %q needs %s in the task's root", cfg.User, setprivPath)
		}
		return nil, nil
	}
	tc, err := DecodeTaskConfig(cfg.DriverConfig)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	allow := d.config.AllowCaps
	d.mu.Unlock()
	caps, err := effectiveCaps(allow, tc.CapAdd, tc.CapDrop)
	if err != nil {
		return nil, err
	}
	bset := []string{"-all"}
	for _, c := range caps {
		bset = append(bset, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	args := []string{setprivPath, "--bounding-set", strings.Join(bset, ",")}
	if cfg.User != "" {
		spec := &executor.Spec{}
		if err := rawexec.SetUser(spec, cfg.User); err != nil {
			return nil, err
		}
		args = append(args, "--reuid", fmt.Sprint(spec.UID), "--regid", fmt.Sprint(spec.GID), "--init-groups")
	}
	return append(args, "--"), nil
}

// TaskEvents yields nothing for exec; the channel closes with ctx.
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
