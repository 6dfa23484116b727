package allocrunner

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// fakeServices is a ServiceClient over an in-memory catalog.
type fakeServices struct {
	mu      sync.Mutex
	regs    map[string]*structs.ServiceRegistration
	index   uint64
	changed chan struct{}
	upserts int
}

func newFakeServices() *fakeServices {
	return &fakeServices{regs: map[string]*structs.ServiceRegistration{}, changed: make(chan struct{})}
}

func (f *fakeServices) bumpLocked() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeServices) UpsertServices(_ context.Context, regs []*structs.ServiceRegistration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range regs {
		f.regs[r.ID] = r.Copy()
	}
	f.upserts++
	f.bumpLocked()
	return nil
}

func (f *fakeServices) RemoveServices(_ context.Context, allocID string, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, r := range f.regs {
		if r.AllocID == allocID && (len(ids) == 0 || contains(ids, id)) {
			delete(f.regs, id)
		}
	}
	f.bumpLocked()
	return nil
}

func (f *fakeServices) ServicesByName(ctx context.Context, _, name string, minIndex uint64) ([]*structs.ServiceRegistration, uint64, error) {
	for {
		f.mu.Lock()
		idx, ch := f.index, f.changed
		if minIndex == 0 || idx > minIndex {
			var out []*structs.ServiceRegistration
			for _, r := range f.regs {
				if r.ServiceName == name {
					out = append(out, r.Copy())
				}
			}
			f.mu.Unlock()
			return out, idx, nil
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func (f *fakeServices) all() []*structs.ServiceRegistration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*structs.ServiceRegistration
	for _, r := range f.regs {
		out = append(out, r.Copy())
	}
	return out
}

func (f *fakeServices) put(r *structs.ServiceRegistration) {
	_ = f.UpsertServices(context.Background(), []*structs.ServiceRegistration{r})
}

func (h *harness) serviceRunner(a *structs.Allocation, svc *fakeServices) *AllocRunner {
	h.t.Helper()
	ar := h.runner(a, false)
	ar.cfg.Services = svc
	ar.services = newServiceManager(ar)
	return ar
}

// TestServiceRegisteredCheckedAndRemoved: a task's service registers with
// its allocated port while the task runs, turns critical when its http
// check fails, check_restart restarts the task, and stopping the
// allocation removes the registration.
func TestServiceRegisteredCheckedAndRemoved(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	h := newHarness(t)
	task := &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second, Services: []*structs.Service{{
		Name: "web", PortLabel: "http", Provider: "nomad", AddressMode: "auto", Tags: []string{"v1"},
		Checks: []*structs.ServiceCheck{{Name: "alive", Type: "http", Path: "/", Interval: 50 * time.Millisecond, Timeout: time.Second,
			CheckRestart: &structs.CheckRestart{Limit: 2}}},
	}, {
		Name: "ignored", PortLabel: "http", Provider: "consul",
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
	r := svc.all()[0]
	wantID := structs.ServiceRegistrationID(a.ID, "web", "g", "web", "http")
	if r.ID != wantID || r.Port != port || r.Address != "127.0.0.1" || r.AllocID != a.ID || r.JobID != "j" ||
		r.NodeID != "node1" || r.Datacenter != "dc1" || r.Namespace != "default" || strings.Join(r.Tags, ",") != "v1" {
		t.Fatalf("registration = %+v", r)
	}
	results := ar.CheckResults()
	if len(results) != 1 {
		t.Fatalf("CheckResults() = %+v, want one", results)
	}
	for _, res := range results {
		if res.Check != "alive" || res.Service != "web" || res.Task != "web" || res.Status != structs.CheckPassing || res.StatusCode != 200 {
			t.Errorf("check result = %+v", res)
		}
	}

	healthy.Store(false)
	waitFor(t, "check_restart restart", func() bool {
		ts := ar.TaskState("web")
		return ts != nil && ts.Restarts >= 1 && contains(eventTypes(ts), structs.TaskRestartSignal)
	})
	healthy.Store(true)
	waitFor(t, "passing again after restart", func() bool {
		ts := ar.TaskState("web")
		return ts.State == structs.TaskStateRunning && status(structs.CheckPassing)()
	})

	stop := a.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	ar.Update(stop)
	waitDone(t, ar)
	if regs := svc.all(); len(regs) != 0 {
		t.Errorf("registrations after stop = %+v, want none", regs)
	}
}

// TestTemplateFollowsServices: a nomadService template renders the
// healthy instances and, with change_mode restart, restarts the task when
// they change.
func TestTemplateFollowsServices(t *testing.T) {
	h := newHarness(t)
	svc := newFakeServices()
	svc.put(&structs.ServiceRegistration{ID: "w1", ServiceName: "web", AllocID: "other", Address: "10.0.0.1", Port: 80})
	task := &structs.Task{Name: "app", Config: sh("sleep 60"), KillTimeout: time.Second, Templates: []*structs.Template{{
		EmbeddedTmpl: `{{ range nomadService "web" }}{{ .Address }}:{{ .Port }};{{ end }}`,
		DestPath:     "local/upstreams", ChangeMode: "restart",
	}}}
	a := testAlloc(structs.JobTypeService, task)
	ar := h.serviceRunner(a, svc)
	start(t, ar)
	path := filepath.Join(h.root, a.ID, "app", "local", "upstreams")
	content := func(want string) func() bool {
		return func() bool {
			b, err := os.ReadFile(path)
			return err == nil && string(b) == want
		}
	}
	waitFor(t, "first render", content("10.0.0.1:80;"))
	waitFor(t, "running", func() bool { return ar.TaskState("app").State == structs.TaskStateRunning })

	svc.put(&structs.ServiceRegistration{ID: "w2", ServiceName: "web", AllocID: "other", Address: "10.0.0.2", Port: 80})
	waitFor(t, "render with two instances", content("10.0.0.1:80;10.0.0.2:80;"))
	waitFor(t, "restart for the template", func() bool {
		ts := ar.TaskState("app")
		return ts.Restarts == 1 && ts.State == structs.TaskStateRunning
	})

	svc.put(&structs.ServiceRegistration{ID: "w1", ServiceName: "web", AllocID: "other", Address: "10.0.0.1", Port: 80, Status: structs.CheckCritical})
	waitFor(t, "critical instance dropped", content("10.0.0.2:80;"))

	waitFor(t, "restart for the dropped instance", func() bool { return ar.TaskState("app").Restarts == 2 })
}

// TestDeploymentHealthWaitsForChecks: with update.health_check = "checks"
// (the default) an allocation whose check fails is unhealthy at the
// deadline; with "task_states" the check does not matter.
func TestDeploymentHealthWaitsForChecks(t *testing.T) {
	tests := []struct {
		name        string
		healthCheck string
		// listen keeps the checked port open.
		listen bool
		want   bool
	}{
		{name: "checks failing", healthCheck: "", want: false},
		{name: "checks passing", healthCheck: "checks", listen: true, want: true},
		{name: "task states", healthCheck: "task_states", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := ln.Addr().(*net.TCPAddr).Port
			if tc.listen {
				defer ln.Close()
			} else {
				ln.Close()
			}
			h := newHarness(t)
			task := &structs.Task{Name: "web", Config: sh("sleep 60"), KillTimeout: time.Second, Services: []*structs.Service{{
				Name: "web", PortLabel: "http", Provider: "nomadish",
				Checks: []*structs.ServiceCheck{{Type: "tcp", Interval: 50 * time.Millisecond, Timeout: time.Second}},
			}}}
			a := testAlloc(structs.JobTypeService, task)
			a.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
				Ports: []structs.AllocatedPortMapping{{Label: "http", Value: port, HostIP: "127.0.0.1"}},
			}}
			a.DeploymentID = "d1"
			a.Job.Update = structs.UpdateStrategy{MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: time.Second, HealthCheck: tc.healthCheck}
			ar := h.serviceRunner(a, newFakeServices())
			start(t, ar)
			waitFor(t, "health", func() bool {
				u := h.rec.last()
				return u != nil && u.DeploymentStatus != nil && u.DeploymentStatus.Healthy != nil
			})
			if got := *h.rec.last().DeploymentStatus.Healthy; got != tc.want {
				t.Errorf("Healthy = %v, want %v", got, tc.want)
			}
			ar.Kill()
			waitDone(t, ar)
		})
	}
}
