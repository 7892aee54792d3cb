package robustness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/harness"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// checkInvariants runs once the faults are healed and every peer is back.
// Each invariant is a subtest that waits, within the settle bound, for the
// cluster to reach it, and fails with what was still wrong.
func (w *world) checkInvariants() {
	w.invariant("every peer holds the same pinset", "", w.samePinset)
	w.invariant("every allocation names a member", "", w.allocationsNameMembers)
	w.invariant("no status stuck in pinning or unpinning", "", w.noneInFlight)
	w.invariant("every allocated Kubo holds its pins and no other Kubo holds them", "", w.kubosMatchAllocations)
	w.invariant("every status settles to pinned, remote or unpinned", "", w.statusesSettled)
	w.invariant("the user's pins on CIDs the cluster never pins are untouched", "", w.userPinsUntouched(false))
	w.invariant("the user's pins on the cluster's keys are untouched", "", w.userPinsUntouched(true))
	w.unpinAll()
	w.invariant("after the cluster unpins everything, no Kubo holds anything of the cluster's", "", w.nothingLeft)
	w.invariant("after the cluster unpins everything, each Kubo holds the user's pins in their modes", "", w.userPinsRestored)
	w.invariant("after the cluster unpins everything, every status is unpinned", "", w.statusesSettled)
}

// invariant runs check as a subtest. One that an open defect breaks is
// skipped in the short form, unless strict.
func (w *world) invariant(name, openDefect string, check func() error) {
	w.t.Run(name, func(t *testing.T) {
		if openDefect != "" && !w.cfg.strict {
			t.Skipf("skipped in the short form: %s (run with %s=1 or %s=long to check it)", openDefect, envStrict, envMode)
		}
		if err := within(t, w.cfg.settle, name, check); err != nil {
			t.Fatal(err)
		}
	})
}

// softTB turns the test failure of testkit.Eventually into a value, so that
// the caller can say what was still wrong.
type softTB struct {
	testing.TB
	failed string
}

func (s *softTB) Helper()                        {}
func (s *softTB) Fatalf(format string, a ...any) { s.failed = fmt.Sprintf(format, a...) }

// within waits until check returns nil, for at most d, and returns its last
// error if it never did.
func within(t testing.TB, d time.Duration, what string, check func() error) error {
	var last error
	soft := &softTB{TB: t}
	testkit.Eventually(soft, what, func() bool { last = check(); return last == nil },
		testkit.Within(d), testkit.Every(100*time.Millisecond))
	if soft.failed != "" {
		return fmt.Errorf("%s; still wrong: %w", soft.failed, last)
	}
	return nil
}

// pinset is one peer's copy of the pinset.
func pinset(p *harness.Peer) (map[cid.Cid]storage.Pin, error) {
	out := map[cid.Cid]storage.Pin{}
	err := p.Node.List(context.Background(), func(pin storage.Pin) error {
		out[pin.Cid] = pin
		return nil
	})
	return out, err
}

func (w *world) leaderPinset() (*harness.Peer, map[cid.Cid]storage.Pin, error) {
	l := w.c.Leader()
	if l == nil {
		return nil, nil, fmt.Errorf("no leader")
	}
	ps, err := pinset(l)
	return l, ps, err
}

func (w *world) samePinset() error {
	_, want, err := w.leaderPinset()
	if err != nil {
		return err
	}
	for _, p := range w.c.Alive() {
		got, err := pinset(p)
		if err != nil {
			return err
		}
		if !maps.EqualFunc(got, want, func(a, b storage.Pin) bool { return a.Name == b.Name }) {
			return fmt.Errorf("%s holds %s, the leader %s", w.names[p.ID], w.describe(got), w.describe(want))
		}
	}
	return nil
}

func (w *world) members(l *harness.Peer) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.Node.ID(ctx).ClusterPeers
}

func (w *world) allocationsNameMembers() error {
	l, ps, err := w.leaderPinset()
	if err != nil {
		return err
	}
	members := w.members(l)
	for _, p := range ps {
		for _, a := range p.Allocations {
			if !slices.Contains(members, a) {
				return fmt.Errorf("%s is allocated to %s, not a member (members %v)", w.keyName(p.Cid), a, members)
			}
		}
	}
	return nil
}

// kubosMatchAllocations: an allocated peer's Kubo holds the pin
// recursively; any other Kubo holds it only if its user pinned it there.
func (w *world) kubosMatchAllocations() error {
	_, ps, err := w.leaderPinset()
	if err != nil {
		return err
	}
	for _, q := range w.c.Peers {
		held := q.Kubo.Pins()
		for _, p := range ps {
			mode, ok := held[p.Cid.String()]
			switch {
			case p.AllocatedTo(q.ID) && mode != fakekubo.Recursive:
				return fmt.Errorf("%s is allocated to %s, whose Kubo holds it %q", w.keyName(p.Cid), w.names[q.ID], mode)
			case !p.AllocatedTo(q.ID) && ok && w.userMode(q, p.Cid) == "":
				return fmt.Errorf("%s is not allocated to %s, whose Kubo still holds it %s", w.keyName(p.Cid), w.names[q.ID], mode)
			}
		}
	}
	return nil
}

func (w *world) statusesSettled() error {
	_, ps, err := w.leaderPinset()
	if err != nil {
		return err
	}
	for _, q := range w.c.Alive() {
		for _, c := range append([]cid.Cid{w.barrier}, w.keys...) {
			want := types.StatusUnpinned
			if p, ok := ps[c]; ok && p.AllocatedTo(q.ID) {
				want = string(storage.StatusPinned)
			} else if ok {
				want = types.StatusRemote
			}
			if st := q.Node.LocalStatus(c); st.Status != want {
				return fmt.Errorf("%s on %s is %s (%s), want %s", w.keyName(c), w.names[q.ID], st.Status, st.Error, want)
			}
		}
	}
	return nil
}

// userPinsUntouched checks the user's pins on the cluster's keys (onKeys)
// or on the other CIDs: each is held as the user made it, or recursively
// where the cluster has the key allocated to that peer (one Kubo pin then
// serves both).
func (w *world) userPinsUntouched(onKeys bool) func() error {
	return func() error {
		_, ps, err := w.leaderPinset()
		if err != nil {
			return err
		}
		for _, u := range w.userPins {
			if u.inKey != onKeys {
				continue
			}
			got := u.peer.Kubo.Pins()[u.cid.String()]
			want := u.mode
			if p, ok := ps[u.cid]; ok && p.AllocatedTo(u.peer.ID) {
				want = fakekubo.Recursive
			}
			if got != want {
				return fmt.Errorf("the user's %s pin of %s on %s's Kubo is now %q, want %q", u.mode, w.keyName(u.cid), w.names[u.peer.ID], got, want)
			}
		}
		return nil
	}
}

// unpinAll removes every key and the barrier from the cluster.
func (w *world) unpinAll() {
	for _, c := range append([]cid.Cid{w.barrier}, w.keys...) {
		w.c.WaitFor("the unpin of "+w.keyName(c), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			l := w.c.Leader()
			if l == nil {
				return false
			}
			_, err := l.Node.Unpin(ctx, c)
			return err == nil || isNotFound(err)
		})
	}
}

// nothingLeft: every Kubo holds only what its user pinned (in whatever
// mode).
func (w *world) nothingLeft() error {
	for _, q := range w.c.Peers {
		for s, mode := range q.Kubo.Pins() {
			c, err := cid.Decode(s)
			if err != nil {
				return err
			}
			if w.userMode(q, c) == "" {
				return fmt.Errorf("%s's Kubo still holds %s (%s)", w.names[q.ID], w.keyName(c), mode)
			}
		}
	}
	return nil
}

// userPinsRestored: after the cluster pinned and unpinned a CID, Kubo holds
// exactly what the user held before, in the same mode.
func (w *world) userPinsRestored() error {
	for _, u := range w.userPins {
		if got := u.peer.Kubo.Pins()[u.cid.String()]; got != u.mode {
			return fmt.Errorf("the user's %s pin of %s on %s's Kubo is now %q", u.mode, w.keyName(u.cid), w.names[u.peer.ID], got)
		}
	}
	return nil
}

func (w *world) noneInFlight() error {
	for _, q := range w.c.Alive() {
		for _, c := range append([]cid.Cid{w.barrier}, w.keys...) {
			switch st := q.Node.LocalStatus(c); st.Status {
			case string(storage.StatusPinning), string(storage.StatusUnpinning):
				return fmt.Errorf("%s on %s is %s", w.keyName(c), w.names[q.ID], st.Status)
			}
		}
	}
	return nil
}

func (w *world) userMode(q *harness.Peer, c cid.Cid) string {
	for _, u := range w.userPins {
		if u.peer == q && u.cid == c {
			return u.mode
		}
	}
	return ""
}

// keyName names a CID of the run: "key 3", "the barrier", "user pin of peer1".
func (w *world) keyName(c cid.Cid) string {
	for i, k := range w.keys {
		if k == c {
			return fmt.Sprintf("key %d", i)
		}
	}
	if c == w.barrier {
		return "the barrier"
	}
	for _, u := range w.userPins {
		if u.cid == c {
			return "the user pin of " + w.names[u.peer.ID]
		}
	}
	return c.String()
}

func (w *world) describe(ps map[cid.Cid]storage.Pin) string {
	var out []string
	for c, p := range ps {
		out = append(out, fmt.Sprintf("%s=%s", w.keyName(c), p.Name))
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}

func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
