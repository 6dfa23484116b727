package allocrunner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Check defaults.
const (
	defaultCheckInterval = 10 * time.Second
	defaultCheckTimeout  = 2 * time.Second
	// maxCheckOutput bounds the output kept per result.
	maxCheckOutput = 4096
)

// CheckResult is the last result of one check, in the shape of Nomad's
// /v1/client/allocation/:id/checks answer.
type CheckResult struct {
	ID         string
	Check      string
	Group      string
	Mode       string
	Output     string
	Service    string
	Status     string
	StatusCode int `json:",omitempty"`
	Task       string
	Timestamp  int64
}

// checkTarget is where a check connects.
type checkTarget struct {
	addr string
	port int
}

// execer runs a command in a task; the alloc runner's ExecTask.
type execer func(ctx context.Context, task string, cmd []string, timeout time.Duration) (exitCode int, output []byte, err error)

// runCheck runs one check once and returns its status, HTTP status code and
// output.
func runCheck(ctx context.Context, c *structs.ServiceCheck, t checkTarget, task string, exec execer) (string, int, string) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hostport := net.JoinHostPort(t.addr, fmt.Sprint(t.port))
	switch strings.ToLower(c.Type) {
	case "http":
		return httpCheck(ctx, c, hostport)
	case "tcp":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", hostport)
		if err != nil {
			return structs.CheckCritical, 0, err.Error()
		}
		_ = conn.Close()
		return structs.CheckPassing, 0, "TCP connect " + hostport + ": Success"
	case "grpc":
		return grpcCheck(ctx, c, hostport)
	case "script":
		if exec == nil {
			return structs.CheckCritical, 0, "script checks need a task"
		}
		cmd := append([]string{c.Command}, c.Args...)
		code, out, err := exec(ctx, task, cmd, timeout)
		if err != nil {
			return structs.CheckCritical, 0, err.Error()
		}
		status := structs.CheckCritical
		switch code {
		case 0:
			status = structs.CheckPassing
		case 1:
			status = structs.CheckWarning
		}
		return status, 0, trimOutput(string(out))
	}
	return structs.CheckCritical, 0, fmt.Sprintf("unsupported check type %q", c.Type)
}

func httpCheck(ctx context.Context, c *structs.ServiceCheck, hostport string) (string, int, string) {
	scheme := "http"
	if c.Protocol == "https" {
		scheme = "https"
	}
	path := c.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+hostport+path, body)
	if err != nil {
		return structs.CheckCritical, 0, err.Error()
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	tr := &http.Transport{DisableKeepAlives: true, TLSClientConfig: checkTLS(c)}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return structs.CheckCritical, 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, maxCheckOutput))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return structs.CheckPassing, resp.StatusCode, trimOutput(string(out))
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.CheckWarning, resp.StatusCode, trimOutput(string(out))
	}
	return structs.CheckCritical, resp.StatusCode, fmt.Sprintf("HTTP %s %s: %s", method, path, resp.Status)
}

func grpcCheck(ctx context.Context, c *structs.ServiceCheck, hostport string) (string, int, string) {
	creds := insecure.NewCredentials()
	if c.GRPCUseTLS {
		creds = credentials.NewTLS(checkTLS(c))
	}
	conn, err := grpc.NewClient(hostport, grpc.WithTransportCredentials(creds))
	if err != nil {
		return structs.CheckCritical, 0, err.Error()
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: c.GRPCService})
	if err != nil {
		return structs.CheckCritical, 0, err.Error()
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return structs.CheckCritical, 0, "gRPC status " + resp.GetStatus().String()
	}
	return structs.CheckPassing, 0, "gRPC status SERVING"
}

// checkTLS is the TLS setup of an https or TLS gRPC check: the system's
// roots, tls_server_name as the name to verify, or no verification with
// tls_skip_verify.
func checkTLS(c *structs.ServiceCheck) *tls.Config {
	return &tls.Config{ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSSkipVerify}
}

func trimOutput(s string) string {
	if len(s) > maxCheckOutput {
		return s[:maxCheckOutput]
	}
	return s
}

// restartCounter decides when failing checks restart a task: after Limit
// consecutive unhealthy results, results within Grace of the task's start
// not counting.
type restartCounter struct {
	policy *structs.CheckRestart
	fails  int
}

// observe records a result and reports whether the task must restart now.
func (rc *restartCounter) observe(status string, now, started time.Time) bool {
	p := rc.policy
	if p == nil || p.Limit <= 0 {
		return false
	}
	if started.IsZero() || now.Before(started.Add(p.Grace)) {
		rc.fails = 0
		return false
	}
	unhealthy := status == structs.CheckCritical || (status == structs.CheckWarning && !p.IgnoreWarnings)
	if !unhealthy {
		rc.fails = 0
		return false
	}
	rc.fails++
	if rc.fails >= p.Limit {
		rc.fails = 0
		return true
	}
	return false
}

// errNoPort is a service or check port that is not allocated.
var errNoPort = errors.New("port not allocated")

// checkThresholds holds back a check's status changes as Nomad's
// success_before_passing and failures_before_critical ask: a check turns
// passing only after that many passing results in a row, and critical (or
// warning) only after that many failing ones; until then it keeps the
// status it had. Zero or one means at once.
type checkThresholds struct {
	successes, failures int
	passRun, failRun    int
}

// apply takes a raw result and returns the status to report.
func (t *checkThresholds) apply(prev, status string) string {
	if status == structs.CheckPassing {
		t.passRun++
		t.failRun = 0
		if t.passRun >= t.successes {
			return status
		}
		return prev
	}
	t.failRun++
	t.passRun = 0
	if t.failRun >= t.failures {
		return status
	}
	return prev
}
