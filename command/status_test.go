package command

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func clock() time.Time { return testNow }

func jobStatus(ui cli.Ui) cli.Command { return &JobStatusCommand{Meta: metaFor(ui), now: clock} }
func allocStatus(ui cli.Ui) cli.Command {
	return &AllocStatusCommand{Meta: metaFor(ui), now: clock}
}
func nodeStatus(ui cli.Ui) cli.Command { return &NodeStatusCommand{Meta: metaFor(ui), now: clock} }
func evalStatus(ui cli.Ui) cli.Command { return &EvalStatusCommand{Meta: metaFor(ui), now: clock} }
func evalList(ui cli.Ui) cli.Command   { return &EvalListCommand{Meta: metaFor(ui)} }
func anyStatus(ui cli.Ui) cli.Command  { return &StatusCommand{Meta: metaFor(ui)} }

const wantJobDetail = `ID            = example
Name          = example
Submit Date   = 2026-01-02T02:04:05Z
Type          = service
Priority      = 50
Datacenters   = dc1
Namespace     = default
Node Pool     = default
Status        = running
Periodic      = false
Parameterized = false

Summary
Task Group  Queued  Starting  Running  Failed  Complete  Lost
cache       0       0         1        0       0         0

Allocations
ID        Node ID   Task Group  Version  Desired  Status   Created  Modified
0af996ed  f7476465  cache       0        run      running  5m ago   4m ago
`

const wantAllocDetail = `ID                  = 0af996ed
Eval ID             = 5744eb15
Name                = example.cache[0]
Node ID             = f7476465
Node Name           = node1
Job ID              = example
Job Version         = 0
Client Status       = running
Client Description  = Tasks are running
Desired Status      = run
Desired Description = <none>
Created             = 5m ago
Modified            = 4m ago

Allocation Addresses:
Label  Dynamic  Address
*db    yes      127.0.0.1:28696 -> 6379

Task "redis" is "running"
Task Resources:
CPU      Memory   Disk     Addresses
500 MHz  256 MiB  300 MiB  db: 127.0.0.1:28696

Task Events:
Started At     = 2026-01-02T02:59:05Z
Finished At    = N/A
Total Restarts = 0
Last Restart   = N/A

Recent Events:
Time                  Type        Description
2026-01-02T02:59:07Z  Started     Task started by client
2026-01-02T02:59:06Z  Task Setup  Building Task Directory
2026-01-02T02:59:05Z  Received    Task received by client
`

const wantNodeDetail = `ID            = f7476465
Name          = node1
Node Pool     = default
Class         = <none>
DC            = dc1
Drain         = false
Eligibility   = eligible
Status        = ready
Driver Status = docker,raw_exec

Node Events
Time                  Subsystem  Message
2026-01-02T02:04:05Z  Cluster    Node registered

Allocated Resources
CPU           Memory         Disk
500/4000 MHz  256 MiB/8 GiB  300 MiB/50 GiB

Allocations
ID        Node ID   Task Group  Version  Desired  Status   Created  Modified
0af996ed  f7476465  cache       0        run      running  5m ago   4m ago
`

const wantEvalDetail = `ID                 = 5744eb15
Create Time        = 5m ago
Modify Time        = 5m ago
Status             = complete
Status Description = <none>
Type               = service
TriggeredBy        = job-register
Job ID             = example
Namespace          = default
Priority           = 50
Placement Failures = false
`

func TestStatusCommands(t *testing.T) {
	tests := []struct {
		name     string
		cmd      func(cli.Ui) cli.Command
		args     []string
		setup    func(f *fakeAgent)
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "job list", cmd: jobStatus, wantOut: "ID       Type     Priority  Status   Submit Date\nexample  service  50        running  2026-01-02T02:04:05Z\n"},
		{name: "job list empty", cmd: jobStatus, setup: func(f *fakeAgent) { delete(f.jobs, jobID) }, wantOut: "No running jobs\n"},
		{name: "job detail", cmd: jobStatus, args: []string{"example"}, wantOut: wantJobDetail},
		{name: "job by prefix", cmd: jobStatus, args: []string{"exa"}, wantOut: wantJobDetail},
		{name: "job short", cmd: jobStatus, args: []string{"-short", "example"},
			wantOut: strings.SplitAfter(wantJobDetail, "Parameterized = false\n")[0]},
		{name: "job missing", cmd: jobStatus, args: []string{"nope"}, wantCode: 1,
			wantErr: "No job(s) with prefix or id \"nope\" found\n"},
		{name: "job ambiguous prefix", cmd: jobStatus, args: []string{"ex"},
			setup: func(f *fakeAgent) {
				j := testJob()
				j.ID, j.Type = "exporter", "system"
				f.jobs[j.ID] = j
			},
			wantCode: 1,
			wantErr:  "Prefix matched multiple jobs\n\nID        Type     Priority  Status   Submit Date\nexample   service  50        running  2026-01-02T02:04:05Z\nexporter  system   50        running  2026-01-02T02:04:05Z\n"},
		{name: "job stopped with placement failure", cmd: jobStatus, args: []string{"-short", "example"},
			setup: func(f *fakeAgent) { f.jobs[jobID].Stop = true; f.jobs[jobID].Status = "dead" },
			wantOut: strings.Replace(strings.SplitAfter(wantJobDetail, "Parameterized = false\n")[0],
				"Status        = running", "Status        = dead (stopped)", 1)},
		{name: "job blocked eval", cmd: jobStatus, args: []string{"example"},
			setup: func(f *fakeAgent) {
				e := testEval("blocked")
				e.FailedTGAllocs = map[string]*structs.AllocMetric{"cache": {NodesEvaluated: 2, ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 2}}}
				f.evals[evalID] = e
			},
			wantOut: strings.Replace(wantJobDetail, "\nAllocations\n", "\nPlacement Failure\nTask Group \"cache\":\n  * Constraint \"${attr.kernel.name} = windows\": 2 nodes excluded by filter\n\nAllocations\n", 1)},
		{name: "job no allocations", cmd: jobStatus, args: []string{"example"},
			setup:   func(f *fakeAgent) { delete(f.allocs, allocID) },
			wantOut: strings.SplitAfter(wantJobDetail, "Allocations\n")[0] + "No allocations placed\n"},

		{name: "alloc detail", cmd: allocStatus, args: []string{"0af9"}, wantOut: wantAllocDetail},
		{name: "alloc short", cmd: allocStatus, args: []string{"-short", allocID},
			wantOut: strings.SplitAfter(wantAllocDetail, "Modified            = 4m ago\n")[0] + "\nAllocation Addresses:\nLabel  Dynamic  Address\n*db    yes      127.0.0.1:28696 -> 6379\n\nTask \"redis\" is \"running\"\n"},
		{name: "alloc one character", cmd: allocStatus, args: []string{"0"}, wantCode: 1,
			wantErr: "Identifier must contain at least two characters.\n"},
		{name: "alloc missing", cmd: allocStatus, args: []string{"ffff"}, wantCode: 1,
			wantErr: "No allocation(s) with prefix or id \"ffff\" found\n"},
		{name: "alloc ambiguous prefix", cmd: allocStatus, args: []string{"0a"},
			setup: func(f *fakeAgent) {
				a := testAlloc()
				a.ID = "0a11aaaa-0000-4000-8000-000000000000"
				a.CreateIndex = 20
				f.allocs[a.ID] = a
			},
			wantCode: 1,
			wantErr: "Prefix matched multiple allocations\n\n" +
				"ID        Node ID   Task Group  Version  Desired  Status   Created  Modified\n" +
				"0a11aaaa  f7476465  cache       0        run      running  5m ago   4m ago\n" +
				"0af996ed  f7476465  cache       0        run      running  5m ago   4m ago\n"},

		{name: "node list", cmd: nodeStatus,
			wantOut: "ID        Node Pool  DC   Name   Class   Drain  Eligibility  Status\nf7476465  default    dc1  node1  <none>  false  eligible     ready\n"},
		{name: "node list empty", cmd: nodeStatus, setup: func(f *fakeAgent) { delete(f.nodes, nodeID) },
			wantOut: "No nodes registered\n"},
		{name: "node detail", cmd: nodeStatus, args: []string{"f74"}, wantOut: wantNodeDetail},
		{name: "node missing", cmd: nodeStatus, args: []string{"abc"}, wantCode: 1,
			wantErr: "No node(s) with prefix \"abc\" found\n"},

		{name: "eval detail", cmd: evalStatus, args: []string{"5744"}, wantOut: wantEvalDetail},
		{name: "eval with failures", cmd: evalStatus, args: []string{evalID},
			setup: func(f *fakeAgent) {
				e := testEval("complete")
				e.FailedTGAllocs = map[string]*structs.AllocMetric{"cache": {NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"cpu": 1}}}
				e.BlockedEval = blockID
				f.evals[evalID] = e
			},
			wantOut: strings.Replace(wantEvalDetail, "Placement Failures = false\n",
				"Placement Failures = true\nBlocked Eval       = 9b8a7c6d\n", 1) +
				"\nFailed Placements\nTask Group \"cache\" (failed to place 1 allocation):\n" +
				"  * Resources exhausted on 1 nodes\n  * Dimension \"cpu\" exhausted on 1 nodes\n\n" +
				"Evaluation \"9b8a7c6d\" waiting for additional capacity to place remainder\n"},
		{name: "eval missing", cmd: evalStatus, args: []string{"ffff"}, wantCode: 1,
			wantErr: "No evaluation(s) with prefix or id \"ffff\" found\n"},
		{name: "eval list", cmd: evalList,
			wantOut: "ID        Priority  Triggered By  Job ID   Namespace  Node ID  Status    Placement Failures\n" +
				"5744eb15  50        job-register  example  default    <none>   complete  false\n"},
		{name: "eval list filtered", cmd: evalList, args: []string{"-status", "blocked"}, wantOut: "No evals found\n"},

		{name: "status lists jobs", cmd: anyStatus, wantOut: "ID       Type     Priority  Status   Submit Date\nexample  service  50        running  2026-01-02T02:04:05Z\n"},
		{name: "status finds a node", cmd: anyStatus, args: []string{"-short", "f7476465"},
			wantOut: strings.SplitAfter(wantNodeDetail, "Driver Status = docker,raw_exec\n")[0]},
		{name: "status finds an eval", cmd: anyStatus, args: []string{"5744"},
			wantOut: strings.Replace(wantEvalDetail, "Create Time        = 5m ago\nModify Time        = 5m ago", "Create Time        = <ago>\nModify Time        = <ago>", 1)},
		{name: "status finds nothing", cmd: anyStatus, args: []string{"zz"}, wantCode: 1,
			wantErr: "No matches found for \"zz\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := testCluster(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			code, out, errOut := runCmd(t, tc.cmd, "", append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if got := agoes(out, tc.wantOut); got != tc.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", got, tc.wantOut)
			}
			if got := errOut; got != tc.wantErr {
				t.Errorf("stderr =\n%s\nwant\n%s", got, tc.wantErr)
			}
		})
	}
}

var agoRe = regexp.MustCompile(`\d+[dhms](\d+[hms])? ago`)

// agoes hides relative times when the wanted text does, for commands run
// through `status`, which reads the real clock.
func agoes(got, want string) string {
	if !strings.Contains(want, "<ago>") {
		return got
	}
	return agoRe.ReplaceAllString(got, "<ago>")
}
