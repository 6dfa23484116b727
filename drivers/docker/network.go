package docker

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nomadish/nomadish/drivers"
)

// The Docker Engine cannot run a container in a network namespace given by
// path, only in another container's. So for a bridge-mode group the driver
// makes the namespace: a "pause" container with no network of its own,
// which the client then gives its interfaces, and which every docker task
// of the group joins (network_mode "container:<pause>"); tasks of other
// drivers join it by path.
//
// There is no registry to pull a pause image from: the image is empty, and
// the process is this very binary (statically linked, as `make build`
// makes it), bind-mounted read-only, which does nothing until stopped.

const (
	// PauseImage is the empty image pause containers run from.
	PauseImage = "nomadish-pause:1"
	// LabelPause marks pause containers.
	LabelPause = "io.nomadish.pause"
	// EnvPause turns this binary into a pause process.
	EnvPause = "NOMADISH_DOCKER_PAUSE"
	// SpecLabelContainer is the network spec label naming the pause
	// container.
	SpecLabelContainer = "docker_sandbox_container_id"

	pauseBinary = "/nomadish-pause"
)

var _ drivers.NetworkManager = (*Driver)(nil)

// PauseMain runs the pause process and exits if this process was started
// as one; otherwise it returns at once. It waits for SIGTERM or SIGINT.
func PauseMain() {
	if os.Getenv(EnvPause) == "" {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	<-ch
	os.Exit(0)
}

func pauseName(allocID string) string { return "nomadish-pause-" + allocID }

// CreateNetwork starts the allocation's pause container, or finds the one
// already running, and returns its network namespace.
func (d *Driver) CreateNetwork(ctx context.Context, allocID string) (*drivers.NetworkIsolationSpec, error) {
	if allocID == "" || strings.ContainsAny(allocID, "/: ") {
		return nil, fmt.Errorf("create network: bad allocation ID %q", allocID)
	}
	cli, _, err := d.client()
	if err != nil {
		return nil, err
	}
	name := pauseName(allocID)
	if ins, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{}); err == nil {
		if st := ins.Container.State; st != nil && st.Running && st.Pid > 0 {
			return pauseSpec(ins.Container.ID, st.Pid), nil
		}
		// A pause container that stopped holds no namespace any more.
		if _, err := cli.ContainerRemove(ctx, ins.Container.ID, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("create network: remove stopped pause container: %w", err)
		}
	} else if !cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("create network: inspect pause container: %w", err)
	}
	self, err := pauseExecutable()
	if err != nil {
		return nil, fmt.Errorf("create network: %w", err)
	}
	if err := d.ensurePauseImage(ctx, cli); err != nil {
		return nil, fmt.Errorf("create network: %w", err)
	}
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:      PauseImage,
			Entrypoint: []string{pauseBinary},
			Env:        []string{EnvPause + "=1"},
			Labels:     map[string]string{LabelAllocID: allocID, LabelPause: "true"},
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Binds:       []string{self + ":" + pauseBinary + ":ro"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("create network: create pause container: %w", err)
	}
	id := created.ID
	fail := func(err error) (*drivers.NetworkIsolationSpec, error) {
		_, rerr := cli.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
		if rerr != nil && !cerrdefs.IsNotFound(rerr) {
			err = errors.Join(err, rerr)
		}
		return nil, fmt.Errorf("create network: %w", err)
	}
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fail(fmt.Errorf("start pause container: %w", err))
	}
	ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return fail(fmt.Errorf("inspect pause container: %w", err))
	}
	st := ins.Container.State
	if st == nil || !st.Running || st.Pid <= 0 {
		return fail(errors.New("the pause container is not running"))
	}
	d.logger.Debug("started pause container", "alloc_id", allocID, "container_id", id)
	return pauseSpec(id, st.Pid), nil
}

func pauseSpec(id string, pid int) *drivers.NetworkIsolationSpec {
	return &drivers.NetworkIsolationSpec{
		Mode:   drivers.NetIsolationModeGroup,
		Path:   fmt.Sprintf("/proc/%d/ns/net", pid),
		Labels: map[string]string{SpecLabelContainer: id},
	}
}

// DestroyNetwork removes the allocation's pause container; one already
// gone is no error.
func (d *Driver) DestroyNetwork(ctx context.Context, allocID string, spec *drivers.NetworkIsolationSpec) error {
	cli, _, err := d.client()
	if err != nil {
		return err
	}
	ref := pauseName(allocID)
	if spec != nil && spec.Labels[SpecLabelContainer] != "" {
		ref = spec.Labels[SpecLabelContainer]
	}
	if _, err := cli.ContainerRemove(ctx, ref, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("destroy network: remove pause container: %w", err)
	}
	return nil
}

// pauseExecutable is this binary, which must be statically linked to run
// in the empty pause image.
func pauseExecutable() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	f, err := elf.Open(self)
	if err != nil {
		return "", fmt.Errorf("read own executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("docker tasks in bridge mode need a statically linked %s (build it with CGO_ENABLED=0, as `make build` does)", self)
		}
	}
	return self, nil
}

// ensurePauseImage builds the empty pause image unless it exists.
func (d *Driver) ensurePauseImage(ctx context.Context, cli *client.Client) error {
	d.pauseMu.Lock()
	defer d.pauseMu.Unlock()
	if _, err := cli.ImageInspect(ctx, PauseImage); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect %s: %w", PauseImage, err)
	}
	dockerfile := fmt.Sprintf("FROM scratch\nLABEL %s=true\nENTRYPOINT [%q]\n", LabelPause, pauseBinary)
	return buildImage(ctx, cli, PauseImage, dockerfile)
}

// groupNetworkMode is the network mode of a task in the group's
// namespace: the pause container's.
func groupNetworkMode(cfg *drivers.TaskConfig, tc *TaskConfig) (container.NetworkMode, error) {
	iso := cfg.NetworkIsolation
	if tc.NetworkMode != "" {
		return "", fmt.Errorf("config.network_mode %q cannot be set in a group with its own network namespace (network mode %q)", tc.NetworkMode, iso.Mode)
	}
	id := iso.Labels[SpecLabelContainer]
	if id == "" {
		return "", errors.New("the group's network namespace was not made by the docker driver, so a docker task cannot join it")
	}
	return container.NetworkMode("container:" + id), nil
}
