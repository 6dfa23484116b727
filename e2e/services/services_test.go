//go:build e2e

// Package services tests built-in service discovery with real raw_exec
// tasks: a busybox httpd registers itself with an http check, goes
// critical when its server dies, is restarted by check_restart, and a
// second job's template follows its healthy instances.
package services

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type registration struct {
	ID, ServiceName, Namespace, NodeID, Datacenter, JobID, AllocID, Address, Status string
	Tags                                                                            []string
	Port                                                                            int
	CreateIndex, ModifyIndex                                                        uint64
}

type allocStub struct {
	ID           string
	ClientStatus string
	TaskStates   map[string]struct {
		State    string
		Restarts int
		Events   []struct{ Type, DisplayMessage string }
	}
	AllocatedResources struct {
		Shared struct {
			Ports []struct {
				Label string
				Value int
			}
		}
	}
}

type checkResult struct {
	Check, Service, Status, Task string
}

func runningAlloc(a *e2eutil.Agent, job string) (*allocStub, error) {
	var allocs []allocStub
	if err := a.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		return nil, err
	}
	for _, al := range allocs {
		if al.ClientStatus == "running" {
			var full allocStub
			if err := a.GetJSON("/v1/allocation/"+al.ID, &full); err != nil {
				return nil, err
			}
			return &full, nil
		}
	}
	return nil, fmt.Errorf("no running allocation of %s: %+v", job, allocs)
}

func instances(a *e2eutil.Agent, name string) ([]registration, error) {
	var regs []registration
	err := a.GetJSON("/v1/service/"+name, &regs)
	return regs, err
}

func catFile(a *e2eutil.Agent, alloc, path string) (string, error) {
	code, body, err := a.Get("/v1/client/fs/cat/" + alloc + "?path=" + path)
	if err != nil {
		return "", err
	}
	if code != 200 {
		return "", fmt.Errorf("cat %s: %d %s", path, code, body)
	}
	return body, nil
}

func TestServiceRegistrationChecksAndTemplates(t *testing.T) {
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", e2eutil.FreePorts(t, 1)[0])
	a := e2eutil.StartDevAgent(t, fmt.Sprintf("client {\n  dns {\n    enabled = true\n    addr = %q\n  }\n}\n", dnsAddr))

	if out, errOut, code := a.CLI("job", "run", "-detach", "input/web.nomad.hcl"); code != 0 {
		t.Fatalf("job run web = %d\n%s\n%s", code, out, errOut)
	}
	var web *allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		web, err = runningAlloc(a, "web")
		return err
	})
	port := 0
	for _, p := range web.AllocatedResources.Shared.Ports {
		if p.Label == "http" {
			port = p.Value
		}
	}
	if port == 0 {
		t.Fatalf("alloc %s has no http port: %+v", web.ID, web.AllocatedResources)
	}

	// The instance registers with the allocated port and its check passes.
	var reg registration
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		regs, err := instances(a, "web")
		if err != nil {
			return err
		}
		if len(regs) != 1 || regs[0].Status != "passing" {
			return fmt.Errorf("want one passing instance, got %+v", regs)
		}
		reg = regs[0]
		return nil
	})
	if reg.Port != port || reg.AllocID != web.ID || reg.JobID != "web" || reg.Namespace != "default" ||
		reg.NodeID == "" || reg.Datacenter == "" || reg.Address == "" || strings.Join(reg.Tags, ",") != "e2e,http" {
		t.Fatalf("registration = %+v, want port %d of alloc %s", reg, port, web.ID)
	}
	if !strings.HasPrefix(reg.ID, "_nomad-task-"+web.ID+"-httpd-web-http") {
		t.Errorf("registration ID = %q", reg.ID)
	}
	var list []struct {
		Namespace string
		Services  []struct {
			ServiceName string
			Tags        []string
		}
	}
	if err := a.GetJSON("/v1/services", &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(list[0].Services) != 1 || list[0].Services[0].ServiceName != "web" {
		t.Fatalf("/v1/services = %+v", list)
	}
	if out, _, code := a.CLI("service", "info", "web"); code != 0 || !strings.Contains(out, strconv.Itoa(port)) || !strings.Contains(out, "passing") {
		t.Fatalf("service info web = %d\n%s", code, out)
	}
	// The client's DNS responder answers A and SRV for the instance.
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dnsAddr)
	}}
	qctx, qcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer qcancel()
	if addrs, err := resolver.LookupHost(qctx, "web.service.nomadish."); err != nil || len(addrs) != 1 || addrs[0] != reg.Address {
		t.Errorf("DNS A web.service.nomadish = %v, %v, want [%s]", addrs, err, reg.Address)
	}
	if _, srvs, err := resolver.LookupSRV(qctx, "", "", "web.service.nomadish."); err != nil || len(srvs) != 1 || int(srvs[0].Port) != port {
		t.Errorf("DNS SRV web.service.nomadish = %v, %v, want port %d", srvs, err, port)
	}

	var checks map[string]checkResult
	if err := a.GetJSON("/v1/client/allocation/"+web.ID+"/checks", &checks); err != nil {
		t.Fatal(err)
	}
	if len(checks) != 1 {
		t.Fatalf("alloc checks = %+v", checks)
	}
	for _, c := range checks {
		if c.Status != "passing" || c.Service != "web" || c.Task != "httpd" {
			t.Fatalf("alloc check = %+v", c)
		}
	}

	if out, _, code := a.CLI("alloc", "status", web.ID); code != 0 || !strings.Contains(out, "Nomad Service Checks") || !strings.Contains(out, "passing") {
		t.Errorf("alloc status = %d\n%s", code, out)
	}

	// A second job's template renders the healthy instance.
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/consumer.nomad.hcl"); code != 0 {
		t.Fatalf("job run consumer = %d\n%s\n%s", code, out, errOut)
	}
	var consumer *allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		consumer, err = runningAlloc(a, "consumer")
		return err
	})
	want := fmt.Sprintf("%s:%d", reg.Address, port)
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		got, err := catFile(a, consumer.ID, "render/local/upstreams.txt")
		if err != nil {
			return err
		}
		if strings.TrimSpace(got) != want {
			return fmt.Errorf("upstreams.txt = %q, want %q", got, want)
		}
		return nil
	})

	// Stop the task's server: the check goes critical, the template drops
	// the instance, and check_restart restarts the task.
	pidText, err := catFile(a, web.ID, "httpd/local/httpd.pid")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidText))
	if err != nil {
		t.Fatalf("httpd pid %q: %v", pidText, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		t.Fatalf("kill httpd %d: %v", pid, err)
	}
	sawCritical, sawEmpty := false, false
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		if regs, err := instances(a, "web"); err == nil && len(regs) == 1 && regs[0].Status == "critical" {
			sawCritical = true
		}
		if got, err := catFile(a, consumer.ID, "render/local/upstreams.txt"); err == nil && strings.TrimSpace(got) == "" {
			sawEmpty = true
		}
		if !sawCritical || !sawEmpty {
			return fmt.Errorf("critical seen %v, template emptied %v", sawCritical, sawEmpty)
		}
		return nil
	})
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var al allocStub
		if err := a.GetJSON("/v1/allocation/"+web.ID, &al); err != nil {
			return err
		}
		ts := al.TaskStates["httpd"]
		restarted := false
		for _, ev := range ts.Events {
			if ev.Type == "Restart Signaled" && strings.Contains(ev.DisplayMessage, "healthcheck") {
				restarted = true
			}
		}
		if ts.Restarts < 1 || !restarted || ts.State != "running" {
			return fmt.Errorf("httpd restarts %d, state %s, healthcheck restart event %v", ts.Restarts, ts.State, restarted)
		}
		regs, err := instances(a, "web")
		if err != nil {
			return err
		}
		if len(regs) != 1 || regs[0].Status != "passing" || regs[0].Port != port {
			return fmt.Errorf("after restart: %+v", regs)
		}
		got, err := catFile(a, consumer.ID, "render/local/upstreams.txt")
		if err != nil {
			return err
		}
		if strings.TrimSpace(got) != want {
			return fmt.Errorf("upstreams.txt after restart = %q, want %q", got, want)
		}
		return nil
	})

	// Stopping the job removes its registration.
	if out, errOut, code := a.CLI("job", "stop", "-detach", "web"); code != 0 {
		t.Fatalf("job stop web = %d\n%s\n%s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		regs, err := instances(a, "web")
		if err != nil {
			return err
		}
		if len(regs) != 0 {
			return fmt.Errorf("registrations left: %+v", regs)
		}
		return nil
	})
	if out, _, code := a.CLI("service", "list"); code != 0 || !strings.Contains(out, "No service registrations found") {
		t.Errorf("service list after stop = %d\n%s", code, out)
	}
}
