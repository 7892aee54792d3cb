package fakekubo

import (
	"sort"

	"github.com/ipfs/go-cid"
)

var repoGCOpts = []option{
	boolOpt(nil, "stream-errors"),
	boolOpt(nil, "quiet", "q"),
	boolOpt(nil, "silent"),
}

// GC is Kubo's garbage collector: it removes every block that no pin keeps,
// a recursive pin keeping its DAG as the fake knows it (SetLinks) and a
// direct pin its root, and returns the removed blocks as raw CIDs (the
// blockstore knows multihashes only), in multihash order.
func (f *Fake) GC() []cid.Cid {
	f.mu.Lock()
	defer f.mu.Unlock()
	keep := map[string]bool{}
	for c, p := range f.pins {
		keep[string(c.Hash())] = true
		if p.mode == Recursive {
			for _, d := range f.descendantsLocked(c) {
				keep[string(d.Hash())] = true
			}
		}
	}
	var gone []string
	for k := range f.blocks {
		if !keep[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	out := make([]cid.Cid, len(gone))
	for i, k := range gone {
		delete(f.blocks, k)
		out[i] = cid.NewCidV1(cid.Raw, []byte(k))
	}
	return out
}

func runRepoGC(c *call) error {
	quiet := c.flag("quiet")
	for _, k := range c.f.GC() {
		if c.flag("silent") {
			continue
		}
		obj := struct {
			Key map[string]string `json:",omitempty"`
		}{}
		if !quiet {
			obj.Key = map[string]string{"/": c.enc(k)}
		}
		if err := c.em.emit(obj); err != nil {
			return err
		}
	}
	return nil
}
