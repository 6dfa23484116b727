package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// EnvLogger makes the binary a container log copier; its value is the
// JSON loggerSpec.
const EnvLogger = "NOMADISH_DOCKER_LOGGER"

type loggerSpec struct {
	Endpoint    string `json:"endpoint"`
	ContainerID string `json:"container_id"`
	Stdout      string `json:"stdout"`
	Stderr      string `json:"stderr"`
	// Since is a Unix timestamp; empty copies the whole log.
	Since string `json:"since"`
	// TTY says the container has a terminal: its log is one raw stream,
	// copied to stdout.
	TTY bool `json:"tty,omitempty"`
}

// LoggerMain runs the log copier and exits if this process was started as
// one; otherwise it returns.
func LoggerMain() {
	raw := os.Getenv(EnvLogger)
	if raw == "" {
		return
	}
	var spec loggerSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "docker logger: %v\n", err)
		os.Exit(2)
	}
	if err := copyLogs(&spec); err != nil {
		fmt.Fprintf(os.Stderr, "docker logger: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// loggerStartWait bounds how long the copier waits for a created
// container to start.
const loggerStartWait = 2 * time.Minute

// copyLogs follows the container's log into the files until the container
// stops. A broken stream while the container still runs is resumed.
func copyLogs(spec *loggerSpec) error {
	stdout, err := os.OpenFile(spec.Stdout, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(spec.Stderr, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close()
	cli, err := newClient(spec.Endpoint)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx := context.Background()
	since := spec.Since
	begun := time.Now()
	for attempt := 0; ; attempt++ {
		started := time.Now()
		body, err := cli.ContainerLogs(ctx, spec.ContainerID, client.ContainerLogsOptions{
			ShowStdout: true, ShowStderr: true, Follow: true, Since: since,
		})
		if err == nil {
			if spec.TTY {
				_, err = io.Copy(stdout, body)
			} else {
				_, err = stdcopy.StdCopy(stdout, stderr, body)
			}
			body.Close()
		}
		ins, ierr := cli.ContainerInspect(ctx, spec.ContainerID, client.ContainerInspectOptions{})
		if ierr == nil && ins.Container.State != nil && ins.Container.State.Status == container.StateCreated &&
			time.Since(begun) < loggerStartWait {
			// The copier starts before the container does, and a log
			// followed before the start ends at once, empty: follow it
			// again once the container runs.
			time.Sleep(20 * time.Millisecond)
			attempt--
			continue
		}
		if ierr != nil || ins.Container.State == nil || !ins.Container.State.Running {
			return err
		}
		if attempt > 100 {
			return fmt.Errorf("log stream keeps failing: %w", err)
		}
		since = fmt.Sprint(started.Unix())
		time.Sleep(time.Second)
	}
}

// loggerState is what the driver keeps to re-attach to a log copier.
type loggerState struct {
	PID  int    `json:"pid"`
	Tick uint64 `json:"tick"`
}

// startLogger starts a log copier in its own session so it outlives the plugin.
func startLogger(spec *loggerSpec) (loggerState, *os.Process, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return loggerState{}, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return loggerState{}, nil, err
	}
	for _, p := range []string{spec.Stdout, spec.Stderr} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return loggerState{}, nil, err
		}
	}
	cmd := &exec.Cmd{
		Path:        self,
		Args:        []string{self},
		Env:         []string{EnvLogger + "=" + string(raw)},
		Dir:         "/",
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return loggerState{}, nil, fmt.Errorf("start docker logger: %w", err)
	}
	return loggerState{PID: cmd.Process.Pid, Tick: procStartTick(cmd.Process.Pid)}, cmd.Process, nil
}
