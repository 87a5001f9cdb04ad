package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/parquetrail/parquetrail/internal/defaults"
	"github.com/parquetrail/parquetrail/internal/pipeline"
)

// lateArrival is --late-arrival: a duration, or "folder" for the end of
// the last UTC date folder the day touches.
type lateArrival struct {
	d      time.Duration
	folder bool
}

func (l *lateArrival) String() string {
	if l.folder {
		return "folder"
	}
	s := l.d.String() // "1h0m0s": print "1h"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (l *lateArrival) Set(s string) error {
	if s == "folder" {
		l.folder, l.d = true, 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 1h or 12h, or \"folder\"")
	}
	l.folder, l.d = false, d
	return nil
}

func (l *lateArrival) Type() string { return "duration|folder" }

func (l *lateArrival) apply(c *pipeline.Config) {
	c.LateArrival, c.LateArrivalFolder = l.d, l.folder
}

// optionalInt is an int flag without a default of its own (its help names
// where the value comes from otherwise).
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a number from 0")
	}
	o.v, o.set = n, true
	return nil
}

func (o *optionalInt) Type() string { return "int" }

// typesFlag registers --types.
func typesFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, "types", defaults.Types, `column types: typed (timestamps, JSON text) or spark (the Spark job's: string times, map<string,string> blobs, proc_ymd in the files; needs --columns seed)`)
}
