//go:build e2e

// Package cgroupv2 proves the exec driver's cgroup v2 path on a real
// kernel. This project's machines are cgroup v1 hosts (the v2 hierarchy
// beside v1 holds no cpu or memory controller), so TestCgroupV2 boots a
// Linux VM under qemu whose /sys/fs/cgroup is cgroup v2 alone, and runs
// there the exec driver's tests and a dev agent (guest_test.go).
package cgroupv2

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers/drivertest"
	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// guestStep is one test binary the VM runs.
type guestStep struct {
	// name is the step's name and the binary's name in /e2e.
	name string
	// pkg is built with CGO_ENABLED=0 go test -c, with tags.
	pkg, tags string
	// run is the binary's -test.run.
	run string
	// want are tests that must have passed (no test may fail or skip).
	want []string
}

var guestSteps = []guestStep{
	{
		name: "executor", pkg: "./drivers/executor",
		run:  "^TestV2Usable$",
		want: []string{"TestV2Usable"},
	},
	{
		name: "exec", pkg: "./drivers/exec",
		run: "^(TestCgroupV2.*|TestConformance|TestIsolation|TestUserAndBadCommand)$",
		want: []string{
			"TestCgroupV2Fingerprint", "TestCgroupV2Limits", "TestCgroupV2OOMKill", "TestCgroupV2CleanExit",
			"TestConformance/OOMKill", "TestConformance/Stats", "TestConformance/RecoverAfterPluginCrash",
			"TestIsolation", "TestUserAndBadCommand",
		},
	},
	{
		name: "agent", pkg: "./e2e/cgroupv2", tags: "e2e",
		run:  "^TestGuestAgent$",
		want: []string{"TestGuestAgent/limits_stats_and_cleanup", "TestGuestAgent/OOM_Killed_event"},
	},
}

// vmTimeout bounds one boot of the VM, tests included. Under TCG on this
// project's machines the whole run takes about a minute.
const vmTimeout = 10 * time.Minute

func TestCgroupV2(t *testing.T) {
	if os.Getenv(envGuest) != "" {
		t.Skip("this is the VM itself")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		drivertest.SkipOrFail(t, "the cgroup v2 VM needs a linux/amd64 host, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	start := time.Now()
	tools := findTools(t)
	dir := t.TempDir()
	files := []initramfsFile{
		{path: "bin/busybox", src: tools.busybox},
		{path: "bin/nomadish", src: e2eutil.Binary(t)},
		{path: "e2e/input/spin.nomad.hcl", src: "input/spin.nomad.hcl"},
		{path: "e2e/input/oom.nomad.hcl", src: "input/oom.nomad.hcl"},
	}
	for _, s := range guestSteps {
		bin := filepath.Join(dir, s.name+".test")
		buildTestBinary(t, s, bin)
		files = append(files, initramfsFile{path: "e2e/" + s.name + ".test", src: bin})
	}
	for _, f := range files {
		if strings.HasSuffix(f.path, ".hcl") {
			continue
		}
		if err := checkStatic(f.src); err != nil {
			t.Fatalf("%s cannot run in the VM: %v", f.src, err)
		}
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	applets, err := busyboxApplets(tools.busybox)
	if err != nil {
		t.Fatalf("busybox applets: %v", err)
	}
	if err := writeInitramfs(initrd, files, applets, initScript(guestSteps)); err != nil {
		t.Fatalf("write initramfs: %v", err)
	}
	built := time.Since(start)

	var (
		serial string
		accel  string
	)
	for _, accel = range accelerators() {
		bootStart := time.Now()
		serial, err = bootVM(t, tools, initrd, accel, filepath.Join(dir, "serial-"+accel+".log"))
		t.Logf("VM (%s, -accel %s): %s; test binaries and initramfs: %s", filepath.Base(tools.kernel), accel,
			time.Since(bootStart).Round(time.Second), built.Round(time.Second))
		if strings.Contains(serial, markBooted) {
			break
		}
		t.Logf("VM with -accel %s did not boot (%v); output:\n%s", accel, err, tail(serial, 40))
	}
	if problems := checkSerial(serial, guestSteps); len(problems) > 0 {
		t.Errorf("cgroup v2 VM (-accel %s):\n  %s", accel, strings.Join(problems, "\n  "))
		t.Logf("serial console:\n%s", serial)
		return
	}
	for _, line := range strings.Split(serial, "\n") {
		// Step results, the cgroup setup and what the guest tests logged
		// (stats, events).
		if strings.HasPrefix(line, markStep) || strings.HasPrefix(line, "cgroup ") || strings.Contains(line, "_test.go:") {
			t.Log(line)
		}
	}
}

// Markers the VM's init prints on the serial console.
const (
	markBooted = "NOMADISH-VM-BOOTED"
	markStep   = "NOMADISH-VM-STEP"
	markDone   = "NOMADISH-VM-DONE"
)

// initScript is the VM's /init: it mounts a cgroup v2 only hierarchy with
// the cpu, memory and pids controllers enabled for children, runs each
// step's test binary and powers off.
func initScript(steps []guestStep) string {
	var b strings.Builder
	b.WriteString(`#!/bin/busybox sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpu +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
ip link set lo up
hostname nomadish-vm
echo "` + markBooted + ` $(uname -r)"
echo "cgroup mounts: $(grep cgroup /proc/mounts | tr '\n' ';')"
echo "cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers), enabled: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
export ` + envGuest + `=1 NOMADISH_REQUIRE_CGROUP2=1 ` + drivertest.EnvRequireRuntimes + `=1 NOMADISH_BIN=/bin/nomadish
cd /e2e
`)
	for _, s := range steps {
		fmt.Fprintf(&b, "t0=$(date +%%s)\n./%s.test -test.v -test.count=1 -test.timeout=5m -test.run '%s'\n", s.name, s.run)
		fmt.Fprintf(&b, "echo \"%s %s rc=$? seconds=$(( $(date +%%s) - t0 ))\"\n", markStep, s.name)
	}
	b.WriteString("echo " + markDone + "\npoweroff -f\n")
	return b.String()
}

var stepLine = regexp.MustCompile(`^` + markStep + ` (\S+) rc=(\d+)`)

// checkSerial lists what the serial output shows went wrong: a missing
// marker, a step that failed, a test that failed, skipped or did not run.
func checkSerial(serial string, steps []guestStep) []string {
	var problems []string
	if !strings.Contains(serial, markBooted) {
		return []string{"the VM did not boot to its init"}
	}
	rc := map[string]string{}
	for _, line := range strings.Split(serial, "\n") {
		if m := stepLine.FindStringSubmatch(line); m != nil {
			rc[m[1]] = m[2]
		}
		if strings.Contains(line, "--- FAIL:") || strings.Contains(line, "--- SKIP:") {
			problems = append(problems, strings.TrimSpace(line))
		}
	}
	for _, s := range steps {
		switch code, ok := rc[s.name]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("step %s did not finish", s.name))
		case code != "0":
			problems = append(problems, fmt.Sprintf("step %s exited %s", s.name, code))
		}
		for _, w := range s.want {
			if !strings.Contains(serial, "--- PASS: "+w+" (") {
				problems = append(problems, fmt.Sprintf("step %s: %s did not pass", s.name, w))
			}
		}
	}
	if !strings.Contains(serial, markDone) {
		problems = append(problems, "no "+markDone+" marker: the VM stopped before its init finished")
	}
	return problems
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// buildTestBinary builds a static test binary of step's package.
func buildTestBinary(t *testing.T, s guestStep, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"test", "-c", "-o", out, "-ldflags=-s -w"}
	if s.tags != "" {
		args = append(args, "-tags", s.tags)
	}
	args = append(args, s.pkg)
	if err := run(ctx, filepath.Join("..", ".."), []string{"CGO_ENABLED=0"}, "go", args...); err != nil {
		t.Fatalf("build %s: %v", s.pkg, err)
	}
}
