package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// File descriptors the plugin passes to the executor.
const (
	fdStdout = 3
	fdStderr = 4
	fdStatus = 5
)

// Main runs the executor or the isolating init and exits if this process
// was started as one; otherwise it returns at once.
func Main() {
	if dir := os.Getenv(EnvInit); dir != "" {
		os.Exit(runInit(dir))
	}
	if dir := os.Getenv(EnvExecutor); dir != "" {
		os.Exit(runExecutor(dir))
	}
}

// runExecutor supervises one task and returns the executor's exit code.
func runExecutor(stateDir string) int {
	lf, err := os.OpenFile(filepath.Join(stateDir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 2
	}
	logger := log.New(lf, "executor ", log.LstdFlags|log.LUTC)
	status := os.NewFile(fdStatus, "status")
	report := func(r startReport) {
		if err := json.NewEncoder(status).Encode(r); err != nil {
			logger.Printf("report start: %v", err)
		}
		status.Close()
	}

	// The executor outlives the plugin; it must not die of the signals a
	// terminal or a process group receives. Handlers, unlike ignoring,
	// are reset for the task on exec.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)

	var spec Spec
	if err := readJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		report(startReport{Err: err.Error()})
		return 1
	}
	stdout := os.NewFile(fdStdout, "stdout")
	stderr := os.NewFile(fdStderr, "stderr")
	var pump *logPump
	if spec.Logs != nil {
		stdout.Close()
		stderr.Close()
		if pump, err = startLogPump(spec.Logs, logger.Printf); err != nil {
			report(startReport{Err: fmt.Sprintf("task logs: %v", err)})
			return 1
		}
		stdout, stderr = pump.Stdout, pump.Stderr
	}

	var (
		proc *os.Process
		cg   cgroup
	)
	if spec.Isolation != nil {
		proc, cg, err = startIsolated(stateDir, &spec, stdout, stderr)
	} else {
		proc, err = startPlain(&spec, stdout, stderr)
	}
	stdout.Close()
	stderr.Close()
	if err != nil {
		report(startReport{Err: err.Error()})
		return 1
	}
	report(startReport{TaskPID: proc.Pid, StartedAt: time.Now()})

	rec := exitRecord{}
	ps, err := proc.Wait()
	if err != nil {
		rec.Err = fmt.Sprintf("wait for task: %v", err)
	} else if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		rec.ExitCode = ws.ExitStatus()
		if ws.Signaled() {
			rec.Signal = int(ws.Signal())
			rec.ExitCode = 128 + rec.Signal
		}
	}
	if spec.Isolation == nil {
		// Processes the task left behind in its group end with it.
		_ = syscall.Kill(-proc.Pid, syscall.SIGKILL)
	}
	if cg != nil {
		rec.OOMKilled = cg.oomKilled()
		if err := cg.destroy(); err != nil {
			logger.Printf("destroy cgroup: %v", err)
		}
	}
	if pump != nil && !pump.wait(logDrainTimeout) {
		logger.Printf("task output still open %s after exit", logDrainTimeout)
	}
	rec.CompletedAt = time.Now()
	if err := writeJSONAtomic(filepath.Join(stateDir, exitFile), rec); err != nil {
		logger.Printf("record exit: %v", err)
		return 1
	}
	return 0
}

func startPlain(spec *Spec, stdout, stderr *os.File) (*os.Process, error) {
	cmd := &exec.Cmd{
		Path:   spec.Path,
		Args:   append([]string{spec.Path}, spec.Args...),
		Env:    spec.Env,
		Dir:    spec.Dir,
		Stdout: stdout,
		Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid: true,
		},
	}
	if spec.RunAsUser {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: spec.Groups}
	}
	start := cmd.Start
	if ns := spec.NetworkNamespace; ns != "" {
		start = func() error { return inNetns(ns, cmd.Start) }
	}
	if err := start(); err != nil {
		return nil, err
	}
	return cmd.Process, nil
}

// startIsolated starts the init in new namespaces, puts it in the task's
// cgroup while it waits, then lets it set up the chroot and exec the task.
// The init reports a failure before exec on its error pipe; a clean EOF
// means exec succeeded.
func startIsolated(stateDir string, spec *Spec, stdout, stderr *os.File) (*os.Process, cgroup, error) {
	cg, err := newCgroup(spec.Isolation)
	if err != nil {
		return nil, nil, fmt.Errorf("create cgroup: %w", err)
	}
	fail := func(err error) (*os.Process, cgroup, error) {
		if derr := cg.destroy(); derr != nil {
			err = errors.Join(err, fmt.Errorf("destroy cgroup: %w", derr))
		}
		return nil, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer syncR.Close()
	defer syncW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer errR.Close()
	flags := uintptr(syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS)
	if spec.Isolation.HostPID {
		flags &^= syscall.CLONE_NEWPID
	}
	if spec.Isolation.HostIPC {
		flags &^= syscall.CLONE_NEWIPC
	}
	cmd := &exec.Cmd{
		Path:       self,
		Args:       []string{self},
		Env:        []string{EnvInit + "=" + stateDir},
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{syncR, errW},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: flags,
			Setpgid:    spec.Isolation.HostPID,
		},
	}
	err = cmd.Start()
	errW.Close()
	if err != nil {
		return fail(err)
	}
	if err := cg.add(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return fail(fmt.Errorf("join cgroup: %w", err))
	}
	if _, err := syncW.Write([]byte{1}); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return fail(fmt.Errorf("release init: %w", err))
	}
	msg, _ := io.ReadAll(errR)
	if len(msg) > 0 {
		_, _ = cmd.Process.Wait()
		return fail(errors.New(string(msg)))
	}
	return cmd.Process, cg, nil
}
