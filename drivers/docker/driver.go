package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/hashicorp/go-hclog"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
)

const (
	fingerprintPeriod = 30 * time.Second
	handleVersion     = 1
	// logDrainTimeout bounds how long an exit waits for the log copier.
	logDrainTimeout = 5 * time.Second
)

// Labels set on every container.
const (
	LabelTaskID  = "io.nomadish.task_id"
	LabelAllocID = "io.nomadish.alloc_id"
	LabelTask    = "io.nomadish.task_name"
)

// driverState is the handle's DriverState.
type driverState struct {
	ContainerID string      `json:"container_id"`
	ImageID     string      `json:"image_id"`
	StartedAt   time.Time   `json:"started_at"`
	Logger      loggerState `json:"logger"`
}

// Driver is the docker driver.
type Driver struct {
	logger hclog.Logger
	events *broadcaster

	mu     sync.Mutex
	config Config
	cli    *client.Client
	tasks  map[string]*task
	// pauseMu serializes building the pause image.
	pauseMu sync.Mutex
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns the driver; it connects on first use.
func New(logger hclog.Logger) *Driver {
	return &Driver{logger: logger.Named(Name), events: newBroadcaster(), tasks: map[string]*task{}}
}

func newClient(endpoint string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if endpoint != "" {
		opts = append(opts, client.WithHost(endpoint))
	}
	return client.New(opts...)
}

func (d *Driver) Name() string                      { return Name }
func (d *Driver) ConfigSchema() *drivers.Schema     { return ConfigSchema() }
func (d *Driver) TaskConfigSchema() *drivers.Schema { return TaskConfigSchema() }

func (d *Driver) SetConfig(_ context.Context, config []byte) error {
	c, err := DecodeConfig(config)
	if err != nil {
		return err
	}
	cli, err := newClient(c.Endpoint)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	d.mu.Lock()
	old := d.cli
	d.config, d.cli = c, cli
	d.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (d *Driver) pluginConfig() Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.config
}

func (d *Driver) client() (*client.Client, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cli == nil {
		cli, err := newClient(d.config.Endpoint)
		if err != nil {
			return nil, "", fmt.Errorf("docker client: %w", err)
		}
		d.cli = cli
	}
	return d.cli, d.cli.DaemonHost(), nil
}

func (d *Driver) Capabilities(context.Context) (*drivers.Capabilities, error) {
	return &drivers.Capabilities{
		SendSignals:       true,
		Exec:              true,
		FSIsolation:       "image",
		NetIsolationModes: []string{drivers.NetIsolationModeHost, drivers.NetIsolationModeGroup, drivers.NetIsolationModeTask},
		// The Engine joins only another container's namespace: a group's
		// is made by CreateNetwork.
		MustInitiateNetwork: true,
	}, nil
}

func (d *Driver) fingerprint(ctx context.Context) *drivers.Fingerprint {
	cli, _, err := d.client()
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy, HealthDescription: "docker engine unreachable: " + err.Error()}
	}
	return &drivers.Fingerprint{
		Health:            drivers.HealthStateHealthy,
		HealthDescription: "healthy",
		Attributes: map[string]string{
			"driver.docker":         "1",
			"driver.docker.version": v.Version,
			"driver.docker.api":     v.APIVersion,
		},
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

func (d *Driver) emit(cfg *drivers.TaskConfig, msg string, ann map[string]string) {
	d.events.publish(&drivers.TaskEvent{
		TaskID: cfg.ID, AllocID: cfg.AllocID, TaskName: cfg.Name,
		Timestamp: time.Now(), Message: msg, Annotations: ann,
	})
}

// ensureImage returns the image's ID, pulling it when absent or forced.
// A failure is also published as a task event.
func (d *Driver) ensureImage(ctx context.Context, cli *client.Client, cfg *drivers.TaskConfig, tc *TaskConfig) (string, error) {
	// An image already present is used as it is unless force_pull is set:
	// loading the archive on every start and restart would read it whole.
	if !tc.ForcePull {
		if img, err := cli.ImageInspect(ctx, tc.Image); err == nil {
			return img.ID, nil
		} else if !cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("inspect image %s: %w", tc.Image, err)
		}
	}
	if tc.Load != "" {
		d.emit(cfg, "Loading image archive", map[string]string{"image": tc.Image, "load": tc.Load})
		if err := loadImage(ctx, cli, cfg, tc); err != nil {
			d.emit(cfg, "Failed to load image: "+err.Error(), map[string]string{"image": tc.Image})
			return "", err
		}
		img, err := cli.ImageInspect(ctx, tc.Image)
		if err != nil {
			err = fmt.Errorf("image %s is not in config.load %s: %w", tc.Image, tc.Load, err)
			d.emit(cfg, "Failed to load image: "+err.Error(), map[string]string{"image": tc.Image})
			return "", err
		}
		return img.ID, nil
	}
	d.emit(cfg, "Downloading image", map[string]string{"image": tc.Image})
	if err := d.pull(ctx, cli, tc); err != nil {
		d.emit(cfg, "Failed to pull image: "+err.Error(), map[string]string{"image": tc.Image})
		return "", err
	}
	img, err := cli.ImageInspect(ctx, tc.Image)
	if err != nil {
		return "", fmt.Errorf("inspect pulled image %s: %w", tc.Image, err)
	}
	return img.ID, nil
}

// pull pulls the image, giving up after image_pull_timeout in all or
// pull_activity_timeout without a progress message.
func (d *Driver) pull(ctx context.Context, cli *client.Client, tc *TaskConfig) error {
	total, err := tc.imagePullTimeout()
	if err != nil {
		return err
	}
	idle, err := d.pluginConfig().pullActivityTimeout()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, total, fmt.Errorf("image_pull_timeout %v reached", total))
	defer cancel()
	ctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	activity := time.AfterFunc(idle, func() { stall(fmt.Errorf("no pull progress for pull_activity_timeout %v", idle)) })
	defer activity.Stop()
	fail := func(err error) error {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		return fmt.Errorf("pull image %s: %w", tc.Image, err)
	}
	auth, err := registryAuth(tc.Auth.V)
	if err != nil {
		return fail(err)
	}
	resp, err := cli.ImagePull(ctx, tc.Image, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return fail(err)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fail(err)
		}
		if msg.Error != nil {
			return fail(errors.New(msg.Error.Message))
		}
		activity.Reset(idle)
	}
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	return nil
}

func containerName(cfg *drivers.TaskConfig) string {
	n := cfg.Name + "-" + cfg.AllocID
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, n)
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ErrPrivilegedDisabled is returned for a privileged task when the plugin
// config does not set allow_privileged.
var ErrPrivilegedDisabled = errors.New("privileged containers are disabled on this client: set allow_privileged = true in the docker plugin config")

// ErrVolumesDisabled is returned for a host path or named volume when the
// plugin config does not enable volumes.
var ErrVolumesDisabled = errors.New("volumes are disabled on this client: set volumes { enabled = true } in the docker plugin config")

// hostPath resolves a bind source: relative to the task dir; outside the
// allocation dir only when volumes are enabled, as in Nomad.
func hostPath(allocDir, taskDir, src string, enabled bool) (string, error) {
	p := filepath.Clean(src)
	if !filepath.IsAbs(p) {
		p = filepath.Join(taskDir, src)
	}
	if enabled {
		return p, nil
	}
	if rel, err := filepath.Rel(allocDir, p); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("host path %s is outside the allocation dir: %w", src, ErrVolumesDisabled)
	}
	return p, nil
}

// userMounts turns volumes and mount blocks into binds and mounts.
func userMounts(cfg *drivers.TaskConfig, tc *TaskConfig, pc Config) ([]string, []mount.Mount, error) {
	enabled := pc.Volumes.V.Enabled
	var binds []string
	var errs []error
	if tc.VolumeDriver != "" && !enabled {
		errs = append(errs, fmt.Errorf("config.volume_driver %s: %w", tc.VolumeDriver, ErrVolumesDisabled))
	}
	for i, s := range tc.Volumes {
		v, err := parseVolume(s)
		if err == nil && tc.VolumeDriver == "" {
			// With a volume driver the source is a volume name.
			v.Source, err = hostPath(cfg.AllocDir, cfg.TaskDir, v.Source, enabled)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("config.volumes[%d]: %w", i, err))
			continue
		}
		b := v.Source + ":" + v.Target
		if v.Options != "" {
			b += ":" + v.Options
		}
		binds = append(binds, b)
	}
	var mounts []mount.Mount
	for _, list := range []struct {
		name string
		ms   BlockList[Mount]
	}{{"mount", tc.Mounts}, {"mounts", tc.MountsList}} {
		for i, m := range list.ms {
			dm, err := engineMount(cfg, m, enabled)
			if err != nil {
				errs = append(errs, fmt.Errorf("config.%s[%d]: %w", list.name, i, err))
				continue
			}
			mounts = append(mounts, dm)
		}
	}
	return binds, mounts, errors.Join(errs...)
}

func (d *Driver) containerConfig(cfg *drivers.TaskConfig, tc *TaskConfig, pc Config) (*container.Config, *container.HostConfig, error) {
	cc, hc, _, err := d.createOptions(cfg, tc, pc)
	return cc, hc, err
}

// createOptions is everything ContainerCreate takes for the task.
func (d *Driver) createOptions(cfg *drivers.TaskConfig, tc *TaskConfig, pc Config) (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	if tc.Privileged && !pc.AllowPrivileged {
		return nil, nil, nil, ErrPrivilegedDisabled
	}
	if err := checkRuntime(pc, tc.Runtime); err != nil {
		return nil, nil, nil, err
	}
	capAdd, capDrop, err := capabilities(pc.AllowCaps, tc.CapAdd, tc.CapDrop)
	if err != nil {
		return nil, nil, nil, err
	}
	userBinds, mounts, err := userMounts(cfg, tc, pc)
	if err != nil {
		return nil, nil, nil, err
	}
	labels := map[string]string{LabelTaskID: cfg.ID, LabelAllocID: cfg.AllocID, LabelTask: cfg.Name}
	for k, v := range tc.Labels {
		labels[k] = v
	}
	cc := &container.Config{
		Image:      tc.Image,
		Env:        envList(portMapEnv(cfg.Env, tc.PortMap)),
		User:       cfg.User,
		WorkingDir: tc.WorkDir,
		Labels:     labels,
		Entrypoint: tc.Entrypoint,
		Hostname:   tc.Hostname,
		Tty:        tc.TTY,
		OpenStdin:  tc.Interactive,
	}
	if tc.Healthchecks.V.Disable {
		cc.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
	}
	if tc.Command != "" {
		cc.Cmd = append([]string{tc.Command}, tc.Args...)
	} else if len(tc.Args) > 0 {
		cc.Cmd = tc.Args
	}
	secOpts, err := securityOpts(tc.SecurityOpt)
	if err != nil {
		return nil, nil, nil, err
	}
	ulim, err := ulimits(tc.Ulimit)
	if err != nil {
		return nil, nil, nil, err
	}
	hc := &container.HostConfig{
		CapAdd:         capAdd,
		CapDrop:        capDrop,
		Privileged:     tc.Privileged,
		ReadonlyRootfs: tc.ReadonlyRootfs,
		SecurityOpt:    secOpts,
		GroupAdd:       tc.GroupAdd,
		ExtraHosts:     tc.ExtraHosts,
		DNSSearch:      tc.DNSSearchDomains,
		DNSOptions:     tc.DNSOptions,
		IpcMode:        container.IpcMode(tc.IPCMode),
		PidMode:        container.PidMode(tc.PidMode),
		UTSMode:        container.UTSMode(tc.UTSMode),
		UsernsMode:     container.UsernsMode(tc.UsernsMode),
		OomScoreAdj:    tc.OOMScoreAdj,
		ShmSize:        tc.ShmSize,
		StorageOpt:     tc.StorageOpt,
		Sysctls:        tc.Sysctl,
		Runtime:        tc.Runtime,
		VolumeDriver:   tc.VolumeDriver,
	}
	if tc.Init {
		hc.Init = &tc.Init
	}
	for _, s := range tc.DNSServers {
		// DecodeTaskConfig checked each address.
		a, _ := netip.ParseAddr(s)
		hc.DNS = append(hc.DNS, a)
	}
	if lg := tc.Logging.V; lg.Type != "" || lg.Driver != "" || len(lg.Config) > 0 {
		hc.LogConfig = container.LogConfig{Type: lg.Type, Config: lg.Config}
		if hc.LogConfig.Type == "" {
			hc.LogConfig.Type = lg.Driver
		}
	}
	hc.Resources.Ulimits = ulim
	for i, dev := range tc.Devices {
		m, err := dev.mapping()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("config.devices[%d]: %w", i, err)
		}
		hc.Resources.Devices = append(hc.Resources.Devices, m)
	}
	if hc.Resources.PidsLimit, err = pidsLimit(pc, tc); err != nil {
		return nil, nil, nil, err
	}
	if cfg.NetworkIsolation != nil {
		mode, err := groupNetworkMode(cfg, tc)
		if err != nil {
			return nil, nil, nil, err
		}
		hc.NetworkMode = mode
	} else if tc.NetworkMode != "" {
		hc.NetworkMode = container.NetworkMode(tc.NetworkMode)
	}
	if r := cfg.Resources; r != nil {
		hc.Resources.CPUShares = r.CPUShares
		if tc.CPUHardLimit {
			hc.Resources.CPUPeriod, hc.Resources.CPUQuota = cpuQuota(r.CPUShares, tc.CPUCFSPeriod, coreMHz())
		}
		limit := r.MemoryMB << 20
		hard := r.MemoryMaxMB
		if tc.MemoryHardLimit > 0 {
			if r.MemoryMaxMB > 0 {
				return nil, nil, nil, errors.New("config.memory_hard_limit and resources.memory_max are both set; use one")
			}
			hard = tc.MemoryHardLimit
		}
		if hard > 0 {
			if hard < r.MemoryMB {
				return nil, nil, nil, fmt.Errorf("memory hard limit %d MB is below resources.memory %d MB", hard, r.MemoryMB)
			}
			limit = hard << 20
			hc.Resources.MemoryReservation = r.MemoryMB << 20
		}
		hc.Resources.Memory = limit
		hc.Resources.MemorySwap = limit
	}
	binds := map[string]string{
		filepath.Join(cfg.AllocDir, "alloc"):  "/alloc",
		filepath.Join(cfg.TaskDir, "local"):   "/local",
		filepath.Join(cfg.TaskDir, "secrets"): "/secrets",
	}
	for src, dst := range binds {
		if err := os.MkdirAll(src, 0o777); err != nil {
			return nil, nil, nil, err
		}
		hc.Binds = append(hc.Binds, src+":"+dst)
	}
	sort.Strings(hc.Binds)
	hc.Binds = append(hc.Binds, userBinds...)
	hc.Mounts = mounts
	// In a group namespace the client maps the ports.
	if len(cfg.Ports) > 0 && hc.NetworkMode != "host" && cfg.NetworkIsolation == nil {
		cc.ExposedPorts = network.PortSet{}
		hc.PortBindings = network.PortMap{}
		publish := map[string]bool{}
		for _, l := range tc.Ports {
			publish[l] = true
		}
		for _, p := range cfg.Ports {
			if len(publish) > 0 && !publish[p.Label] {
				continue
			}
			to := p.To
			if mapped, ok := tc.PortMap[p.Label]; ok {
				to = mapped
			}
			if to == 0 {
				to = p.Value
			}
			port, err := network.ParsePort(fmt.Sprintf("%d/tcp", to))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("port %s: %w", p.Label, err)
			}
			b := network.PortBinding{HostPort: strconv.Itoa(p.Value)}
			if p.HostIP != "" {
				ip, err := netip.ParseAddr(p.HostIP)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("port %s host ip: %w", p.Label, err)
				}
				b.HostIP = ip
			}
			cc.ExposedPorts[port] = struct{}{}
			hc.PortBindings[port] = append(hc.PortBindings[port], b)
		}
	}
	return cc, hc, networkingConfig(tc, hc.NetworkMode), nil
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
	cli, host, err := d.client()
	if err != nil {
		return nil, err
	}
	cc, hc, nc, err := d.createOptions(cfg, tc, d.pluginConfig())
	if err != nil {
		d.emit(cfg, "Failed to create container: "+err.Error(), nil)
		return nil, err
	}
	imageID, err := d.ensureImage(ctx, cli, cfg, tc)
	if err != nil {
		return nil, err
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cc, HostConfig: hc, NetworkingConfig: nc, Name: containerName(cfg)})
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	id := created.ID
	fail := func(err error) (*drivers.TaskHandle, error) {
		_, rerr := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		return nil, errors.Join(err, rerr)
	}
	ls, logProc, err := startLogger(&loggerSpec{Endpoint: host, ContainerID: id, Stdout: cfg.StdoutPath, Stderr: cfg.StderrPath, TTY: tc.TTY})
	if err != nil {
		return fail(err)
	}
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		_ = logProc.Kill()
		_, _ = logProc.Wait()
		return fail(fmt.Errorf("start container: %w", err))
	}
	st := driverState{ContainerID: id, ImageID: imageID, StartedAt: time.Now(), Logger: ls}
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	t := newTask(cli, cfg, st, logProc)
	d.mu.Lock()
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	d.logger.Debug("started container", "task_id", cfg.ID, "container_id", id)
	return &drivers.TaskHandle{Version: handleVersion, Config: cfg, State: drivers.TaskStateRunning, DriverState: raw}, nil
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
	cli, host, err := d.client()
	if err != nil {
		return err
	}
	ins, err := cli.ContainerInspect(ctx, st.ContainerID, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("recover task: inspect container %s: %w", st.ContainerID, err)
	}
	var logProc = (*os.Process)(nil)
	if ins.Container.State != nil && ins.Container.State.Running && !processAlive(st.Logger.PID, st.Logger.Tick) {
		cfg := handle.Config
		tty := ins.Container.Config != nil && ins.Container.Config.Tty
		ls, p, err := startLogger(&loggerSpec{Endpoint: host, ContainerID: st.ContainerID, Stdout: cfg.StdoutPath, Stderr: cfg.StderrPath, Since: fmt.Sprint(time.Now().Unix()), TTY: tty})
		if err != nil {
			return fmt.Errorf("recover task: %w", err)
		}
		st.Logger, logProc = ls, p
	}
	t := newTask(cli, handle.Config, st, logProc)
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

// StopTask runs docker stop with the signal and timeout (rounded up to
// whole seconds, as the Engine takes them), which kills after the timeout.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	t, err := d.get(taskID)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = t.cfg.KillSignal
	}
	secs := int(math.Ceil(timeout.Seconds()))
	opts := client.ContainerStopOptions{Signal: signal, Timeout: &secs}
	if _, err := t.cli.ContainerStop(ctx, t.state.ContainerID, opts); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container: %w", err)
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
	_, err = t.cli.ContainerRemove(ctx, t.state.ContainerID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove container: %w", err)
	}
	t.close()
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
		Attributes: map[string]string{"container_id": t.state.ContainerID, "image_id": t.state.ImageID},
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
	if _, err := parseSignal(signal); err != nil {
		return err
	}
	if _, err := t.cli.ContainerKill(ctx, t.state.ContainerID, client.ContainerKillOptions{Signal: signal}); err != nil {
		return fmt.Errorf("signal container: %w", err)
	}
	return nil
}

// ExecTask runs cmd in the container and collects its output.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	t, err := d.get(taskID)
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
	ex, err := t.cli.ExecCreate(ctx, t.state.ContainerID, client.ExecCreateOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true, User: t.cfg.User,
	})
	if err != nil {
		return nil, fmt.Errorf("exec create: %w", err)
	}
	att, err := t.cli.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("exec attach: %w", err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(&stdout, &stderr, att.Reader)
		copied <- err
	}()
	select {
	case err := <-copied:
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("exec output: %w", err)
		}
	case <-ctx.Done():
		att.Close()
		<-copied
		return nil, ctx.Err()
	}
	ins, err := t.cli.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("exec inspect: %w", err)
	}
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: &drivers.ExitResult{ExitCode: ins.ExitCode}}, nil
}

// TaskEvents streams image pulls and other driver events until ctx is done.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.events.subscribe(ctx), nil
}

// Shutdown stops watching containers and closes the Engine client; the
// containers keep running.
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
