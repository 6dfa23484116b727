package allocrunner

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestCheckThresholds(t *testing.T) {
	const (
		P = structs.CheckPassing
		C = structs.CheckCritical
		W = structs.CheckWarning
		N = structs.CheckPending
	)
	for _, tc := range []struct {
		name               string
		successes, failure int
		results, want      []string
	}{
		{"no thresholds follow every result", 0, 0, []string{P, C, P, W}, []string{P, C, P, W}},
		{"passing after three in a row", 3, 0, []string{P, P, C, P, P, P, P}, []string{N, N, C, C, C, P, P}},
		{"critical after two in a row", 0, 2, []string{P, C, P, C, C, W, P}, []string{P, P, P, P, C, W, P}},
		{"both", 2, 2, []string{P, P, C, P, C, C, P, P}, []string{N, P, P, P, P, C, C, P}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := &checkThresholds{successes: tc.successes, failures: tc.failure}
			status := N
			for i, r := range tc.results {
				status = th.apply(status, r)
				if status != tc.want[i] {
					t.Fatalf("after result %d (%s) status = %s, want %s (results %v)", i, r, status, tc.want[i], tc.results)
				}
			}
		})
	}
}

func TestCheckAddressMode(t *testing.T) {
	alloc := func(mode string) *structs.Allocation {
		tg := &structs.TaskGroup{Name: "g"}
		if mode != "" {
			tg.Networks = []*structs.NetworkResource{{Mode: mode}}
		}
		return &structs.Allocation{TaskGroup: "g", Job: &structs.Job{TaskGroups: []*structs.TaskGroup{tg}}}
	}
	svc := &structs.Service{AddressMode: "host"}
	for _, tc := range []struct {
		name  string
		check structs.ServiceCheck
		alloc *structs.Allocation
		want  string
	}{
		{"inherits the service's", structs.ServiceCheck{}, alloc("bridge"), "host"},
		{"its own", structs.ServiceCheck{AddressMode: "driver"}, alloc("bridge"), "driver"},
		{"expose in bridge mode reaches inside", structs.ServiceCheck{Expose: true, AddressMode: "host"}, alloc("bridge"), "alloc"},
		{"expose in host mode changes nothing", structs.ServiceCheck{Expose: true}, alloc(""), "host"},
	} {
		if got := checkAddressMode(&tc.check, svc, tc.alloc); got != tc.want {
			t.Errorf("%s: checkAddressMode() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestFailuresBeforeCritical runs a real HTTP check: the registration
// stays passing through the first failures and turns critical only after
// failures_before_critical of them in a row.
func TestFailuresBeforeCritical(t *testing.T) {
	var healthy atomic.Bool
	var failed atomic.Int64
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	h := newHarness(t)
	task := &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second, Services: []*structs.Service{{
		Name: "web", PortLabel: "http", Provider: "nomad",
		Checks: []*structs.ServiceCheck{{Name: "alive", Type: "http", Path: "/", Interval: 30 * time.Millisecond, Timeout: time.Second,
			SuccessBeforePassing: 2, FailuresBeforeCritical: 4}},
	}}}
	a := testAlloc(structs.JobTypeService, task)
	a.NodeID = "node1"
	a.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
		Ports: []structs.AllocatedPortMapping{{Label: "http", Value: port, HostIP: "127.0.0.1"}},
	}}
	svc := newFakeServices()
	ar := h.serviceRunner(a, svc)
	start(t, ar)
	status := func(want string) func() bool {
		return func() bool {
			regs := svc.all()
			return len(regs) == 1 && regs[0].Status == want
		}
	}
	waitFor(t, "passing registration", status(structs.CheckPassing))
	healthy.Store(false)
	waitFor(t, "critical registration", status(structs.CheckCritical))
	if n := failed.Load(); n < 4 {
		t.Errorf("critical after %d failed checks, want at least failures_before_critical = 4", n)
	}
}
