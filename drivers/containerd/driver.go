// Package containerd is the containerd driver: each task is a containerd
// container and task in the driver's namespace, run by the runc shim. The
// shim, not the plugin, owns the task and its logging binary (this same
// executable), so tasks and their logs survive a plugin restart.
package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/hashicorp/go-hclog"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/executor"
)

// Name is the driver's name in job files.
const Name = "containerd"

const (
	fingerprintPeriod = 30 * time.Second
	handleVersion     = 1
)

// Defaults of the plugin config.
const (
	DefaultAddress     = "/run/containerd/containerd.sock"
	DefaultNamespace   = "nomadish"
	DefaultSnapshotter = "overlayfs"
)

// Config is the agent's plugin config.
type Config struct {
	Address     string `json:"address"`
	Namespace   string `json:"namespace"`
	Snapshotter string `json:"snapshotter"`
	// Volumes controls mounts of host paths outside the allocation dir.
	Volumes Block[VolumesConfig] `json:"volumes"`
	// AllowPrivileged lets tasks set privileged = true.
	AllowPrivileged bool `json:"allow_privileged"`
}

// TaskConfig is the task's config block.
type TaskConfig struct {
	// Image is the image name, found in the namespace (after importing
	// ImageArchive when set) or pulled.
	Image string `json:"image"`
	// ImageArchive is an OCI or docker (docker save) archive, relative to
	// the task dir, imported into the namespace before the image is looked up.
	ImageArchive string `json:"image_archive"`
	// Entrypoint replaces the image's entrypoint and command.
	Entrypoint []string `json:"entrypoint"`
	Command    string   `json:"command"`
	Args       []string `json:"args"`
	Cwd        string   `json:"cwd"`
	CapAdd     []string `json:"cap_add"`
	CapDrop    []string `json:"cap_drop"`
	// Mounts are added to the alloc dir mounts.
	Mounts []Mount `json:"mounts"`
	// ImagePullTimeout bounds a pull ("5m" when empty).
	ImagePullTimeout string `json:"image_pull_timeout"`
	// Privileged needs allow_privileged in the plugin config.
	Privileged     bool  `json:"privileged"`
	ReadonlyRootfs bool  `json:"readonly_rootfs"`
	PidsLimit      int64 `json:"pids_limit"`
	// PidMode "host" shares the host's pid namespace.
	PidMode string `json:"pid_mode"`
	// FileLimit is the soft and hard RLIMIT_NOFILE.
	FileLimit int64  `json:"file_limit"`
	Hostname  string `json:"hostname"`
	// HostDNS, true when unset, bind mounts the host's resolv.conf.
	HostDNS *bool `json:"host_dns"`
	// ExtraHosts are "name:address" lines added to /etc/hosts.
	ExtraHosts []string `json:"extra_hosts"`
	// Seccomp applies containerd's default seccomp profile, or the OCI
	// profile in SeccompProfile (a path on the client).
	Seccomp        bool   `json:"seccomp"`
	SeccompProfile string `json:"seccomp_profile"`
	// ShmSize is /dev/shm's size, such as "128M".
	ShmSize string    `json:"shm_size"`
	Sysctl  StringMap `json:"sysctl"`
	// HostNetwork asks for the host's network namespace, which is the
	// default outside a group network.
	HostNetwork bool `json:"host_network"`
	// Devices are host device paths made available in the container.
	Devices     []string  `json:"devices"`
	Labels      StringMap `json:"labels"`
	Annotations StringMap `json:"annotations"`
	// Accepted, not acted on (see TaskConfigSchema).
	Auth             Block[Auth] `json:"auth"`
	Runtime          string      `json:"runtime"`
	MemorySwap       string      `json:"memory_swap"`
	MemorySwappiness int64       `json:"memory_swappiness"`
}

// Auth is the task config's auth block.
type Auth struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// ConfigSchema is the agent plugin config schema.
func ConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "address", Type: drivers.TypeString},
		{Name: "namespace", Type: drivers.TypeString},
		{Name: "snapshotter", Type: drivers.TypeString},
		{Name: "volumes", Type: drivers.TypeBlock, Fields: []*drivers.SchemaField{
			{Name: "enabled", Type: drivers.TypeBool},
		}},
		{Name: "allow_privileged", Type: drivers.TypeBool},
	}}
}

// TaskConfigSchema is the task config schema.
func TaskConfigSchema() *drivers.Schema {
	return &drivers.Schema{Fields: []*drivers.SchemaField{
		{Name: "image", Type: drivers.TypeString, Required: true},
		{Name: "image_archive", Type: drivers.TypeString},
		{Name: "entrypoint", Type: drivers.TypeListStr},
		{Name: "command", Type: drivers.TypeString},
		{Name: "args", Type: drivers.TypeListStr},
		{Name: "cwd", Type: drivers.TypeString},
		{Name: "cap_add", Type: drivers.TypeListStr},
		{Name: "cap_drop", Type: drivers.TypeListStr},
		{Name: "mounts", Type: drivers.TypeBlockList, Fields: []*drivers.SchemaField{
			{Name: "type", Type: drivers.TypeString},
			{Name: "source", Type: drivers.TypeString},
			{Name: "target", Type: drivers.TypeString, Required: true},
			{Name: "options", Type: drivers.TypeListStr},
		}},
		{Name: "image_pull_timeout", Type: drivers.TypeString},
		{Name: "privileged", Type: drivers.TypeBool},
		{Name: "readonly_rootfs", Type: drivers.TypeBool},
		{Name: "pids_limit", Type: drivers.TypeNumber},
		{Name: "pid_mode", Type: drivers.TypeString},
		{Name: "file_limit", Type: drivers.TypeNumber},
		{Name: "hostname", Type: drivers.TypeString},
		{Name: "host_dns", Type: drivers.TypeBool},
		{Name: "extra_hosts", Type: drivers.TypeListStr},
		{Name: "seccomp", Type: drivers.TypeBool},
		{Name: "seccomp_profile", Type: drivers.TypeString},
		{Name: "shm_size", Type: drivers.TypeString},
		{Name: "sysctl", Type: drivers.TypeMapStr},
		{Name: "host_network", Type: drivers.TypeBool},
		{Name: "devices", Type: drivers.TypeListStr},
		{Name: "labels", Type: drivers.TypeMapStr},
		{Name: "annotations", Type: drivers.TypeMapStr},
		{Name: "auth", Type: drivers.TypeBlock, Unsupported: "images come from the namespace, image_archive or an anonymous pull", Fields: []*drivers.SchemaField{
			{Name: "username", Type: drivers.TypeString},
			{Name: "password", Type: drivers.TypeString},
		}},
		{Name: "runtime", Type: drivers.TypeString, Unsupported: "tasks always run under runc"},
		{Name: "memory_swap", Type: drivers.TypeString, Unsupported: "swap is capped at the memory limit"},
		{Name: "memory_swappiness", Type: drivers.TypeNumber, Unsupported: "the kernel's swappiness applies"},
	}}
}

// DecodeConfig parses the plugin config.
func DecodeConfig(raw []byte) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("containerd plugin config: %w", err)
		}
	}
	return c, nil
}

// DecodeTaskConfig parses and checks the task's config block.
func DecodeTaskConfig(raw []byte) (*TaskConfig, error) {
	var tc TaskConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tc); err != nil {
		return nil, fmt.Errorf("task config: %w", drivers.ConfigFieldError(err))
	}
	var errs []error
	if tc.Image == "" {
		errs = append(errs, errors.New("config.image is required"))
	}
	errs = append(errs, checkMounts(tc.Mounts)...)
	errs = append(errs, tc.check()...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	return &tc, nil
}

type driverState struct {
	ContainerID string    `json:"container_id"`
	StartedAt   time.Time `json:"started_at"`
	Cgroup      string    `json:"cgroup"`
}

// Driver is the containerd driver.
type Driver struct {
	logger hclog.Logger

	mu     sync.Mutex
	config Config
	cli    *containerd.Client
	tasks  map[string]*task
	events []chan *drivers.TaskEvent
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns the driver; it connects on first use.
func New(logger hclog.Logger) *Driver {
	return &Driver{logger: logger.Named(Name), tasks: map[string]*task{}}
}

func (d *Driver) Name() string                      { return Name }
func (d *Driver) ConfigSchema() *drivers.Schema     { return ConfigSchema() }
func (d *Driver) TaskConfigSchema() *drivers.Schema { return TaskConfigSchema() }

func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Snapshotter == "" {
		c.Snapshotter = DefaultSnapshotter
	}
	return c
}

func (d *Driver) SetConfig(_ context.Context, config []byte) error {
	c, err := DecodeConfig(config)
	if err != nil {
		return err
	}
	d.mu.Lock()
	old := d.cli
	d.config, d.cli = c.withDefaults(), nil
	d.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// client returns the connection and ctx scoped to the driver's namespace.
func (d *Driver) client(ctx context.Context) (*containerd.Client, context.Context, Config, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg := d.config.withDefaults()
	if d.cli == nil {
		cli, err := containerd.New(cfg.Address, containerd.WithDefaultNamespace(cfg.Namespace))
		if err != nil {
			return nil, nil, cfg, fmt.Errorf("connect containerd %s: %w", cfg.Address, err)
		}
		d.cli = cli
	}
	return d.cli, namespaces.WithNamespace(ctx, cfg.Namespace), cfg, nil
}

func (d *Driver) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{
		SendSignals:       true,
		Exec:              true,
		FSIsolation:       "image",
		NetIsolationModes: []string{"host", "group"},
	}, nil
}

func (d *Driver) fingerprint(ctx context.Context) *drivers.Fingerprint {
	d.mu.Lock()
	address := d.config.withDefaults().Address
	d.mu.Unlock()
	// A missing socket is the common case on hosts without containerd;
	// say so at once instead of waiting for a connection.
	if path := strings.TrimPrefix(address, "unix://"); filepath.IsAbs(path) {
		if _, err := os.Stat(path); err != nil {
			return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: "containerd socket: " + err.Error()}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cli, ctx, _, err := d.client(ctx)
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: err.Error()}
	}
	v, err := cli.Version(ctx)
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy, HealthDescription: "containerd unreachable: " + err.Error()}
	}
	return &drivers.Fingerprint{
		Health:            drivers.HealthStateHealthy,
		HealthDescription: "healthy",
		Attributes:        map[string]string{"driver.containerd": "1", "driver.containerd.version": v.Version},
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
			case ch <- d.fingerprint(ctx):
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

// containerID makes a containerd ID from the task ID.
func containerID(taskID string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, taskID)
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (d *Driver) image(ctx context.Context, cli *containerd.Client, cfg *drivers.TaskConfig, tc *TaskConfig, pc Config) (containerd.Image, error) {
	ref, snapshotter := tc.Image, pc.Snapshotter
	if tc.ImageArchive != "" {
		path, err := hostPath(cfg, tc.ImageArchive, pc.Volumes.V.Enabled)
		if err != nil {
			return nil, fmt.Errorf("config.image_archive: %w", err)
		}
		// An image already imported is used as it is: importing the
		// archive on every start and restart would read it whole.
		if img, err := lookupImage(ctx, cli, ref); err == nil {
			return unpacked(ctx, img, snapshotter)
		} else if !cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		d.emit(cfg, "Importing image archive", map[string]string{"image": ref, "image_archive": tc.ImageArchive})
		names, err := importArchive(ctx, cli, path)
		if err != nil {
			return nil, err
		}
		img, err := lookupImage(ctx, cli, ref)
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("image %s is not in image_archive %s, which holds %s", ref, tc.ImageArchive, strings.Join(names, ", "))
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
		return unpacked(ctx, img, snapshotter)
	}
	img, err := lookupImage(ctx, cli, ref)
	if cerrdefs.IsNotFound(err) {
		d.emit(cfg, "Downloading image", map[string]string{"image": ref})
		timeout, _ := tc.imagePullTimeout()
		pctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("image_pull_timeout %v reached", timeout))
		img, err = cli.Pull(pctx, ref, containerd.WithPullUnpack, containerd.WithPullSnapshotter(snapshotter))
		if cause := context.Cause(pctx); err != nil && cause != nil && pctx.Err() != nil {
			err = cause
		}
		cancel()
	}
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return unpacked(ctx, img, snapshotter)
}

// unpacked unpacks img into the snapshotter unless it already is.
func unpacked(ctx context.Context, img containerd.Image, snapshotter string) (containerd.Image, error) {
	ref := img.Name()
	ok, err := img.IsUnpacked(ctx, snapshotter)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if !ok {
		if err := img.Unpack(ctx, snapshotter); err != nil {
			return nil, fmt.Errorf("unpack image %s: %w", ref, err)
		}
	}
	return img, nil
}

func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	tc, err := DecodeTaskConfig(cfg.DriverConfig)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	_, dup := d.tasks[cfg.ID]
	d.mu.Unlock()
	if dup {
		return nil, fmt.Errorf("task %s already started", cfg.ID)
	}
	cli, ctx, pc, err := d.client(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkGates(cfg, tc, pc); err != nil {
		d.emit(cfg, "Failed to create container: "+err.Error(), nil)
		return nil, err
	}
	img, err := d.image(ctx, cli, cfg, tc, pc)
	if err != nil {
		d.emit(cfg, "Failed to prepare image: "+err.Error(), map[string]string{"image": tc.Image})
		return nil, err
	}
	extra, err := userMounts(cfg, tc.Mounts, pc.Volumes.V.Enabled)
	if err != nil {
		d.emit(cfg, "Failed to create container: "+err.Error(), nil)
		return nil, err
	}
	id := containerID(cfg.ID)
	cgroup := "/" + pc.Namespace + "/" + id
	hosts, err := hostsOpt(cfg, tc.ExtraHosts)
	if err != nil {
		d.emit(cfg, "Failed to create container: "+err.Error(), nil)
		return nil, err
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithEnv(envList(cfg.Env)),
		oci.WithHostNamespace(specs.NetworkNamespace),
		hosts,
		oci.WithMounts(append(taskMounts(cfg), extra...)),
		withCgroupsPath(cgroup),
	}
	if tc.HostDNS == nil || *tc.HostDNS {
		opts = append(opts, oci.WithHostResolvconf)
	}
	if argv := processArgs(tc); argv != nil {
		opts = append(opts, oci.WithProcessArgs(argv...))
	} else if len(tc.Args) > 0 {
		opts = append(opts, oci.WithImageConfigArgs(img, tc.Args))
	}
	if tc.Cwd != "" {
		opts = append(opts, oci.WithProcessCwd(tc.Cwd))
	}
	if cfg.NetworkNamespace != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: cfg.NetworkNamespace}))
	}
	if cfg.User != "" {
		opts = append(opts, oci.WithUser(cfg.User))
	}
	opts = append(opts, securityOpts(tc)...)
	if r := cfg.Resources; r != nil {
		if r.CPUShares > 0 {
			opts = append(opts, oci.WithCPUShares(uint64(r.CPUShares)))
		}
		limit := r.MemoryMB << 20
		if r.MemoryMaxMB > 0 {
			limit = r.MemoryMaxMB << 20
		}
		if limit > 0 {
			opts = append(opts, oci.WithMemoryLimit(uint64(limit)), withMemorySwap(limit))
		}
	}
	opts = append(opts, limitOpts(tc)...)
	labels := map[string]string{}
	for k, v := range tc.Labels {
		labels[k] = v
	}
	labels["io.nomadish.task_id"], labels["io.nomadish.alloc_id"] = cfg.ID, cfg.AllocID
	c, err := cli.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(pc.Snapshotter),
		containerd.WithNewSnapshot(id+"-snapshot", img),
		containerd.WithNewSpec(opts...),
		containerd.WithContainerLabels(labels),
	)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	fail := func(err error) (*drivers.TaskHandle, error) {
		return nil, errors.Join(err, c.Delete(ctx, containerd.WithSnapshotCleanup))
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	for _, p := range []string{cfg.StdoutPath, cfg.StderrPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
	}
	ct, err := c.NewTask(ctx, cio.BinaryIO(self, map[string]string{loggerArg: "1", "stdout": cfg.StdoutPath, "stderr": cfg.StderrPath}))
	if err != nil {
		return fail(fmt.Errorf("create task: %w", err))
	}
	t := newTask(cli, pc.Namespace, cfg, driverState{ContainerID: id, Cgroup: cgroup}, ct)
	// Taken before Start: a quick task can exit, and containerd stamp its
	// exit, before Start returns.
	startedAt := time.Now()
	if err := ct.Start(ctx); err != nil {
		t.close()
		_, derr := ct.Delete(ctx, containerd.WithProcessKill)
		return fail(errors.Join(fmt.Errorf("start task: %w", err), derr))
	}
	t.state.StartedAt = startedAt
	raw, err := json.Marshal(t.state)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	return &drivers.TaskHandle{Version: handleVersion, Config: cfg, State: drivers.TaskStateRunning, DriverState: raw}, nil
}

func capNames(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		c = strings.ToUpper(c)
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

func taskMounts(cfg *drivers.TaskConfig) []specs.Mount {
	binds := []struct{ src, dst string }{
		{filepath.Join(cfg.AllocDir, "alloc"), "/alloc"},
		{filepath.Join(cfg.TaskDir, "local"), "/local"},
		{filepath.Join(cfg.TaskDir, "secrets"), "/secrets"},
	}
	var out []specs.Mount
	for _, b := range binds {
		if err := os.MkdirAll(b.src, 0o777); err != nil {
			continue
		}
		out = append(out, specs.Mount{Source: b.src, Destination: b.dst, Type: "bind", Options: []string{"rbind", "rw"}})
	}
	return out
}

func withCgroupsPath(p string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.CgroupsPath = p
		return nil
	}
}

// withMemorySwap sets memory+swap to the memory limit, so the task cannot
// swap past it.
func withMemorySwap(limit int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if swapAccounting() {
			s.Linux.Resources.Memory.Swap = &limit
		}
		return nil
	}
}

func (d *Driver) RecoverTask(ctx context.Context, handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return errors.New("recover task: handle without config")
	}
	if handle.Version != handleVersion {
		return fmt.Errorf("recover task: handle version %d, want %d", handle.Version, handleVersion)
	}
	d.mu.Lock()
	_, known := d.tasks[handle.Config.ID]
	d.mu.Unlock()
	if known {
		return nil
	}
	var st driverState
	if err := json.Unmarshal(handle.DriverState, &st); err != nil {
		return fmt.Errorf("recover task: decode driver state: %w", err)
	}
	cli, ctx, pc, err := d.client(ctx)
	if err != nil {
		return err
	}
	c, err := cli.LoadContainer(ctx, st.ContainerID)
	if err != nil {
		return fmt.Errorf("recover task: load container %s: %w", st.ContainerID, err)
	}
	ct, err := c.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("recover task: load task %s: %w", st.ContainerID, err)
	}
	t := newTask(cli, pc.Namespace, handle.Config, st, ct)
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tasks[handle.Config.ID]; ok {
		t.close()
		return nil
	}
	d.tasks[handle.Config.ID] = t
	return nil
}

func (d *Driver) get(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", drivers.ErrTaskNotFound, id)
	}
	return t, nil
}

func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	return drivers.WaitChannel(ctx, t.done, t.closed, func() *drivers.ExitResult {
		res, _ := t.exit()
		return res
	}), nil
}

// StopTask sends the signal to the task's init, waits up to timeout, then
// kills every process of the container.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = t.cfg.KillSignal
	}
	if signal == "" {
		signal = executor.DefaultKillSignal
	}
	sig, err := executor.ParseSignal(signal)
	if err != nil {
		return err
	}
	nctx := namespaces.WithNamespace(ctx, t.ns)
	if err := t.ct.Kill(nctx, sig); err != nil && !cerrdefs.IsNotFound(err) && t.running() {
		return fmt.Errorf("signal task: %w", err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	if err := t.ct.Kill(nctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !cerrdefs.IsNotFound(err) && t.running() {
		return fmt.Errorf("kill task: %w", err)
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	if t.running() && !force {
		return fmt.Errorf("task %s is still running", taskID)
	}
	nctx := namespaces.WithNamespace(ctx, t.ns)
	if _, err := t.ct.Delete(nctx, containerd.WithProcessKill); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("delete task: %w", err)
	}
	t.close()
	if c, err := t.cli.LoadContainer(nctx, t.state.ContainerID); err == nil {
		if err := c.Delete(nctx, containerd.WithSnapshotCleanup); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("delete container: %w", err)
		}
	}
	d.mu.Lock()
	delete(d.tasks, taskID)
	d.mu.Unlock()
	return nil
}

func (d *Driver) InspectTask(_ context.Context, taskID string) (*drivers.TaskStatus, error) {
	t, err := d.get(taskID)
	if err != nil {
		return nil, err
	}
	st := &drivers.TaskStatus{
		ID:         t.cfg.ID,
		Name:       t.cfg.Name,
		State:      drivers.TaskStateRunning,
		StartedAt:  t.state.StartedAt,
		Attributes: map[string]string{"container_id": t.state.ContainerID},
	}
	if res, at := t.exit(); res != nil {
		st.State, st.ExitResult, st.CompletedAt = drivers.TaskStateExited, res, at
	}
	return st, nil
}

func (d *Driver) SignalTask(ctx context.Context, taskID string, signal string) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	sig, err := executor.ParseSignal(signal)
	if err != nil {
		return err
	}
	if err := t.ct.Kill(namespaces.WithNamespace(ctx, t.ns), sig); err != nil {
		return fmt.Errorf("signal task: %w", err)
	}
	return nil
}

func (d *Driver) emit(cfg *drivers.TaskConfig, msg string, ann map[string]string) {
	ev := &drivers.TaskEvent{TaskID: cfg.ID, AllocID: cfg.AllocID, TaskName: cfg.Name, Timestamp: time.Now(), Message: msg, Annotations: ann}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ch := range d.events {
		select {
		case ch <- ev:
		default:
		}
	}
}

// TaskEvents streams image pulls until ctx is done.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	in := make(chan *drivers.TaskEvent, 16)
	out := make(chan *drivers.TaskEvent)
	d.mu.Lock()
	d.events = append(d.events, in)
	d.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			d.mu.Lock()
			for i, ch := range d.events {
				if ch == in {
					d.events = append(d.events[:i], d.events[i+1:]...)
					break
				}
			}
			d.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-in:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Shutdown stops watching tasks; they keep running under their shims.
func (d *Driver) Shutdown() {
	d.mu.Lock()
	tasks := d.tasks
	d.tasks = map[string]*task{}
	cli := d.cli
	d.cli = nil
	d.mu.Unlock()
	for _, t := range tasks {
		t.close()
	}
	if cli != nil {
		cli.Close()
	}
}
