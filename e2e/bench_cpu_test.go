package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpu is the CPU time the side's processes have used so far.
func (s *benchSide) cpu(t *testing.T) time.Duration {
	t.Helper()
	var total time.Duration
	for _, pid := range s.pids {
		total += processCPU(t, pid)
	}
	return total
}

// kuboCPU is the CPU time the side's Kubos have used so far.
func (s *benchSide) kuboCPU(t *testing.T) time.Duration {
	t.Helper()
	var total time.Duration
	for _, k := range s.kubos {
		if k.cmd != nil && k.cmd.Process != nil {
			total += processCPU(t, k.cmd.Process.Pid)
		}
	}
	return total
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// processCPU is a process's user and system time, from /proc (Linux).
func processCPU(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which may hold spaces: state is
	// the first, utime and stime the 12th and 13th.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	const ticksPerSecond = 100 // USER_HZ on Linux
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / ticksPerSecond
}
