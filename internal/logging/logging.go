// Package logging builds the process logger and adapts the loggers of
// dependencies (hashicorp/raft's hclog) onto it, so that every line the
// process prints is one structured zerolog event.
package logging

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// New returns the root logger: human-readable on a terminal, JSON otherwise.
func New(out *os.File, level string) (zerolog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), err
	}
	var w io.Writer = out
	if isatty.IsTerminal(out.Fd()) {
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// ParseLevel reads a level name in any case; empty is info. zerolog's own
// error says it defaults to no level, which is not what New does.
func ParseLevel(level string) (zerolog.Level, error) {
	if level == "" {
		return zerolog.InfoLevel, nil
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil {
		return zerolog.NoLevel, fmt.Errorf("%q is not a log level: use debug, info, warn or error", level)
	}
	return lvl, nil
}

// HCLog adapts a zerolog logger for libraries that take an hclog.Logger.
// hclog writes text lines; each becomes one zerolog event at its level.
func HCLog(log zerolog.Logger, name string) hclog.Logger {
	level := hclog.Info
	switch log.GetLevel() {
	case zerolog.TraceLevel:
		level = hclog.Trace
	case zerolog.DebugLevel:
		level = hclog.Debug
	case zerolog.WarnLevel:
		level = hclog.Warn
	case zerolog.ErrorLevel, zerolog.FatalLevel, zerolog.PanicLevel:
		level = hclog.Error
	case zerolog.Disabled:
		level = hclog.Off
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            name,
		Level:           level,
		Output:          &hclogWriter{log: log, repeats: &repeatLimiter{now: time.Now}},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// Raft reports these as warnings or errors, though each is a routine step:
// an election starting or going on (the cluster's own line says when a
// peer stays without a leader, cluster/watchleader.go), a follower's log
// caught up from further back (every join, every restart), a vote refused
// while a leader is known, a leader that handed over (every clean stop of
// a leader) and a connection cut by its own shutdown. An operator should
// not be alarmed by them.
var routineRaftLines = []string{
	"peer has newer term, stopping replication",
	`failed to decode incoming command: error="transport shutdown"`,
	"heartbeat timeout reached, starting election",
	"Election timeout reached, restarting election",
	"appendEntries rejected, sending older logs",
	"failed to get previous log",
	"rejecting pre-vote request since we have a leader",
}

func routineRaftLine(line string) bool {
	for _, r := range routineRaftLines {
		if strings.Contains(line, r) {
			return true
		}
	}
	return false
}

type hclogWriter struct {
	log     zerolog.Logger
	repeats *repeatLimiter
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	ev := w.log.Info()
	for tag, lvl := range map[string]zerolog.Level{
		"[TRACE]": zerolog.TraceLevel, "[DEBUG]": zerolog.DebugLevel, "[INFO]": zerolog.InfoLevel,
		"[WARN]": zerolog.WarnLevel, "[ERROR]": zerolog.ErrorLevel,
	} {
		if rest, ok := strings.CutPrefix(line, tag); ok {
			ev = w.log.WithLevel(lvl)
			line = strings.TrimSpace(rest)
			break
		}
	}
	if routineRaftLine(line) {
		ev = w.log.Info()
	}
	if repeating, pass, skipped := w.repeats.repeating(line); repeating {
		if !pass {
			return len(p), nil
		}
		ev = w.log.Warn()
		if skipped > 0 {
			ev = ev.Int("repeats_not_logged", skipped)
		}
	}
	ev.Msg(line)
	return len(p), nil
}
