package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/parquetrail/parquetrail/internal/pipeline"
)

// Progress goes to stderr: on a terminal as one line redrawn in place, else
// (a Job's log, a file, a pipe) as a log record every progressEvery.
var (
	progressEvery = 10 * time.Second
	redrawEvery   = 250 * time.Millisecond
)

type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	log   *slog.Logger
	last  pipeline.Progress
	have  bool
	dirty bool // changed since last shown
	drawn time.Time
	stop  chan struct{}
	done  chan struct{}
}

// startProgress starts showing progress; the caller passes update as the
// pipeline's Progress and calls end when the work is over.
func (a *app) startProgress() *progress {
	p := &progress{w: a.stderr, tty: isTerminal(a.stderr) && !a.jsonLogs, log: a.logger(),
		stop: make(chan struct{}), done: make(chan struct{})}
	every := progressEvery
	if p.tty {
		every = time.Second // rate, ETA and elapsed move between updates
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				if p.have && (p.tty || p.dirty) {
					p.show()
				}
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *progress) update(pr pipeline.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stageChanged := p.have && pr.Stage != p.last.Stage
	if stageChanged && !p.tty {
		p.show() // the end of the stage before
	}
	p.last, p.have, p.dirty = pr, true, true
	if p.tty && (stageChanged || time.Since(p.drawn) >= redrawEvery) {
		p.show()
	}
}

// end shows the last state (a log line) or clears the live line.
func (p *progress) end() {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	} else if p.have && p.dirty {
		p.show()
	}
}

func (p *progress) show() {
	line := progressLine(p.last)
	p.drawn, p.dirty = time.Now(), false
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+line)
		return
	}
	pr := p.last
	attrs := []any{slog.String("stage", pr.Stage), slog.Duration("elapsed", pr.Elapsed.Round(time.Millisecond))}
	switch pr.Stage {
	case "plan":
		attrs = append(attrs, slog.Int("foldersListed", pr.FoldersListed), slog.Int("folders", pr.FoldersTotal), slog.Int64("objectsListed", pr.ObjectsListed))
	case "flatten":
		attrs = append(attrs, slog.Int("shardsDone", pr.ShardsDone), slog.Int("shards", pr.ShardsTotal),
			slog.Int64("records", pr.RecordsRead), slog.Int64("bytesRead", pr.BytesRead), slog.Int64("bytes", pr.BytesTotal))
	case "merge":
		attrs = append(attrs, slog.Int64("rowsMerged", pr.RowsMerged), slog.Int64("rows", pr.RowsTotal))
	}
	p.log.Info(line, attrs...)
}

// progressLine is the line a person reads.
func progressLine(p pipeline.Progress) string {
	el := p.Elapsed.Round(time.Second)
	switch p.Stage {
	case "plan":
		return fmt.Sprintf("plan: %d/%d date folders listed, %s objects, %s", p.FoldersListed, p.FoldersTotal, count(p.ObjectsListed), el)
	case "flatten":
		s := fmt.Sprintf("flatten: %d/%d shards, %s records, %s of %s", p.ShardsDone, p.ShardsTotal, count(p.RecordsRead), mib(p.BytesRead), mib(p.BytesTotal))
		if p.BytesTotal > 0 {
			s += fmt.Sprintf(" (%.0f%%)", 100*float64(p.BytesRead)/float64(p.BytesTotal))
		}
		if sec := p.Elapsed.Seconds(); sec > 0.5 && p.BytesRead > 0 {
			rate := float64(p.BytesRead) / sec
			s += fmt.Sprintf(", %.1f MiB/s, %s records/s", rate/(1<<20), count(int64(float64(p.RecordsRead)/sec)))
			if left := p.BytesTotal - p.BytesRead; left > 0 {
				s += ", ETA " + eta(float64(left)/rate)
			}
		}
		return s + ", " + el.String()
	case "merge":
		s := fmt.Sprintf("merge: %s of %s rows", count(p.RowsMerged), count(p.RowsTotal))
		if p.RowsTotal > 0 {
			s += fmt.Sprintf(" (%.0f%%)", 100*float64(p.RowsMerged)/float64(p.RowsTotal))
		}
		if sec := p.Elapsed.Seconds(); sec > 0.5 && p.RowsMerged > 0 {
			rate := float64(p.RowsMerged) / sec
			s += fmt.Sprintf(", %s rows/s", count(int64(rate)))
			if left := p.RowsTotal - p.RowsMerged; left > 0 {
				s += ", ETA " + eta(float64(left)/rate)
			}
		}
		return s + ", " + el.String()
	}
	return p.Stage
}

func eta(sec float64) string {
	return (time.Duration(sec*float64(time.Second)) + time.Second - 1).Truncate(time.Second).String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// count writes n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
