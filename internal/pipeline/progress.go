package pipeline

import "time"

// planProgress adapts the planner's folder count to Progress.
func planProgress(fn func(Progress)) func(listed, folders int, objects int64) {
	if fn == nil {
		return nil
	}
	start := time.Now()
	return func(listed, folders int, objects int64) {
		fn(Progress{Stage: "plan", FoldersListed: listed, FoldersTotal: folders, ObjectsListed: objects, Elapsed: time.Since(start)})
	}
}
