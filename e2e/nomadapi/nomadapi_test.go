//go:build e2e

// Package nomadapi drives a real nomadish agent with Nomad's own Go API
// client (github.com/hashicorp/nomad/api), a client nomadish did not write.
package nomadapi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

func TestNomadAPIClient(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	conf := nomad.DefaultConfig()
	conf.Address = a.Addr
	c, err := nomad.NewClient(conf)
	if err != nil {
		t.Fatalf("nomad api NewClient: %v", err)
	}

	// Follow the event stream from the start.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.EventStream().Stream(ctx, map[nomad.Topic][]string{nomad.TopicJob: {"*"}, nomad.TopicAllocation: {"*"}}, 0, nil)
	if err != nil {
		t.Fatalf("EventStream().Stream: %v", err)
	}

	// Parse HCL on the server.
	src, err := os.ReadFile("../../jobspecs/web.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.Jobs().ParseHCL(string(src), true)
	if err != nil {
		t.Fatalf("Jobs().ParseHCL: %v", err)
	}
	if *job.ID != "web" || *job.TaskGroups[0].Count != 3 || *job.Type != "service" {
		t.Fatalf("ParseHCL = id %q count %d type %q, want web/3/service", *job.ID, *job.TaskGroups[0].Count, *job.Type)
	}

	// A blocking query on the job list, woken by the register.
	list, qm, err := c.Jobs().List(nil)
	if err != nil || len(list) != 0 {
		t.Fatalf("Jobs().List = %v, %v; want empty", list, err)
	}
	woke := make(chan uint64, 1)
	go func() {
		_, meta, err := c.Jobs().List(&nomad.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 20 * time.Second})
		if err != nil {
			woke <- 0
			return
		}
		woke <- meta.LastIndex
	}()
	time.Sleep(100 * time.Millisecond)

	resp, _, err := c.Jobs().Register(job, nil)
	if err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	if resp.EvalID == "" {
		t.Fatalf("Register response has no EvalID: %+v", resp)
	}
	select {
	case idx := <-woke:
		if idx <= qm.LastIndex {
			t.Errorf("blocking Jobs().List woke with index %d, want > %d", idx, qm.LastIndex)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("blocking Jobs().List did not wake on the register")
	}

	got, _, err := c.Jobs().Info("web", nil)
	if err != nil || *got.ID != "web" || len(got.TaskGroups) != 1 || got.TaskGroups[0].Tasks[0].Driver != "raw_exec" {
		t.Fatalf("Jobs().Info = %+v, %v", got, err)
	}
	ev, _, err := c.Evaluations().Info(resp.EvalID, nil)
	if err != nil || ev.JobID != "web" {
		t.Fatalf("Evaluations().Info = %+v, %v", ev, err)
	}
	evs, _, err := c.Evaluations().List(nil)
	if err != nil || len(evs) == 0 {
		t.Fatalf("Evaluations().List = %d, %v", len(evs), err)
	}

	var stubs []*nomad.AllocationListStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		stubs, _, err = c.Jobs().Allocations("web", false, nil)
		if err != nil {
			return err
		}
		running := 0
		for _, s := range stubs {
			if s.ClientStatus == "running" {
				running++
			}
		}
		if running != 3 {
			return fmt.Errorf("%d running", running)
		}
		return nil
	})
	alloc, _, err := c.Allocations().Info(stubs[0].ID, nil)
	if err != nil || alloc.JobID != "web" || alloc.TaskStates["server"] == nil || alloc.TaskStates["server"].State != "running" {
		t.Fatalf("Allocations().Info = %+v, %v", alloc, err)
	}
	allocs, _, err := c.Allocations().List(nil)
	if err != nil || len(allocs) != 3 {
		t.Fatalf("Allocations().List = %d, %v", len(allocs), err)
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
		t.Fatalf("Nodes().List = %+v, %v", nodes, err)
	}
	node, _, err := c.Nodes().Info(nodes[0].ID, nil)
	if err != nil || node.Attributes["driver.raw_exec"] != "1" || node.NodeResources == nil {
		t.Fatalf("Nodes().Info = %+v, %v", node, err)
	}

	// Logs, followed, through Nomad's frame decoder.
	cancelLogs := make(chan struct{})
	frames, errs := c.AllocFS().Logs(alloc, true, "server", "stdout", "start", 0, cancelLogs, nil)
	var text strings.Builder
	deadline := time.After(20 * time.Second)
	for !strings.Contains(text.String(), "serving") {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("log frames closed early: %q", text.String())
			}
			text.Write(f.Data)
		case err := <-errs:
			t.Fatalf("AllocFS().Logs: %v", err)
		case <-deadline:
			t.Fatalf("no log line within 20s: %q", text.String())
		}
	}
	close(cancelLogs)

	// The event stream saw the job and its allocations.
	sawJob, sawAlloc := false, false
	evDeadline := time.After(20 * time.Second)
	for !sawJob || !sawAlloc {
		select {
		case e := <-events:
			if e.Err != nil {
				t.Fatalf("event stream: %v", e.Err)
			}
			for _, ev := range e.Events {
				switch ev.Topic {
				case nomad.TopicJob:
					j, err := ev.Job()
					if err != nil || j == nil || *j.ID != "web" {
						t.Fatalf("Job event payload = %v, %v", j, err)
					}
					sawJob = true
				case nomad.TopicAllocation:
					al, err := ev.Allocation()
					if err != nil || al == nil || al.JobID != "web" {
						t.Fatalf("Allocation event payload = %v, %v", al, err)
					}
					sawAlloc = true
				}
			}
		case <-evDeadline:
			t.Fatalf("event stream: job event %v, allocation event %v", sawJob, sawAlloc)
		}
	}

	// Stop and purge.
	if _, _, err := c.Jobs().Deregister("web", true, nil); err != nil {
		t.Fatalf("Jobs().Deregister(purge): %v", err)
	}
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		if _, _, err := c.Jobs().Info("web", nil); err == nil {
			return fmt.Errorf("job still there")
		}
		return nil
	})
}
