package docker

import (
	"os"
	"strconv"
	"strings"
)

// procStartTick is a process's start time in clock ticks, to tell a pid
// apart from a later process that reused it.
func procStartTick(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

func processAlive(pid int, tick uint64) bool {
	return pid > 0 && tick != 0 && procStartTick(pid) == tick
}
