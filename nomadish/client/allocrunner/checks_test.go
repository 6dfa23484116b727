package allocrunner

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func splitTarget(t *testing.T, addr string) checkTarget {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return checkTarget{addr: host, port: p}
}

func TestRunCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Method != http.MethodGet {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
			_, _ = w.Write([]byte("fine"))
		case "/post":
			if r.Method != http.MethodPost || r.Header.Get("X-Probe") != "1" {
				w.WriteHeader(http.StatusBadRequest)
			}
		case "/busy":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	up := splitTarget(t, srv.Listener.Addr().String())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := splitTarget(t, ln.Addr().String())
	ln.Close()
	exec := func(_ context.Context, _ string, cmd []string, _ time.Duration) (int, []byte, error) {
		switch cmd[0] {
		case "ok":
			return 0, []byte("ok"), nil
		case "warn":
			return 1, nil, nil
		case "fail":
			return 2, nil, nil
		}
		return 0, nil, errors.New("task not running")
	}
	tests := []struct {
		name   string
		check  structs.ServiceCheck
		target checkTarget
		want   string
		code   int
	}{
		{name: "http 200", check: structs.ServiceCheck{Type: "http", Path: "/ok"}, target: up, want: structs.CheckPassing, code: 200},
		{name: "http path without slash", check: structs.ServiceCheck{Type: "http", Path: "ok"}, target: up, want: structs.CheckPassing, code: 200},
		{name: "http method and header", check: structs.ServiceCheck{Type: "http", Path: "/post", Method: "POST", Header: map[string][]string{"X-Probe": {"1"}}}, target: up, want: structs.CheckPassing, code: 200},
		{name: "http 500", check: structs.ServiceCheck{Type: "http", Path: "/bad"}, target: up, want: structs.CheckCritical, code: 500},
		{name: "http 429 warns", check: structs.ServiceCheck{Type: "http", Path: "/busy"}, target: up, want: structs.CheckWarning, code: 429},
		{name: "http timeout", check: structs.ServiceCheck{Type: "http", Path: "/slow", Timeout: 100 * time.Millisecond}, target: up, want: structs.CheckCritical},
		{name: "http refused", check: structs.ServiceCheck{Type: "http", Path: "/ok"}, target: down, want: structs.CheckCritical},
		{name: "tcp open", check: structs.ServiceCheck{Type: "tcp"}, target: up, want: structs.CheckPassing},
		{name: "tcp refused", check: structs.ServiceCheck{Type: "tcp"}, target: down, want: structs.CheckCritical},
		{name: "grpc refused", check: structs.ServiceCheck{Type: "grpc", Timeout: 200 * time.Millisecond}, target: down, want: structs.CheckCritical},
		{name: "script exit 0", check: structs.ServiceCheck{Type: "script", Command: "ok"}, want: structs.CheckPassing},
		{name: "script exit 1 warns", check: structs.ServiceCheck{Type: "script", Command: "warn"}, want: structs.CheckWarning},
		{name: "script exit 2", check: structs.ServiceCheck{Type: "script", Command: "fail"}, want: structs.CheckCritical},
		{name: "script error", check: structs.ServiceCheck{Type: "script", Command: "gone"}, want: structs.CheckCritical},
		{name: "unknown type", check: structs.ServiceCheck{Type: "icmp"}, target: up, want: structs.CheckCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, code, out := runCheck(context.Background(), &tc.check, tc.target, "task", exec)
			if got != tc.want || code != tc.code {
				t.Errorf("runCheck() = %s, %d (%s), want %s, %d", got, code, out, tc.want, tc.code)
			}
		})
	}
}

func TestRestartCounter(t *testing.T) {
	start := time.Unix(1000, 0)
	policy := &structs.CheckRestart{Limit: 2, Grace: 10 * time.Second}
	type obs struct {
		status string
		after  time.Duration
	}
	tests := []struct {
		name   string
		policy *structs.CheckRestart
		seq    []obs
		// want is whether each observation restarts.
		want []bool
	}{
		{name: "no policy", policy: nil, seq: []obs{{"critical", 20 * time.Second}, {"critical", 21 * time.Second}}, want: []bool{false, false}},
		{name: "within grace", policy: policy, seq: []obs{{"critical", time.Second}, {"critical", 2 * time.Second}}, want: []bool{false, false}},
		{name: "limit reached", policy: policy, seq: []obs{{"critical", 11 * time.Second}, {"critical", 12 * time.Second}, {"critical", 13 * time.Second}}, want: []bool{false, true, false}},
		{name: "passing resets", policy: policy, seq: []obs{{"critical", 11 * time.Second}, {"passing", 12 * time.Second}, {"critical", 13 * time.Second}}, want: []bool{false, false, false}},
		{name: "warning counts", policy: policy, seq: []obs{{"warning", 11 * time.Second}, {"warning", 12 * time.Second}}, want: []bool{false, true}},
		{name: "warning ignored", policy: &structs.CheckRestart{Limit: 1, IgnoreWarnings: true}, seq: []obs{{"warning", time.Second}, {"critical", 2 * time.Second}}, want: []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &restartCounter{policy: tc.policy}
			for i, o := range tc.seq {
				if got := rc.observe(o.status, start.Add(o.after), start); got != tc.want[i] {
					t.Errorf("observe #%d (%s at +%s) = %v, want %v", i, o.status, o.after, got, tc.want[i])
				}
			}
		})
	}
}

func TestChangeActions(t *testing.T) {
	tmpl := func(mode, sig string) *structs.Template {
		return &structs.Template{ChangeMode: mode, ChangeSignal: sig}
	}
	tests := []struct {
		name    string
		changed []*structs.Template
		restart bool
		signals []string
	}{
		{name: "noop", changed: []*structs.Template{tmpl("noop", "")}},
		{name: "default restarts", changed: []*structs.Template{tmpl("", "")}, restart: true},
		{name: "restart wins", changed: []*structs.Template{tmpl("signal", "SIGHUP"), tmpl("restart", "")}, restart: true},
		{name: "signals once each", changed: []*structs.Template{tmpl("signal", "SIGHUP"), tmpl("signal", "SIGUSR1"), tmpl("signal", "SIGHUP")}, signals: []string{"SIGHUP", "SIGUSR1"}},
		{name: "signal defaults to SIGHUP", changed: []*structs.Template{tmpl("signal", "")}, signals: []string{"SIGHUP"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			restart, signals := changeActions(tc.changed)
			if restart != tc.restart || len(signals) != len(tc.signals) {
				t.Fatalf("changeActions() = %v, %v, want %v, %v", restart, signals, tc.restart, tc.signals)
			}
			for i := range signals {
				if signals[i] != tc.signals[i] {
					t.Errorf("changeActions() signals = %v, want %v", signals, tc.signals)
				}
			}
		})
	}
}

func TestServiceAddress(t *testing.T) {
	alloc := &structs.Allocation{AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
		Ports: []structs.AllocatedPortMapping{
			{Label: "http", Value: 25000, To: 8080, HostIP: "10.1.2.3"},
			{Label: "raw", Value: 25001},
		},
	}}}
	node := &structs.Node{Attributes: map[string]string{"unique.network.ip-address": "192.168.1.5"}}
	tests := []struct {
		name, label, mode string
		addr              string
		port              int
		wantErr           bool
	}{
		{name: "host mode", label: "http", mode: "host", addr: "10.1.2.3", port: 25000},
		{name: "auto mode", label: "http", mode: "auto", addr: "10.1.2.3", port: 25000},
		{name: "alloc mode uses to", label: "http", mode: "alloc", addr: "10.1.2.3", port: 8080},
		{name: "no host IP falls back to node", label: "raw", mode: "host", addr: "192.168.1.5", port: 25001},
		{name: "numeric port", label: "9000", mode: "host", addr: "192.168.1.5", port: 9000},
		{name: "no port", label: "", mode: "host", addr: "192.168.1.5", port: 0},
		{name: "unknown label", label: "grpc", mode: "host", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, port, err := serviceAddress(alloc, node, tc.label, tc.mode, "task")
			if (err != nil) != tc.wantErr || addr != tc.addr || port != tc.port {
				t.Errorf("serviceAddress(%q, %q) = %s, %d, %v, want %s, %d, error %v", tc.label, tc.mode, addr, port, err, tc.addr, tc.port, tc.wantErr)
			}
		})
	}
}
