//go:build e2e

package skeleton

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// waitRunning follows the job's allocations with blocking queries until
// one reads running.
func waitRunning(a *e2eutil.Agent, job string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	index := "0"
	for time.Now().Before(deadline) {
		resp, err := http.Get(a.Addr + "/v1/job/" + job + "/allocations?wait=5s&index=" + index)
		if err != nil {
			return err
		}
		var allocs []allocStub
		err = json.NewDecoder(resp.Body).Decode(&allocs)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, al := range allocs {
			if al.ClientStatus == "running" {
				return nil
			}
		}
		index = resp.Header.Get("X-Nomad-Index")
	}
	return fmt.Errorf("job %s not running within %s", job, timeout)
}

// BenchmarkSubmitToRunning measures, on a dev agent, the time from
// `job run -detach` of a raw_exec service job until its allocation reads
// running (20 jobs), and the agent's resident memory idle and after.
func BenchmarkSubmitToRunning(b *testing.B) {
	const jobs = 20
	a := e2eutil.StartDevAgent(b, "")
	time.Sleep(2 * time.Second)
	idle, err := e2eutil.RSSKB(a.Pid())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var lat []time.Duration
	for n := 0; n < b.N; n++ {
		for i := 0; i < jobs; i++ {
			id := "lat-" + strconv.Itoa(n) + "-" + strconv.Itoa(i)
			path := filepath.Join(dir, id+".nomad.hcl")
			spec := fmt.Sprintf(`job %q {
  datacenters = ["*"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`, id)
			if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if _, errOut, code := a.CLI("job", "run", "-detach", path); code != 0 {
				b.Fatalf("job run -detach %s exit %d: %s", id, code, errOut)
			}
			if err := waitRunning(a, id, 30*time.Second); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
	}
	after, err := e2eutil.RSSKB(a.Pid())
	if err != nil {
		b.Fatal(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50 := lat[len(lat)*50/100]
	p90 := lat[len(lat)*90/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p90.Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(idle)/1024, "rss-idle-MB")
	b.ReportMetric(float64(after)/1024, "rss-after-MB")
	b.Logf("submit-to-running over %d jobs: p50 %s p90 %s; agent RSS idle %d KiB, after %d KiB", len(lat), p50, p90, idle, after)
}
