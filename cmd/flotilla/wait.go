package main

import (
	"context"
	"encoding/json"
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

	"golang.org/x/term"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

type waitFlags struct {
	fs      *flag.FlagSet
	wait    bool
	limit   int
	timeout time.Duration
}

// addWaitFlags binds ipfs-cluster-ctl's --wait, --wait-limit and
// --wait-timeout.
func addWaitFlags(fs *flag.FlagSet) *waitFlags {
	wf := &waitFlags{fs: fs}
	fs.BoolVar(&wf.wait, "wait", false, "wait until peers have pinned the content (one, or --wait-limit)")
	fs.IntVar(&wf.limit, "wait-limit", 1, "how many allocated peers --wait waits for (0: all of them); implies --wait")
	fs.DurationVar(&wf.timeout, "wait-timeout", 0, "give up waiting after this long (0: no limit)")
	return wf
}

// waiting says whether to wait: --wait, or a --wait-limit given.
func (wf *waitFlags) waiting() bool {
	limitSet := false
	wf.fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "wait-limit" })
	return wf.wait || limitSet
}

func (wf *waitFlags) check(g *globals) error {
	if wf.limit < 0 {
		return usageError(g, "--wait-limit %d: want a number of peers, or 0 for all of them", wf.limit)
	}
	return nil
}

const (
	waitFirstPoll = 50 * time.Millisecond
	waitMaxPoll   = time.Second
)

// waitPinned polls the status of target until the peers that --wait-limit
// asks for report it pinned, and fails as soon as one reports pin_error
// before then: the tracker would retry, but a user waiting on the command
// wants to know now. Progress goes to stdout as one line rewritten in place
// on a terminal, and as a line per change otherwise; quiet (--json) prints
// none. It returns the last status, for the caller to print.
func (wf *waitFlags) waitPinned(ctx context.Context, c *apiClient, g *globals, quiet bool, target string) (types.GlobalPinInfo, json.RawMessage, error) {
	if wf.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wf.timeout)
		defer cancel()
	}
	p := newProgress(g.env.Stdout, g.env.terminal(g.env.Stdout), quiet)
	defer p.done()
	poll := waitFirstPoll
	last := "no status yet"
	var followers map[string]bool // asked once, for a pin allocated everywhere
	for {
		var info types.GlobalPinInfo
		raw, err := c.call(ctx, request{method: http.MethodGet, path: "/pins/" + url.PathEscape(target)}, &info)
		if ctx.Err() != nil {
			return info, nil, waitError(ctx, target, last)
		}
		if err != nil {
			return info, nil, err
		}
		if len(info.Allocations) == 0 && followers == nil {
			if followers, err = c.followers(ctx); ctx.Err() != nil {
				return info, nil, waitError(ctx, target, last)
			} else if err != nil {
				return info, nil, err
			}
		}
		pp := progressOf(info, followers)
		want := pp.want(wf.limit)
		last = pp.String()
		p.show(target + ": " + last)
		if pp.pinned >= want {
			return info, raw, nil
		}
		if len(pp.failed) > 0 {
			return info, nil, fmt.Errorf("%s could not be pinned: %s", target, strings.Join(pp.failed, "; "))
		}
		select {
		case <-ctx.Done():
			return info, nil, waitError(ctx, target, last)
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

// pinProgress is where a pin stands on the peers allocated to it.
type pinProgress struct {
	pinned, allocated int
	others            map[string]int // the other statuses of allocated peers
	failed            []string       // the peers in pin_error, with their errors
}

// progressOf counts the peers allocated the pin: its allocations, or, for
// a pin allocated everywhere (no allocations), every peer but the read-only
// followers, which pin every pin of the cluster though none is theirs to
// hold. A follower or a peer not allocated that pinned does not make the
// pin replicated.
func progressOf(info types.GlobalPinInfo, followers map[string]bool) pinProgress {
	allocated := func(id string) bool { return !followers[id] }
	if len(info.Allocations) > 0 {
		allocated = func(id string) bool { return slices.Contains(info.Allocations, id) }
	}
	pp := pinProgress{others: map[string]int{}}
	for _, id := range slices.Sorted(maps.Keys(info.PeerMap)) {
		st := info.PeerMap[id]
		if !allocated(id) {
			continue
		}
		switch st.Status {
		case types.StatusRemote:
			continue
		case string(storage.StatusPinned):
			pp.pinned++
		case string(storage.StatusPinError):
			pp.failed = append(pp.failed, peerLabel(id, st)+": "+st.Error)
			pp.others[st.Status]++
		default:
			pp.others[st.Status]++
		}
		pp.allocated++
	}
	return pp
}

// want is how many pinned peers a limit asks for: 0 is all the allocated
// ones, and a limit above them waits for all of them rather than forever.
func (pp pinProgress) want(limit int) int {
	if limit == 0 || limit > pp.allocated {
		limit = pp.allocated
	}
	return max(limit, 1)
}

// String reads "pinned on 2/3 peers, 1 pinning".
func (pp pinProgress) String() string {
	s := fmt.Sprintf("pinned on %d/%d peers", pp.pinned, pp.allocated)
	for _, st := range slices.Sorted(maps.Keys(pp.others)) {
		s += fmt.Sprintf(", %d %s", pp.others[st], st)
	}
	return s
}

// followers are the read-only followers among the cluster's peers.
func (c *apiClient) followers(ctx context.Context) (map[string]bool, error) {
	followers := map[string]bool{}
	err := c.stream(ctx, request{method: http.MethodGet, path: "/peers"}, decodeEach(func(p types.ID, _ json.RawMessage) error {
		if peerRole(p) == types.RoleFollower {
			followers[p.ID] = true
		}
		return nil
	}))
	return followers, err
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

func newProgress(w io.Writer, tty, quiet bool) *progress {
	return &progress{w: w, tty: tty, quiet: quiet}
}

func (p *progress) show(line string) {
	if p.quiet || line == p.last {
		return
	}
	line = cleanCell(line)
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

// isTerminal asks the terminal driver rather than the file's mode: /dev/null
// is a character device too, and `< /dev/null` is no one at a prompt.
func isTerminal(stream any) bool {
	f, ok := stream.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
