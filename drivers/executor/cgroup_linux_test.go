package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nomadish/nomadish/drivers/drivertest"
)

// cgroup2Mount returns where a cgroup v2 hierarchy is mounted: the root on
// a v2 host, /sys/fs/cgroup/unified beside v1 on a hybrid one.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	for _, p := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	t.Skip("no cgroup v2 hierarchy mounted")
	return ""
}

// TestV2Usable checks the cgroup v2 health check against real cgroups:
// the root of a v2 host passes, and a cgroup whose parent delegates no
// controllers fails with the missing controller named.
func TestV2Usable(t *testing.T) {
	mnt := cgroup2Mount(t)
	if os.Geteuid() != 0 {
		drivertest.SkipOrFail(t, "creating cgroups needs root")
	}
	if CgroupVersion() == "v2" {
		if err := v2Usable(cgroupRoot); err != nil {
			t.Errorf("v2Usable(%s) = %v, want nil", cgroupRoot, err)
		}
	}
	parent := filepath.Join(mnt, fmt.Sprintf("nomadish-test-%d", os.Getpid()))
	child := filepath.Join(parent, "child")
	if err := os.MkdirAll(child, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(parent)
	defer os.Remove(child)
	err := v2Usable(child)
	if err == nil || !strings.Contains(err.Error(), "controller cpu is not available") {
		t.Errorf("v2Usable(cgroup without controllers) = %v, want an error naming the cpu controller", err)
	}
}
