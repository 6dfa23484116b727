//go:build e2e

package cluster

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// periodicEvery is the schedule of the test's periodic job (seven cron
// fields: seconds first).
const periodicEvery = 2 * time.Second

// launchSlack is how late a child may be launched after its time.
const launchSlack = 1500 * time.Millisecond

func periodicJobJSON(id string) string {
	job := map[string]interface{}{
		"ID": id, "Name": id, "Type": "batch", "Datacenters": []string{"dc1"},
		"Periodic": map[string]interface{}{
			"Enabled": true, "Spec": "*/2 * * * * * *", "SpecType": "cron", "TimeZone": "UTC",
		},
		"TaskGroups": []map[string]interface{}{{
			"Name": "g", "Count": 1,
			"Tasks": []map[string]interface{}{{
				"Name": "t", "Driver": "raw_exec",
				"Config":    map[string]interface{}{"command": "/bin/true"},
				"Resources": map[string]interface{}{"CPU": 20, "MemoryMB": 16},
			}},
		}},
	}
	b, _ := json.Marshal(map[string]interface{}{"Job": job})
	return string(b)
}

type childLaunch struct {
	id     string
	at     time.Time // the scheduled time, from the child's ID
	submit time.Time // when the leader launched it
}

// periodicChildren lists the children of parent, by scheduled time.
func periodicChildren(s *e2eutil.Agent, parent string) ([]childLaunch, error) {
	var jobs []struct {
		ID         string
		ParentID   string
		SubmitTime int64
	}
	if err := s.GetJSON("/v1/jobs?prefix="+parent+"/periodic-", &jobs); err != nil {
		return nil, err
	}
	var out []childLaunch
	for _, j := range jobs {
		sec, err := strconv.ParseInt(strings.TrimPrefix(j.ID, parent+"/periodic-"), 10, 64)
		if err != nil || j.ParentID != parent {
			return nil, fmt.Errorf("child %q (parent %q) is not named after a launch time of %s", j.ID, j.ParentID, parent)
		}
		out = append(out, childLaunch{id: j.ID, at: time.Unix(sec, 0), submit: time.Unix(0, j.SubmitTime)})
	}
	sort.Slice(out, func(i, k int) bool { return out[i].at.Before(out[k].at) })
	return out, nil
}

// TestCluster_PeriodicSurvivesLeaderLoss: a periodic job firing every two
// seconds keeps launching on time after its leader is killed; the new
// leader launches each scheduled time at most once, the old leader's
// launches included.
func TestCluster_PeriodicSurvivesLeaderLoss(t *testing.T) {
	c := startCluster(t)
	leader := c.waitLeader(nil, 10*time.Second)
	follower := c.servers[(leader+1)%3]
	code, body, err := follower.Do("PUT", "/v1/jobs", periodicJobJSON("tick"))
	if err != nil || code != 200 {
		t.Fatalf("register periodic job: %d %s %v", code, body, err)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		ch, err := periodicChildren(follower, "tick")
		if err != nil {
			return err
		}
		if len(ch) < 3 {
			return fmt.Errorf("%d children launched, want 3 before the failover", len(ch))
		}
		return nil
	})

	old := c.servers[leader]
	old.Kill()
	killed := time.Now()
	next := c.waitLeader(old, 30*time.Second)
	elected := time.Now()
	t.Logf("leader killed; a new leader after %s", elected.Sub(killed).Round(time.Millisecond))
	live := c.servers[next]
	// Five more launches from the new leader.
	time.Sleep(5*periodicEvery + launchSlack)
	end := time.Now()

	children, err := periodicChildren(live, "tick")
	if err != nil {
		t.Fatal(err)
	}
	launched := map[int64]childLaunch{}
	var latest time.Duration
	for _, ch := range children {
		leaderless := ch.at.After(killed.Add(-launchSlack)) && ch.at.Before(elected)
		if !leaderless {
			// A time that fell while there was no leader is made up late.
			latest = max(latest, ch.submit.Sub(ch.at))
		}
		if late := ch.submit.Sub(ch.at); (late > launchSlack && !leaderless) || late < -time.Second {
			t.Errorf("%s launched %s after its time, want within %s", ch.id, late.Round(time.Millisecond), launchSlack)
		}
		launched[ch.at.Unix()] = ch
		// One launch each: a second launch of the same time would add a
		// second periodic evaluation to the child.
		var evals []struct{ TriggeredBy string }
		if err := live.GetJSON("/v1/job/"+strings.ReplaceAll(ch.id, "/", "%2F")+"/evaluations", &evals); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evals {
			if e.TriggeredBy == "periodic-job" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d periodic evaluations, want exactly 1", ch.id, n)
		}
	}
	// Every scheduled time is launched, except those that fell while there
	// was no leader (of which only the latest is made up, as Nomad does).
	first := children[0].at
	var missed []string
	for at := first; !at.After(end.Add(-launchSlack)); at = at.Add(periodicEvery) {
		if _, ok := launched[at.Unix()]; ok {
			continue
		}
		if at.After(killed.Add(-launchSlack)) && at.Before(elected) {
			missed = append(missed, at.UTC().Format("15:04:05"))
			continue
		}
		t.Errorf("no child for %s (leader killed %s, new leader %s)", at.UTC().Format("15:04:05.000"),
			killed.UTC().Format("15:04:05.000"), elected.UTC().Format("15:04:05.000"))
	}
	after := 0
	for _, ch := range children {
		if ch.at.After(elected) {
			after++
		}
	}
	if after < 4 {
		t.Errorf("%d children launched after the new leader took over, want at least 4", after)
	}
	t.Logf("%d children, latest launch %s after its time; skipped while leaderless: %v",
		len(children), latest.Round(time.Millisecond), missed)
}
