package intercept

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

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

// runPinRm removes each argument's cluster pin in order; the first failure
// aborts and the earlier ones stay removed, as in Kubo. recursive=false
// removes only direct pins, so it looks at the pin first (a concurrent
// re-pin between the look and the removal wins the race; Kubo holds a lock
// there, a cluster cannot). In "pinned" mode it then waits until this
// peer's IPFS node has dropped the removed pins, as Kubo's pin rm returns
// when the pin is gone: a repo gc right after it collects the blocks.
func runPinRm(c *call) error {
	recursive := c.opts.flag("recursive", true)
	pins := make([]string, 0, len(c.args))
	removed := make([]storage.Pin, 0, len(c.args))
	for _, arg := range c.args {
		ci, err := c.h.resolve(c.ctx, arg)
		if err != nil {
			return err
		}
		if !recursive {
			cur, err := c.h.cluster.Get(c.ctx, ci)
			if err != nil {
				return kuboErr(opUnpin, arg, err)
			}
			if cur.Mode == storage.Recursive {
				return errPinnedRecursively(ci)
			}
		}
		was, err := c.h.cluster.Unpin(c.ctx, ci)
		if err != nil {
			return kuboErr(opUnpin, arg, err)
		}
		removed = append(removed, was)
		pins = append(pins, c.enc.Encode(ci))
	}
	if err := c.h.waitUnpinned(c.ctx, removed); err != nil {
		return err
	}
	return c.out.once(pinsOutput{Pins: pins})
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
