//go:build e2e

// Package partition runs a three-server cluster as containers on a private
// Docker network and cuts the leader off with `docker network disconnect`.
package partition

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// buildImage builds an image FROM scratch holding only the static binary.
func buildImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin, err := os.ReadFile(e2eutil.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nomadish"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY nomadish /nomadish\nENTRYPOINT [\"/nomadish\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("nomadish-e2e:%d", time.Now().UnixNano())
	cmd := exec.Command("docker", "build", "-q", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

type node struct {
	name    string
	dataIP  string
	ctlAddr string
}

func (n *node) api(method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+n.ctlAddr+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	c := &http.Client{Timeout: 45 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

type raftState struct {
	State string
	Term  string
}

func (n *node) raft() (raftState, error) {
	code, body, err := n.api("GET", "/v1/agent/self", "")
	if err != nil || code != 200 {
		return raftState{}, fmt.Errorf("agent/self %d %v", code, err)
	}
	var self struct {
		Stats map[string]map[string]string `json:"stats"`
	}
	if err := json.Unmarshal([]byte(body), &self); err != nil {
		return raftState{}, err
	}
	return raftState{State: self.Stats["raft"]["state"], Term: self.Stats["raft"]["term"]}, nil
}

func jobBody(id string) string {
	b, _ := json.Marshal(map[string]interface{}{"Job": map[string]interface{}{
		"ID": id, "Type": "batch", "Datacenters": []string{"dc1"},
		"TaskGroups": []map[string]interface{}{{"Name": "g", "Count": 0, "Tasks": []map[string]interface{}{{
			"Name": "t", "Driver": "raw_exec", "Config": map[string]interface{}{"command": "/bin/true"},
		}}}},
	}})
	return string(b)
}

// TestPartition_LeaderCutOff: the leader is disconnected from the cluster
// network. The majority elects a new leader and keeps taking writes, the
// cut-off server refuses them, no two servers lead the same term, and after
// the network heals every acknowledged write is everywhere.
func TestPartition_LeaderCutOff(t *testing.T) {
	if _, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Fatalf("the Docker Engine is required for this test and is not reachable: %v", err)
	}
	image := buildImage(t)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	dataNet := "nomadish-data-" + suffix
	ctlNet := "nomadish-ctl-" + suffix
	var subnet string
	for i := 0; ; i++ {
		subnet = fmt.Sprintf("10.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(250))
		if out, err := exec.Command("docker", "network", "create", "--subnet", subnet, dataNet).CombinedOutput(); err == nil {
			break
		} else if i > 10 {
			t.Fatalf("create data network: %v\n%s", err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", dataNet).Run() })
	docker(t, "network", "create", ctlNet)
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", ctlNet).Run() })

	prefix := strings.TrimSuffix(subnet, "0/24")
	var nodes []*node
	var joins []string
	for i := 0; i < 3; i++ {
		n := &node{name: fmt.Sprintf("nomadish-s%d-%s", i, suffix), dataIP: fmt.Sprintf("%s%d", prefix, 10+i)}
		nodes = append(nodes, n)
		joins = append(joins, n.dataIP+":4648")
	}
	for _, n := range nodes {
		args := []string{"run", "-d", "--name", n.name, "--network", dataNet, "--ip", n.dataIP, image,
			"agent", "-server", "-bootstrap-expect", "3", "-data-dir", "/data", "-node", n.name, "-bind", "0.0.0.0"}
		for _, j := range joins {
			args = append(args, "-retry-join", j)
		}
		docker(t, args...)
		name := n.name
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := exec.Command("docker", "logs", "--tail", "60", name).CombinedOutput()
				t.Logf("%s logs:\n%s", name, out)
			}
			_ = exec.Command("docker", "rm", "-f", name).Run()
		})
		// Attach the control network after start, so the agent advertises
		// its data network address (the first private one it finds).
		docker(t, "network", "connect", ctlNet, n.name)
		ip := docker(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", ctlNet), n.name)
		n.ctlAddr = ip + ":4646"
	}

	leaderOf := func(exclude *node) *node {
		var l *node
		e2eutil.WaitFor(t, 60*time.Second, func() error {
			l = nil
			for _, n := range nodes {
				if n == exclude {
					continue
				}
				rs, err := n.raft()
				if err != nil {
					return err
				}
				if rs.State == "Leader" {
					l = n
				}
			}
			if l == nil {
				return fmt.Errorf("no leader yet")
			}
			return nil
		})
		return l
	}
	leader := leaderOf(nil)

	// Watch every server's (state, term) the whole time: a term may have
	// one leader at most.
	stop := make(chan struct{})
	var mu sync.Mutex
	leadersByTerm := map[string]map[string]bool{}
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, n := range nodes {
				if rs, err := n.raft(); err == nil && rs.State == "Leader" {
					mu.Lock()
					if leadersByTerm[rs.Term] == nil {
						leadersByTerm[rs.Term] = map[string]bool{}
					}
					leadersByTerm[rs.Term][n.name] = true
					mu.Unlock()
				}
			}
		}
	}()

	acked := map[string]bool{}
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("before-%d", i)
		if code, body, err := leader.api("PUT", "/v1/jobs", jobBody(id)); err != nil || code != 200 {
			t.Fatalf("register %s: %d %s %v", id, code, body, err)
		}
		acked[id] = true
	}

	// Cut the leader off.
	docker(t, "network", "disconnect", dataNet, leader.name)
	cut := time.Now()
	newLeader := leaderOf(leader)
	t.Logf("new leader %s elected %s after the partition", newLeader.name, time.Since(cut).Round(10*time.Millisecond))

	// The majority takes writes.
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("during-%d", i)
		e2eutil.WaitFor(t, 30*time.Second, func() error {
			code, body, err := newLeader.api("PUT", "/v1/jobs", jobBody(id))
			if err != nil || code != 200 {
				return fmt.Errorf("register %s on the majority: %d %s %v", id, code, body, err)
			}
			return nil
		})
		acked[id] = true
	}
	// The minority refuses them.
	code, body, err := leader.api("PUT", "/v1/jobs", jobBody("minority"))
	if err == nil && code == 200 {
		t.Errorf("the cut-off server accepted a write: %s", body)
	}
	t.Logf("write to the cut-off server: %d %q %v", code, strings.TrimSpace(body), err)

	// Heal: everyone agrees again and has every acknowledged write.
	docker(t, "network", "connect", "--ip", leader.dataIP, dataNet, leader.name)
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		for _, n := range nodes {
			var jobs []struct{ ID string }
			code, body, err := n.api("GET", "/v1/jobs?stale", "")
			if err != nil || code != 200 {
				return fmt.Errorf("%s: %d %v", n.name, code, err)
			}
			if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&jobs); err != nil {
				return err
			}
			have := map[string]bool{}
			for _, j := range jobs {
				have[j.ID] = true
			}
			for id := range acked {
				if !have[id] {
					return fmt.Errorf("%s lacks acknowledged job %s", n.name, id)
				}
			}
			if have["minority"] {
				return fmt.Errorf("%s has the write the minority refused", n.name)
			}
		}
		return nil
	})
	close(stop)
	watch.Wait()
	for term, who := range leadersByTerm {
		if len(who) > 1 {
			t.Errorf("term %s had %d leaders: %v", term, len(who), who)
		}
	}
	t.Logf("leaders seen by term: %v", leadersByTerm)
}
