package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/types"
)

type waitFlags struct {
	wait    bool
	timeout time.Duration
}

func addWaitFlags(fs *flag.FlagSet) *waitFlags {
	wf := &waitFlags{}
	fs.BoolVar(&wf.wait, "wait", false, "wait until a peer has pinned the content")
	fs.DurationVar(&wf.timeout, "wait-timeout", 0, "give up waiting after this long (0: no limit)")
	return wf
}

const (
	waitFirstPoll = 50 * time.Millisecond
	waitMaxPoll   = time.Second
)

// waitPinned polls the status of target until an allocated peer reports it
// pinned, and fails as soon as one reports pin_error: the tracker would
// retry, but a user waiting on the command wants to know now. Progress goes
// to stdout as one line rewritten in place on a terminal, and as a line per
// change otherwise; with --json only the final status is printed.
func (wf *waitFlags) waitPinned(ctx context.Context, c *apiClient, g *globals, jsonOut bool, target string) error {
	if wf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wf.timeout)
		defer cancel()
	}
	p := newProgress(g.env.Stdout, jsonOut)
	defer p.done()
	poll := waitFirstPoll
	last := "no status yet"
	for {
		var info types.GlobalPinInfo
		raw, err := c.call(ctx, request{method: http.MethodGet, path: "/pins/" + url.PathEscape(target)}, &info)
		if ctx.Err() != nil {
			return waitError(ctx, target, last)
		}
		if err != nil {
			return err
		}
		last = statusCounts(info)
		p.show(target + ": " + last)
		if failed := peersWith(info, "pin_error"); len(failed) > 0 && len(peersWith(info, "pinned")) == 0 {
			return fmt.Errorf("%s could not be pinned: %s", target, strings.Join(failed, "; "))
		}
		if len(peersWith(info, "pinned")) > 0 {
			if jsonOut {
				return printJSON(g.env.Stdout, raw)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return waitError(ctx, target, last)
		case <-time.After(poll):
		}
		poll = min(2*poll, waitMaxPoll)
	}
}

func waitError(ctx context.Context, c, last string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%s is not pinned yet, giving up (%s)", c, last)
	}
	return ctx.Err()
}

// statusCounts sums up a peer map: "1 pinned, 2 pinning".
func statusCounts(info types.GlobalPinInfo) string {
	counts := map[string]int{}
	for _, st := range info.PeerMap {
		counts[st.Status]++
	}
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	if len(parts) == 0 {
		return "no peer reports it"
	}
	return strings.Join(parts, ", ")
}

// peersWith describes the peers in a status, with their errors.
func peersWith(info types.GlobalPinInfo, status string) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(info.PeerMap)) {
		st := info.PeerMap[id]
		if st.Status != status {
			continue
		}
		s := peerLabel(id, st)
		if st.Error != "" {
			s += ": " + st.Error
		}
		out = append(out, s)
	}
	return out
}

func peerLabel(id string, st types.PinStatus) string {
	if st.PeerName != "" {
		return st.PeerName
	}
	return id
}

// progress shows the latest status line.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	last  string
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, tty: isTerminal(w), quiet: quiet}
}

func (p *progress) show(line string) {
	if p.quiet || line == p.last {
		return
	}
	p.last = line
	if p.tty {
		// Carriage return and erase-line: one line, updated in place.
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done() {
	if p.tty && !p.quiet && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
