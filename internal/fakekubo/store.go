package fakekubo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// Kubo's messages (boxo pinner, kubo coreapi), which clients match on.
var (
	errNotPinned     = errors.New("not pinned or pinned indirectly")
	errFromNotPinned = errors.New("'from' cid was not recursively pinned already")
	errToPinned      = errors.New("'to' cid was already recursively pinned")
	errClosed        = errors.New("fakekubo: server closed")
)

func errOffline(c cid.Cid) error {
	return fmt.Errorf("block was not found locally (offline): ipld: could not find %s", c)
}

// putLocked makes c available. Blocks are replaced, never mutated, so a
// *block read under the lock stays valid after it.
func (f *Fake) putLocked(c cid.Cid, data []byte, isDir bool) {
	k := string(c.Hash())
	if old, ok := f.blocks[k]; ok && (data == nil || old.data != nil) {
		return
	}
	f.blocks[k] = &block{data: data, size: uint64(len(data)), isDir: isDir}
	f.notifyLocked()
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// descendantsLocked lists every CID below root in the declared DAG.
func (f *Fake) descendantsLocked(root cid.Cid) []cid.Cid {
	var out []cid.Cid
	seen := map[string]bool{string(root.Hash()): true}
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, l := range f.links[string(c.Hash())] {
			if seen[string(l.Hash())] {
				continue
			}
			seen[string(l.Hash())] = true
			out = append(out, l)
			stack = append(stack, l)
		}
	}
	return out
}

// waitBlock returns c once the fake has it: the fake's stand-in for a
// bitswap fetch.
func (f *Fake) waitBlock(ctx context.Context, c cid.Cid) (*block, error) {
	k := string(c.Hash())
	counted := false
	defer func() {
		if counted {
			f.mu.Lock()
			if f.fetching[c]--; f.fetching[c] <= 0 {
				delete(f.fetching, c)
			}
			f.mu.Unlock()
		}
	}()
	for {
		f.mu.Lock()
		if b, ok := f.blocks[k]; ok {
			f.mu.Unlock()
			return b, nil
		}
		if f.offline {
			f.mu.Unlock()
			return nil, errOffline(c)
		}
		if !counted {
			f.fetching[c]++
			counted = true
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.ctx.Done():
			return nil, errClosed
		}
	}
}

// fetch waits for root, and for a recursive fetch for every descendant,
// calling onNode as each arrives, the way Kubo's ProgressTracker counts.
func (f *Fake) fetch(ctx context.Context, root cid.Cid, recursive bool, onNode func(size uint64)) error {
	seen := map[string]bool{}
	stack := []cid.Cid{root}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[string(c.Hash())] {
			continue
		}
		seen[string(c.Hash())] = true
		b, err := f.waitBlock(ctx, c)
		if err != nil {
			return err
		}
		if onNode != nil {
			onNode(b.size)
		}
		if !recursive {
			return nil
		}
		f.mu.Lock()
		kids := f.links[string(c.Hash())] // replaced by SetLinks, never mutated
		f.mu.Unlock()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return nil
}

// pinAdd is Kubo's coreapi Pin().Add on a resolved CID.
func (f *Fake) pinAdd(ctx context.Context, c cid.Cid, recursive bool, name string, onNode func(uint64)) error {
	if err := f.fetch(ctx, c, recursive, onNode); err != nil {
		return fmt.Errorf("pin: %s", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if recursive {
		// Pinning again replaces the name, and a recursive pin replaces a
		// direct one, as boxo's dspinner does.
		f.pins[c] = pinInfo{mode: Recursive, name: name}
		return nil
	}
	if p, ok := f.pins[c]; ok && p.mode == Recursive {
		return fmt.Errorf("pin: %s already pinned recursively", c)
	}
	f.pins[c] = pinInfo{mode: Direct, name: name}
	return nil
}

// pinRm is boxo's dspinner Unpin.
func (f *Fake) pinRm(c cid.Cid, recursive bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if !ok {
		return errNotPinned
	}
	if p.mode == Recursive && !recursive {
		return fmt.Errorf("%s is pinned recursively", c)
	}
	delete(f.pins, c)
	return nil
}

// pinUpdate is boxo's dspinner Update: the new pin keeps the old name.
func (f *Fake) pinUpdate(ctx context.Context, from, to cid.Cid, unpin bool) error {
	f.mu.Lock()
	fp, ok := f.pins[from]
	toPinned := f.pins[to].mode == Recursive
	f.mu.Unlock()
	if !ok || fp.mode != Recursive {
		return errFromNotPinned
	}
	if from == to {
		return nil
	}
	if toPinned {
		return errToPinned
	}
	if err := f.fetch(ctx, to, true, nil); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pins[to] = pinInfo{mode: Recursive, name: fp.name}
	if unpin {
		delete(f.pins, from)
	}
	return nil
}

// pinned is one answer of pin/ls.
type pinned struct {
	c    cid.Cid
	typ  string // "recursive", "direct", "indirect", or "indirect through <root>"
	name string
}

// checkPinned is boxo's CheckIfPinnedWithType for one CID. mode is a pin/ls
// type; an indirect answer names the recursive root it hangs under.
func (f *Fake) checkPinned(c cid.Cid, mode string, enc func(cid.Cid) string) (pinned, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if ok && (mode == "all" || mode == p.mode) {
		return pinned{c: c, typ: p.mode, name: p.name}, true
	}
	if mode != "all" && mode != "indirect" {
		return pinned{}, false
	}
	for _, root := range f.sortedPinsLocked(Recursive) {
		if slices.Contains(f.descendantsLocked(root.c), c) {
			return pinned{c: c, typ: "indirect through " + enc(root.c)}, true
		}
	}
	return pinned{}, false
}

// listPins is Kubo's pinLsAll: recursive roots, then direct pins, then
// indirect CIDs, each CID once. The order within a type is by CID bytes,
// deterministic for tests (Kubo's is datastore order).
func (f *Fake) listPins(typ string) []pinned {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := f.sortedPinsLocked(Recursive)
	var out []pinned
	if typ == "all" || typ == Recursive {
		out = append(out, rec...)
	}
	if typ == "all" || typ == Direct {
		out = append(out, f.sortedPinsLocked(Direct)...)
	}
	if typ == "all" || typ == "indirect" {
		seen := map[cid.Cid]bool{}
		for c := range f.pins {
			seen[c] = true
		}
		for _, r := range rec {
			for _, d := range f.descendantsLocked(r.c) {
				if !seen[d] {
					seen[d] = true
					out = append(out, pinned{c: d, typ: "indirect"})
				}
			}
		}
	}
	return out
}

func (f *Fake) sortedPinsLocked(mode string) []pinned {
	var out []pinned
	for c, p := range f.pins {
		if p.mode == mode {
			out = append(out, pinned{c: c, typ: mode, name: p.name})
		}
	}
	// Binary order: deterministic, and cheap for big pinsets (no base58).
	slices.SortFunc(out, func(a, b pinned) int { return strings.Compare(a.c.KeyString(), b.c.KeyString()) })
	return out
}

// pathOrCidPath is kubo's cmdutils.PathOrCidPath (v0.42): a path, or a bare
// CID taken as /ipfs/<cid>, with the path parser's error for neither.
func pathOrCidPath(s string) (path.Path, error) {
	p, err := path.NewPath(s)
	if err == nil {
		return p, nil
	}
	if p, err2 := path.NewPath("/ipfs/" + s); err2 == nil {
		return p, nil
	}
	return nil, err
}

// resolveArg turns a Kubo path argument into the CID it names. Paths below a
// CID and IPNS names resolve only where the test declared them.
func (f *Fake) resolveArg(arg string) (cid.Cid, error) {
	p, err := pathOrCidPath(arg)
	if err != nil {
		return cid.Undef, err
	}
	segs := p.Segments()
	if !p.Mutable() && len(segs) == 2 {
		ip, err := path.NewImmutablePath(p)
		if err != nil {
			return cid.Undef, err
		}
		return ip.RootCid(), nil
	}
	f.mu.Lock()
	c, ok := f.resolve[p.String()]
	f.mu.Unlock()
	if ok {
		return c, nil
	}
	if p.Mutable() {
		return cid.Undef, fmt.Errorf("could not resolve name %q", p.String())
	}
	return cid.Undef, fmt.Errorf("no link named %q under %s", segs[2], segs[1])
}
