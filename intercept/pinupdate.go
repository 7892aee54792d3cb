package intercept

import (
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func textPinUpdate(_ options, w io.Writer, v any) error {
	out := v.(pinsOutput)
	_, err := fmt.Fprintf(w, "updated %s to %s\n", out.Pins[0], out.Pins[1])
	return err
}

// runPinUpdate replaces a recursive cluster pin by another: the new pin
// inherits the old one's name, replication and metadata and records the old
// CID in PinUpdate, so that the cluster can place it where most blocks
// already are. Allocations are left to the cluster. In "pinned" mode it
// returns once the new pin is pinned and, with unpin (Kubo's default),
// once this peer's node dropped the old one, as pin rm does.
func runPinUpdate(c *call) error {
	from, err := c.h.resolve(c.ctx, c.args[0])
	if err != nil {
		return err
	}
	to, err := c.h.resolve(c.ctx, c.args[1])
	if err != nil {
		return err
	}
	old, err := c.h.cluster.Get(c.ctx, from)
	if err != nil {
		return kuboErr(opUpdateFrom, c.args[0], err)
	}
	if old.Mode != storage.Recursive {
		return errors.New(msgFromNotRecursive)
	}
	out := pinsOutput{Pins: []string{c.enc.Encode(from), c.enc.Encode(to)}}
	// Kubo's pinner treats an update onto itself as done.
	if from == to {
		return c.out.once(out)
	}
	cur, err := c.h.cluster.Get(c.ctx, to)
	switch {
	case err == nil && cur.Mode == storage.Recursive:
		return errors.New(msgToAlreadyPinned)
	case err != nil && !isNotFound(err):
		return kuboErr(opPin, c.args[1], err)
	}

	p := storage.Pin{
		Cid:                  to,
		Name:                 old.Name,
		Mode:                 storage.Recursive,
		ReplicationFactorMin: old.ReplicationFactorMin,
		ReplicationFactorMax: old.ReplicationFactorMax,
		UserAllocations:      old.UserAllocations,
		Origins:              old.Origins,
		Metadata:             old.Metadata,
		ExpireAt:             old.ExpireAt,
		PinUpdate:            from,
	}
	if _, err := c.h.cluster.Pin(c.ctx, p); err != nil {
		return kuboErr(opPin, c.args[1], err)
	}
	if err := c.h.waitPinned(c.ctx, []cid.Cid{to}, nil); err != nil {
		return err
	}
	if c.opts.flag("unpin", true) {
		was, err := c.h.cluster.Unpin(c.ctx, from)
		switch {
		case err == nil:
			// Kubo's pin update returns with the old pin gone, as pin rm.
			if err := c.h.waitUnpinned(c.ctx, []storage.Pin{was}); err != nil {
				return err
			}
		case !isNotFound(err):
			return kuboErr(opUnpin, c.args[0], err)
		}
		// Not found: someone else removed it meanwhile, the outcome asked
		// for, and theirs to wait for.
	}
	return c.out.once(out)
}
