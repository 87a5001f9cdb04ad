package flattentest

import (
	"syscall"
	"time"
)

// CPUTime is the process's user plus system CPU time so far. Benchmarks
// report throughput per CPU-second with it, which stays meaningful when
// other processes share the machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
