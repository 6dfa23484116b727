// Package e2eutil starts real nomadish agents for end-to-end tests and
// talks to them through the CLI and the HTTP API.
package e2eutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the nomadish binary to test: $NOMADISH_BIN, or one built
// once per test process from this tree.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("NOMADISH_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nomadish-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		builtBin = filepath.Join(dir, "nomadish")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build nomadish: %v", buildErr)
	}
	return builtBin
}

// FreePorts returns n free TCP ports on 127.0.0.1.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// Agent is a running agent process.
type Agent struct {
	t       testing.TB
	Bin     string
	Addr    string
	Ports   []int
	DataDir string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
	exitErr error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// StartDevAgent starts `nomadish agent -dev` on free ports with its data
// in a temporary directory, plus any extra agent config, and waits until
// it has a leader and a ready client node.
func StartDevAgent(t testing.TB, extraConfig string) *Agent {
	t.Helper()
	a := StartAgent(t, AgentOptions{Dev: true, Config: extraConfig})
	WaitFor(t, 30*time.Second, func() error {
		var leader string
		if err := a.GetJSON("/v1/status/leader", &leader); err != nil {
			return err
		}
		if leader == "" {
			return fmt.Errorf("no leader yet")
		}
		var nodes []map[string]interface{}
		if err := a.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		if len(nodes) == 0 || nodes[0]["Status"] != "ready" {
			return fmt.Errorf("no ready node yet: %v", nodes)
		}
		return nil
	})
	return a
}

// AgentOptions say how to start an agent.
type AgentOptions struct {
	// Dev adds -dev.
	Dev bool
	// Config is extra agent config (HCL) after the ports and data_dir.
	Config string
	// Ports are the http, rpc and serf ports; free ones when nil.
	Ports []int
	// DataDir is kept across restarts when set.
	DataDir string
	// Args are extra command-line arguments.
	Args []string
}

// StartAgent starts an agent process and waits until its HTTP API answers.
func StartAgent(t testing.TB, o AgentOptions) *Agent {
	t.Helper()
	bin := Binary(t)
	ports := o.Ports
	if ports == nil {
		ports = FreePorts(t, 3)
	}
	dir := t.TempDir()
	data := o.DataDir
	if data == "" {
		data = filepath.Join(dir, "data")
	}
	cfg := fmt.Sprintf("data_dir = %q\nbind_addr = \"127.0.0.1\"\nports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n%s\n",
		data, ports[0], ports[1], ports[2], o.Config)
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write agent config: %v", err)
	}
	a := &Agent{
		t:       t,
		Bin:     bin,
		Addr:    fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		Ports:   ports,
		DataDir: data,
		out:     &syncBuffer{},
		exited:  make(chan struct{}),
	}
	args := []string{"agent"}
	if o.Dev {
		args = append(args, "-dev")
	}
	args = append(args, "-config", cfgPath)
	args = append(args, o.Args...)
	a.cmd = exec.Command(bin, args...)
	a.cmd.Stdout = a.out
	a.cmd.Stderr = a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	go func() {
		a.exitErr = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.Stop(30 * time.Second)
		KillLeftovers(data)
		if t.Failed() {
			t.Logf("agent %s output:\n%s", a.Addr, a.out.String())
		}
	})
	WaitFor(t, 30*time.Second, func() error {
		select {
		case <-a.exited:
			t.Fatalf("agent exited early: %v\n%s", a.exitErr, a.out.String())
		default:
		}
		code, _, err := a.Get("/v1/agent/self")
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("agent/self answered %d", code)
		}
		return nil
	})
	return a
}

// Kill sends SIGKILL to the agent alone (its task processes live on).
func (a *Agent) Kill() {
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
}

// Exited reports whether the agent process has ended.
func (a *Agent) Exited() bool {
	select {
	case <-a.exited:
		return true
	default:
		return false
	}
}

// Output is what the agent printed so far.
func (a *Agent) Output() string { return a.out.String() }

// Pid is the agent's process ID.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Stop sends SIGTERM and waits for a clean exit; it reports whether the
// agent exited with status 0 within the timeout (SIGKILL after it).
func (a *Agent) Stop(timeout time.Duration) bool {
	select {
	case <-a.exited:
		return a.exitErr == nil
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
		return a.exitErr == nil
	case <-time.After(timeout):
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		<-a.exited
		return false
	}
}

// GetJSON GETs an API path and decodes the JSON answer.
func (a *Agent) GetJSON(path string, out interface{}) error {
	resp, err := http.Get(a.Addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}

// Get GETs an API path and returns the status and body.
func (a *Agent) Get(path string) (int, string, error) {
	resp, err := http.Get(a.Addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Do sends a request with a body and returns the status and body.
func (a *Agent) Do(method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, a.Addr+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// CLI runs the nomadish CLI against the agent.
func (a *Agent) CLI(args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(a.Bin, args...)
	cmd.Env = append(os.Environ(), "NOMADISH_ADDR="+a.Addr)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		e.WriteString(err.Error())
	}
	return o.String(), e.String(), code
}

// WaitFor polls cond until it returns nil or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ProcessesWithEnv lists the PIDs whose environment contains entry.
func ProcessesWithEnv(entry string) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == entry {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// RSSKB returns a process's resident set size in KiB.
func RSSKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return strconv.Atoi(f[1])
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// KillLeftovers kills every process that still runs from an agent's data
// dir: tasks, executors and plugins of an agent that was killed.
func KillLeftovers(dataDir string) {
	self := os.Getpid()
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if bytes.Contains(env, []byte(dataDir)) || bytes.Contains(cmd, []byte(dataDir)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
