//go:build e2e

package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type cluster struct {
	t       *testing.T
	servers []*e2eutil.Agent
	clients []*e2eutil.Agent
	sports  [][]int
	sdirs   []string
}

func serverConfig(name string, joins []string) string {
	return fmt.Sprintf(`name = %q
server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join = [%s]
  }
}
`, name, quoteAll(joins))
}

func clientConfig(name string, joins []string) string {
	return fmt.Sprintf(`name = %q
client {
  enabled = true
  server_join {
    retry_join = [%s]
  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, name, quoteAll(joins))
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func startCluster(t *testing.T) *cluster {
	c := &cluster{t: t}
	var joins []string
	for i := 0; i < 3; i++ {
		p := e2eutil.FreePorts(t, 3)
		c.sports = append(c.sports, p)
		c.sdirs = append(c.sdirs, t.TempDir())
		joins = append(joins, fmt.Sprintf("127.0.0.1:%d", p[2]))
	}
	for i := 0; i < 3; i++ {
		c.servers = append(c.servers, c.startServer(i, joins))
	}
	for i := 0; i < 2; i++ {
		c.clients = append(c.clients, e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: clientConfig(fmt.Sprintf("client%d", i), joins)}))
	}
	c.waitLeader(nil, 30*time.Second)
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var peers []string
		if err := c.servers[0].GetJSON("/v1/status/peers", &peers); err != nil {
			return err
		}
		if len(peers) != 3 {
			return fmt.Errorf("peers = %v, want 3", peers)
		}
		return c.readyNodes(c.servers[0], 2)
	})
	return c
}

func (c *cluster) startServer(i int, joins []string) *e2eutil.Agent {
	return e2eutil.StartAgent(c.t, e2eutil.AgentOptions{
		Config:  serverConfig(fmt.Sprintf("server%d", i), joins),
		Ports:   c.sports[i],
		DataDir: c.sdirs[i] + "/data",
	})
}

func (c *cluster) joins() []string {
	var j []string
	for _, p := range c.sports {
		j = append(j, fmt.Sprintf("127.0.0.1:%d", p[2]))
	}
	return j
}

// waitLeader waits until every live server agrees on one leader other
// than not, and returns the index of the leader.
func (c *cluster) waitLeader(not *e2eutil.Agent, timeout time.Duration) int {
	c.t.Helper()
	idx := -1
	e2eutil.WaitFor(c.t, timeout, func() error {
		leaders := map[string]bool{}
		for _, s := range c.servers {
			if s.Exited() {
				continue
			}
			var l string
			if err := s.GetJSON("/v1/status/leader", &l); err != nil {
				return err
			}
			if l == "" {
				return fmt.Errorf("server %s knows no leader", s.Addr)
			}
			leaders[l] = true
		}
		if len(leaders) != 1 {
			return fmt.Errorf("servers disagree on the leader: %v", leaders)
		}
		for l := range leaders {
			for i, s := range c.servers {
				if fmt.Sprintf("127.0.0.1:%d", s.Ports[1]) == l {
					if s == not {
						return fmt.Errorf("old leader still leads")
					}
					idx = i
					return nil
				}
			}
		}
		return fmt.Errorf("leader unknown")
	})
	return idx
}

func (c *cluster) readyNodes(s *e2eutil.Agent, want int) error {
	var nodes []map[string]interface{}
	if err := s.GetJSON("/v1/nodes", &nodes); err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes {
		if n["Status"] == "ready" {
			ready++
		}
	}
	if ready != want {
		return fmt.Errorf("ready nodes = %d, want %d", ready, want)
	}
	return nil
}

func jobJSON(id string, count int) string {
	job := map[string]interface{}{
		"ID": id, "Name": id, "Type": "service", "Datacenters": []string{"dc1"},
		"TaskGroups": []map[string]interface{}{{
			"Name": "g", "Count": count,
			"Tasks": []map[string]interface{}{{
				"Name": "t", "Driver": "raw_exec",
				"Config":    map[string]interface{}{"command": "/bin/sleep", "args": []string{"600"}},
				"Resources": map[string]interface{}{"CPU": 20, "MemoryMB": 16},
			}},
		}},
	}
	b, _ := json.Marshal(map[string]interface{}{"Job": job})
	return string(b)
}

type allocStub struct {
	ID, NodeID, ClientStatus, DesiredStatus string
}

func runningAllocs(s *e2eutil.Agent, job string) ([]allocStub, error) {
	var allocs []allocStub
	if err := s.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		return nil, err
	}
	var out []allocStub
	for _, a := range allocs {
		if a.ClientStatus == "running" && a.DesiredStatus == "run" {
			out = append(out, a)
		}
	}
	return out, nil
}

func register(s *e2eutil.Agent, id string, count int) error {
	code, body, err := s.Do("PUT", "/v1/jobs", jobJSON(id, count))
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("register %s: %d %s", id, code, body)
	}
	return nil
}

// TestCluster_FailuresAndRecovery runs three servers and two clients as
// separate processes and breaks them in the ways issue #4 lists.
func TestCluster_FailuresAndRecovery(t *testing.T) {
	c := startCluster(t)
	leader := c.waitLeader(nil, 10*time.Second)
	follower := c.servers[(leader+1)%3]

	// A write through a follower is forwarded to the leader.
	if err := register(follower, "web", 4); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		r, err := runningAllocs(follower, "web")
		if err != nil {
			return err
		}
		if len(r) != 4 {
			return fmt.Errorf("%d running, want 4", len(r))
		}
		return nil
	})

	// Stale reads are answered locally, with the leader headers.
	resp, err := http.Get(follower.Addr + "/v1/jobs?stale")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stale read = %v, %v", resp, err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Nomad-KnownLeader") != "true" || resp.Header.Get("X-Nomad-LastContact") == "" || resp.Header.Get("X-Nomad-Index") == "" {
		t.Errorf("stale read headers = %v, want X-Nomad-KnownLeader true, LastContact and Index", resp.Header)
	}

	// A blocking query through a follower wakes when the leader commits.
	idx := resp.Header.Get("X-Nomad-Index")
	woke := make(chan error, 1)
	go func() {
		var jobs []map[string]interface{}
		woke <- follower.GetJSON("/v1/jobs?wait=20s&index="+idx, &jobs)
	}()
	time.Sleep(200 * time.Millisecond)
	if err := register(c.servers[leader], "wake", 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-woke:
		if err != nil {
			t.Errorf("blocking query through a follower: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("blocking query through a follower did not wake on a write")
	}

	// kill -9 the leader: a new one is elected and takes writes.
	old := c.servers[leader]
	killed := time.Now()
	old.Kill()
	newLeader := c.waitLeader(old, 20*time.Second)
	survivor := c.servers[newLeader]
	e2eutil.WaitFor(t, 20*time.Second, func() error { return register(survivor, "after-failover", 1) })
	failover := time.Since(killed)
	t.Logf("leader failover: writes accepted again %s after kill -9", failover.Round(10*time.Millisecond))
	if failover > 10*time.Second {
		t.Errorf("writes accepted again after %s, want within 10s", failover)
	}
	var job map[string]interface{}
	if err := survivor.GetJSON("/v1/job/web", &job); err != nil {
		t.Fatalf("acknowledged job lost after failover: %v", err)
	}

	// kill -9 a client right after the leader change: its node goes down
	// within 10s all the same, and its allocations move.
	r, _ := runningAllocs(survivor, "web")
	var nodes []map[string]interface{}
	if err := survivor.GetJSON("/v1/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	victimName := "client0"
	victimID := ""
	for _, n := range nodes {
		if n["Name"] == victimName {
			victimID = n["ID"].(string)
		}
	}
	onVictim := 0
	for _, a := range r {
		if a.NodeID == victimID {
			onVictim++
		}
	}
	clientKilled := time.Now()
	c.clients[0].Kill()
	e2eutil.WaitFor(t, 15*time.Second, func() error {
		var n map[string]interface{}
		if err := survivor.GetJSON("/v1/node/"+victimID, &n); err != nil {
			return err
		}
		if n["Status"] != "down" {
			return fmt.Errorf("node status %v", n["Status"])
		}
		return nil
	})
	downAfter := time.Since(clientKilled)
	t.Logf("node down detected %s after kill -9 of the client (%d allocations were on it)", downAfter.Round(10*time.Millisecond), onVictim)
	if downAfter > 10*time.Second {
		t.Errorf("node marked down after %s, want within 10s", downAfter)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		r, err := runningAllocs(survivor, "web")
		if err != nil {
			return err
		}
		for _, a := range r {
			if a.NodeID == victimID {
				return fmt.Errorf("allocation %s still on the dead node", a.ID)
			}
		}
		if len(r) != 4 {
			return fmt.Errorf("%d running, want 4", len(r))
		}
		return nil
	})

	// The client comes back on its data dir: its lost allocations are not
	// run twice.
	c.clients[0] = e2eutil.StartAgent(t, e2eutil.AgentOptions{
		Config:  clientConfig("client0", c.joins()),
		Ports:   c.clients[0].Ports,
		DataDir: c.clients[0].DataDir,
	})
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		if err := c.readyNodes(survivor, 2); err != nil {
			return err
		}
		var all []allocStub
		if err := survivor.GetJSON("/v1/job/web/allocations", &all); err != nil {
			return err
		}
		live := 0
		for _, a := range all {
			pids := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + a.ID)
			if a.DesiredStatus != "run" && len(pids) > 0 {
				return fmt.Errorf("stopped allocation %s still runs processes %v", a.ID, pids)
			}
			if a.ClientStatus == "running" && a.DesiredStatus == "run" {
				live++
			}
		}
		if live != 4 {
			return fmt.Errorf("%d allocations running, want 4", live)
		}
		return nil
	})

	// Restart the killed server: it rejoins and catches up.
	c.servers[leader] = c.startServer(leader, c.joins())
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var j map[string]interface{}
		return c.servers[leader].GetJSON("/v1/job/after-failover?stale", &j)
	})

	// Stop every server and start them again: all state comes back.
	for _, s := range c.servers {
		s.Kill()
	}
	for i := range c.servers {
		c.servers[i] = c.startServer(i, c.joins())
	}
	c.waitLeader(nil, 30*time.Second)
	for _, id := range []string{"web", "after-failover"} {
		var j map[string]interface{}
		if err := c.servers[0].GetJSON("/v1/job/"+id, &j); err != nil {
			t.Errorf("job %s after full restart: %v", id, err)
		}
	}
}

func startServers(t *testing.T, n int) *cluster {
	c := &cluster{t: t}
	var joins []string
	for i := 0; i < n; i++ {
		p := e2eutil.FreePorts(t, 3)
		c.sports = append(c.sports, p)
		c.sdirs = append(c.sdirs, t.TempDir())
		joins = append(joins, fmt.Sprintf("127.0.0.1:%d", p[2]))
	}
	for i := 0; i < n; i++ {
		c.servers = append(c.servers, c.startServer(i, joins))
	}
	c.waitLeader(nil, 30*time.Second)
	c.waitPeers(c.servers[0], n)
	return c
}

func (c *cluster) waitPeers(s *e2eutil.Agent, n int) {
	c.t.Helper()
	e2eutil.WaitFor(c.t, 30*time.Second, func() error {
		var peers []string
		if err := s.GetJSON("/v1/status/peers", &peers); err != nil {
			return err
		}
		if len(peers) != n {
			return fmt.Errorf("peers = %v, want %d", peers, n)
		}
		return nil
	})
}

// TestCluster_MembershipChanges: a fourth server becomes a voter; a failed
// server is removed once its replacement has joined.
func TestCluster_MembershipChanges(t *testing.T) {
	c := startServers(t, 3)

	// A fourth server joins as a voter.
	p := e2eutil.FreePorts(t, 3)
	c.sports = append(c.sports, p)
	c.sdirs = append(c.sdirs, t.TempDir())
	c.servers = append(c.servers, c.startServer(3, c.joins()))
	c.waitPeers(c.servers[0], 4)
	var conf struct {
		Servers []struct {
			ID    string
			Voter bool
		}
	}
	if err := c.servers[0].GetJSON("/v1/operator/raft/configuration", &conf); err != nil {
		t.Fatal(err)
	}
	for _, s := range conf.Servers {
		if !s.Voter {
			t.Errorf("server %s is not a voter", s.ID)
		}
	}

	// A follower dies; with four voters and three left alive the quorum
	// holds, and dead server cleanup takes the dead one out.
	leader := c.waitLeader(nil, 10*time.Second)
	victim := (leader + 1) % 4
	c.servers[victim].Kill()
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var peers []string
		if err := c.servers[leader].GetJSON("/v1/status/peers", &peers); err != nil {
			return err
		}
		for _, pa := range peers {
			if pa == fmt.Sprintf("127.0.0.1:%d", c.sports[victim][1]) {
				return fmt.Errorf("dead server still in peers %v", peers)
			}
		}
		if len(peers) != 3 {
			return fmt.Errorf("peers = %v, want 3", peers)
		}
		return nil
	})
	out, _, code := c.servers[leader].CLI("operator", "raft", "list-peers")
	if code != 0 || strings.Count(out, "127.0.0.1:") != 3 {
		t.Errorf("operator raft list-peers = %d:\n%s", code, out)
	}
	out, _, code = c.servers[leader].CLI("server", "members")
	if code != 0 || !strings.Contains(out, "failed") || !strings.Contains(out, "true") {
		t.Errorf("server members = %d:\n%s", code, out)
	}
}

// TestCluster_NoAcknowledgedWriteLost sends 1,000 registrations to all
// three servers at once and kills the leader midway: every registration
// that got a 200 must be there afterwards, exactly once.
func TestCluster_NoAcknowledgedWriteLost(t *testing.T) {
	c := startServers(t, 3)
	leader := c.waitLeader(nil, 10*time.Second)
	const total = 1000
	type result struct {
		id string
		ok bool
	}
	results := make(chan result, total)
	work := make(chan int, total)
	for i := 0; i < total; i++ {
		work <- i
	}
	close(work)
	var killOnce sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range work {
				if i == total/4 {
					killOnce.Do(func() { go c.servers[leader].Kill() })
				}
				s := c.servers[i%3]
				id := fmt.Sprintf("reg-%04d", i)
				code, _, err := s.Do("PUT", "/v1/jobs", jobJSON(id, 0))
				results <- result{id: id, ok: err == nil && code == 200}
			}
		}(w)
	}
	wg.Wait()
	close(results)
	acked := map[string]bool{}
	for r := range results {
		if r.ok {
			acked[r.id] = true
		}
	}
	newLeader := c.waitLeader(c.servers[leader], 20*time.Second)
	var jobs []struct {
		ID      string
		Version uint64
	}
	if err := c.servers[newLeader].GetJSON("/v1/jobs", &jobs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, j := range jobs {
		seen[j.ID]++
		if j.Version != 0 {
			t.Errorf("job %s has version %d, want 0 (registered once)", j.ID, j.Version)
		}
	}
	lost := 0
	for id := range acked {
		if seen[id] != 1 {
			lost++
			t.Errorf("acknowledged job %s present %d times", id, seen[id])
		}
	}
	t.Logf("%d of %d registrations acknowledged during the leader kill; %d lost", len(acked), total, lost)
	if len(acked) < total/2 {
		t.Errorf("only %d registrations acknowledged; the cluster should keep taking writes", len(acked))
	}
}

// TestCluster_GossipEncryption: an agent with the wrong key cannot join,
// and says why.
func TestCluster_GossipEncryption(t *testing.T) {
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	wrong := "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
	p := e2eutil.FreePorts(t, 3)
	srv := e2eutil.StartAgent(t, e2eutil.AgentOptions{Ports: p, Config: fmt.Sprintf(`name = "enc-server"
server {
  enabled          = true
  bootstrap_expect = 1
  encrypt          = %q
}
`, key)})
	join := fmt.Sprintf("127.0.0.1:%d", p[2])
	good := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = "good"
server {
  encrypt = %q
}
client {
  enabled = true
  server_join {
    retry_join = [%q]
  }
}
`, key, join)})
	bad := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = "bad"
server {
  encrypt = %q
}
client {
  enabled = true
  server_join {
    retry_join = [%q]
  }
}
`, wrong, join)})
	_ = good
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var nodes []map[string]interface{}
		if err := srv.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0]["Name"] != "good" {
			return fmt.Errorf("nodes = %v, want only good", nodes)
		}
		return nil
	})
	e2eutil.WaitFor(t, 20*time.Second, func() error {
		if !strings.Contains(bad.Output(), "join failed") {
			return fmt.Errorf("the agent with the wrong key has not logged why it cannot join")
		}
		return nil
	})
	t.Logf("wrong-key agent log: %s", lastLineWith(bad.Output(), "join failed"))
}

func lastLineWith(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}

// TestCluster_FiveServersStaticClient: five servers form a quorum, and a
// client configured with `client { servers = [...] }` (no gossip join)
// registers and runs work.
func TestCluster_FiveServersStaticClient(t *testing.T) {
	c := startServers(t, 5)
	var rpcs []string
	for _, p := range c.sports {
		rpcs = append(rpcs, fmt.Sprintf("127.0.0.1:%d", p[1]))
	}
	cl := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = "static-client"
client {
  enabled = true
  servers = [%s]
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, quoteAll(rpcs))})
	_ = cl
	e2eutil.WaitFor(t, 30*time.Second, func() error { return c.readyNodes(c.servers[2], 1) })
	if err := register(c.servers[4], "five", 2); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		r, err := runningAllocs(c.servers[1], "five")
		if err != nil {
			return err
		}
		if len(r) != 2 {
			return fmt.Errorf("%d running, want 2", len(r))
		}
		return nil
	})
}

// TestCluster_SnapshotIntoFreshCluster saves a snapshot with the CLI and
// restores it into a new cluster: every job, allocation, node and
// evaluation comes back.
func TestCluster_SnapshotIntoFreshCluster(t *testing.T) {
	src := e2eutil.StartDevAgent(t, "")
	if _, errOut, code := src.CLI("job", "run", "../../jobspecs/web.nomad.hcl"); code != 0 {
		t.Fatalf("job run: %s", errOut)
	}
	count := func(a *e2eutil.Agent, path string) int {
		var list []map[string]interface{}
		if err := a.GetJSON(path, &list); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return len(list)
	}
	want := map[string]int{}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		r, err := runningAllocs(src, "web")
		if err != nil || len(r) != 3 {
			return fmt.Errorf("running = %d, %v", len(r), err)
		}
		return nil
	})
	for _, p := range []string{"/v1/jobs", "/v1/allocations", "/v1/nodes", "/v1/evaluations"} {
		want[p] = count(src, p)
	}
	file := t.TempDir() + "/backup.snap"
	if out, errOut, code := src.CLI("operator", "snapshot", "save", file); code != 0 {
		t.Fatalf("snapshot save = %d %s %s", code, out, errOut)
	}
	src.Stop(30 * time.Second)

	dst := startServers(t, 3)
	leader := dst.servers[dst.waitLeader(nil, 10*time.Second)]
	if out, errOut, code := dst.servers[0].CLI("operator", "snapshot", "restore", file); code != 0 {
		t.Fatalf("snapshot restore = %d %s %s", code, out, errOut)
	}
	for p, n := range want {
		if got := count(leader, p); got != n {
			t.Errorf("after restore %s has %d entries, want %d", p, got, n)
		}
	}
	var job map[string]interface{}
	if err := dst.servers[1].GetJSON("/v1/job/web", &job); err != nil {
		t.Errorf("restored job not readable through another server: %v", err)
	}
	if out, _, code := leader.CLI("operator", "gossip", "keyring", "-generate"); code != 0 || len(strings.TrimSpace(out)) != 44 {
		t.Errorf("keyring -generate = %d %q, want a 44-character base64 key", code, out)
	}
}
