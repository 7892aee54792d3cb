package intercept

import (
	"fmt"
	"io"

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
// there, a cluster cannot).
func runPinRm(c *call) error {
	recursive := c.opts.flag("recursive", true)
	pins := make([]string, 0, len(c.args))
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
		if _, err := c.h.cluster.Unpin(c.ctx, ci); err != nil {
			return kuboErr(opUnpin, arg, err)
		}
		pins = append(pins, c.enc.Encode(ci))
	}
	return c.out.once(pinsOutput{Pins: pins})
}
