package intercept

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// pinsOutput is Kubo's PinOutput: Pins is never omitted.
type pinsOutput struct {
	Pins []string
}

func textPinRm(_ options, w io.Writer, v any) error {
	for _, k := range v.(pinsOutput).Pins {
		if _, err := fmt.Fprintf(w, "unpinned %s\n", k); err != nil {
			return err
		}
	}
	return nil
}

// runPinRm removes each argument's cluster pin; the first argument that
// fails to resolve, or is not pinned as asked, aborts and the earlier ones
// are removed, as in Kubo. The removals are committed at once, so that the
// node's group commit takes them into few log entries (see pinMany).
// recursive=false removes only direct pins, so it looks at the pin first
// (a concurrent re-pin between the look and the removal wins the race;
// Kubo holds a lock there, a cluster cannot). In "pinned" mode it then
// waits until this peer's IPFS node has dropped the removed pins, as Kubo's
// pin rm returns when the pin is gone: a repo gc right after it collects
// the blocks.
func runPinRm(c *call) error {
	recursive := c.opts.flag("recursive", true)
	cids, stop := c.resolveInOrder(func(arg string) (cid.Cid, error) { return c.resolveForUnpin(arg, recursive) })
	uniq, argOf := distinct(cids, c.args)
	removed := make([]storage.Pin, len(uniq))
	err := commitEach(c.ctx, uniq, func(ctx context.Context, i int, ci cid.Cid) error {
		was, err := c.h.cluster.Unpin(ctx, ci)
		if err != nil {
			return kuboErr(opUnpin, argOf[ci], err)
		}
		removed[i] = was
		return nil
	})
	if err != nil {
		return err
	}
	if stop != nil {
		return stop
	}
	if err := c.h.waitUnpinned(c.ctx, removed); err != nil {
		return err
	}
	pins := make([]string, len(cids))
	for i, ci := range cids {
		pins[i] = c.enc.Encode(ci)
	}
	return c.out.once(pinsOutput{Pins: pins})
}

// resolveForUnpin resolves arg, which must be pinned (directly, with
// recursive false): an argument that is not stops the command there, as in
// Kubo, before the removals go out together.
func (c *call) resolveForUnpin(arg string, recursive bool) (cid.Cid, error) {
	ci, err := c.h.resolve(c.ctx, arg)
	if err != nil {
		return ci, err
	}
	cur, err := c.h.cluster.Get(c.ctx, ci)
	if err != nil {
		return cid.Undef, kuboErr(opUnpin, arg, err)
	}
	if !recursive && cur.Mode == storage.Recursive {
		return cid.Undef, errPinnedRecursively(ci)
	}
	return ci, nil
}

// waitUnpinned waits for every removed pin concurrently, when the operator
// asked for "pinned" semantics, and returns the first failure.
func (h *Handlers) waitUnpinned(ctx context.Context, removed []storage.Pin) error {
	if !h.opts.WaitPinned {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxWaits)
	for _, p := range removed {
		g.Go(func() error {
			if err := h.cluster.WaitUnpinned(gctx, p); err != nil {
				return kuboErr(opUnpin, p.Cid.String(), err)
			}
			return nil
		})
	}
	return g.Wait()
}
