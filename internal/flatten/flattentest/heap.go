package flattentest

import (
	"runtime"
	"sync"
	"time"
)

// HeapPeak samples the heap in use every 20ms, after a GC, until the
// returned stop is called; stop reports how far the heap in use grew above
// where it stood at the start (in bytes, 0 if it never grew).
func HeapPeak() (stop func() int64) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var (
		wg   sync.WaitGroup
		peak uint64
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return max(0, int64(peak)-int64(base.HeapInuse))
	}
}
