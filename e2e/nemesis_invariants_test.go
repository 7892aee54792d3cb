package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkInvariants runs once the faults are healed and every peer is back.
// Each invariant is a subtest that waits, within the settle bound, for the
// cluster to reach it, and fails with what was still wrong.
func (w *nemesisWorld) checkInvariants() {
	w.invariant("every peer's pinset holds exactly the acknowledged pins", "", w.pinsetsMatchClients)
	w.invariant("every pin is allocated to two members", "", w.allocationsNameMembers)
	w.invariant("no status stuck in pinning or unpinning", "", w.noneInFlight)
	w.invariant("every status settles to pinned, remote or unpinned", "", w.statusesSettled(false))
	w.invariant("each Kubo holds the cluster's pins where allocated, and otherwise only its user's", "", w.kubosMatchAllocations)
	w.invariant("the user's pins on CIDs the cluster never pins are untouched", "", w.userPinsUntouched)
	w.unpinAll()
	w.invariant("after the cluster unpins everything, each Kubo holds exactly its user's pins in their modes", "", w.onlyUserPinsLeft)
	w.invariant("after the cluster unpins everything, every status is unpinned", "", w.statusesSettled(true))
}

// invariant runs check as a subtest. One that an open defect breaks is
// skipped in the short form, naming the defect, unless strict.
func (w *nemesisWorld) invariant(name, openDefect string, check func() error) {
	w.t.Run(name, func(t *testing.T) {
		if openDefect != "" && !w.cfg.strict {
			t.Skipf("skipped in the short form: %s (run with %s=1 or %s=long to check it)", openDefect, envRobustnessStict, envRobustnessMode)
		}
		if err := w.within(check); err != nil {
			t.Fatal(err)
		}
	})
}

// clusterPin is the part of GET /allocations/<cid> the invariants read.
type clusterPin struct {
	Allocations []string `json:"allocations"`
}

var errNotPinned = errors.New("not in the pinset")

// pinOn reads key c from peer p's own copy of the pinset.
func (w *nemesisWorld) pinOn(p *peer, c string) (clusterPin, error) {
	var out clusterPin
	hc := http.Client{Timeout: 5 * time.Second, Transport: p.client().Transport}
	resp, err := hc.Get("http://" + p.api + "/allocations/" + c)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return out, json.NewDecoder(resp.Body).Decode(&out)
	case http.StatusNotFound:
		return out, errNotPinned
	}
	return out, fmt.Errorf("GET /allocations/%s: %s", c, resp.Status)
}

// pinset is key index -> pin, as peer p holds it.
func (w *nemesisWorld) pinset(p *peer) (map[int]clusterPin, error) {
	out := map[int]clusterPin{}
	for i, c := range w.keys {
		pin, err := w.pinOn(p, c)
		switch {
		case errors.Is(err, errNotPinned):
		case err != nil:
			return nil, fmt.Errorf("%s: %v", w.peerName(p), err)
		default:
			out[i] = pin
		}
	}
	return out, nil
}

// pinsetsMatchClients: every peer holds the same pinset, and each key whose
// last call was acknowledged is in it exactly when that call was a pin.
func (w *nemesisWorld) pinsetsMatchClients() error {
	want, err := w.pinset(w.peers[0])
	if err != nil {
		return err
	}
	for _, p := range w.peers[1:] {
		got, err := w.pinset(p)
		if err != nil {
			return err
		}
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			return fmt.Errorf("%s holds keys %v, peer0 %v", w.peerName(p), slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	}
	for i, ks := range w.owned {
		ks.mu.Lock()
		acked, pinned, unresolved, failed := ks.acked, ks.pinned, ks.unresolved, ks.failed
		ks.mu.Unlock()
		if unresolved != "" {
			w.t.Logf("key %d: last call never acknowledged (%s); its state is not checked", i, unresolved)
			continue
		}
		if _, ok := want[i]; ok != pinned {
			return fmt.Errorf("key %d: in the pinset %v, but the last of its %d acknowledged calls was a pin: %v (calls not acknowledged: %s)",
				i, ok, acked, pinned, strings.Join(failed, "; "))
		}
	}
	return nil
}

// allocationsNameMembers: with replication 2 of 3 live peers, each pin is
// allocated to two distinct members.
func (w *nemesisWorld) allocationsNameMembers() error {
	for _, p := range w.peers {
		ps, err := w.pinset(p)
		if err != nil {
			return err
		}
		for i, pin := range ps {
			a := slices.Compact(slices.Sorted(slices.Values(pin.Allocations)))
			if len(a) != 2 {
				return fmt.Errorf("%s: key %d is allocated to %v, want two peers", w.peerName(p), i, pin.Allocations)
			}
			for _, id := range a {
				if !slices.Contains(w.ids, id) {
					return fmt.Errorf("%s: key %d is allocated to %s, not a member %v", w.peerName(p), i, id, w.ids)
				}
			}
		}
	}
	return nil
}

func (w *nemesisWorld) noneInFlight() error {
	for _, p := range w.peers {
		for i, c := range w.keys {
			if st := p.localStatus(c); st == "pinning" || st == "unpinning" {
				return fmt.Errorf("key %d on %s is %s", i, w.peerName(p), st)
			}
		}
	}
	return nil
}

// statusesSettled: each peer's own status of each key is pinned where it
// is allocated, remote where it is pinned elsewhere, unpinned otherwise (or
// unpinned everywhere, after the final unpin).
func (w *nemesisWorld) statusesSettled(allUnpinned bool) func() error {
	return func() error {
		ps, err := w.pinset(w.peers[0])
		if err != nil {
			return err
		}
		for j, p := range w.peers {
			for i, c := range w.keys {
				want := "unpinned"
				if pin, ok := ps[i]; ok && !allUnpinned {
					want = "remote"
					if slices.Contains(pin.Allocations, w.ids[j]) {
						want = "pinned"
					}
				}
				if st := p.localStatus(c); st != want {
					return fmt.Errorf("key %d on %s is %q, want %q", i, w.peerName(p), st, want)
				}
			}
		}
		return nil
	}
}

// kubosMatchAllocations: a Kubo whose peer is allocated a key holds it
// recursively; any other holds it only as its user did (a direct or
// recursive pin of their own, or nothing).
func (w *nemesisWorld) kubosMatchAllocations() error {
	ps, err := w.pinset(w.peers[0])
	if err != nil {
		return err
	}
	for j, k := range w.kubos {
		held := k.pinned()
		for i, c := range w.keys {
			want := w.userMode(j, c)
			if pin, ok := ps[i]; ok && slices.Contains(pin.Allocations, w.ids[j]) {
				want = "recursive"
			}
			if got := held[c]; got != want {
				return fmt.Errorf("kubo%d holds key %d %q, want %q (the user's pin: %q)", j, i, got, want, w.userMode(j, c))
			}
		}
	}
	return nil
}

// userPinsUntouched: what each Kubo held before the run on CIDs that are
// not the cluster's keys is held as it was.
func (w *nemesisWorld) userPinsUntouched() error {
	for j, k := range w.kubos {
		held := k.pinned()
		for c, mode := range w.baseline[j] {
			if got := held[c]; !slices.Contains(w.keys, c) && got != mode {
				return fmt.Errorf("the %s pin of %s on kubo%d is now %q", mode, c, j, got)
			}
		}
	}
	return nil
}

// userMode is how kubo's user pinned c before the run, or "".
func (w *nemesisWorld) userMode(kubo int, c string) string { return w.baseline[kubo][c] }

// unpinAll removes every key through the proxies.
func (w *nemesisWorld) unpinAll() {
	for i, c := range w.keys {
		w.settleWithin(fmt.Sprintf("the unpin of key %d", i), func() error {
			err := w.rpc(w.peers[i%len(w.peers)], "pin/rm", c)
			if err != nil && strings.Contains(err.Error(), "not pinned") {
				return nil
			}
			return err
		})
	}
}

// onlyUserPinsLeft: each Kubo holds exactly what it held before the run,
// in the same modes, and nothing else.
func (w *nemesisWorld) onlyUserPinsLeft() error {
	for j, k := range w.kubos {
		if got := k.pinned(); !maps.Equal(got, w.baseline[j]) {
			return fmt.Errorf("kubo%d holds %v, want what it held before the run %v", j, got, w.baseline[j])
		}
	}
	return nil
}
