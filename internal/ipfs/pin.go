package ipfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/kubo/client/rpc"
)

// Kubo's messages that mean "nothing to do" (boxo pinner.ErrNotPinned, and
// pin/ls with arguments), as clients match them.
const (
	msgNotPinned   = "not pinned or pinned indirectly"
	msgIsNotPinned = "is not pinned"
)

// HeldHeader asks the upstream of a pin/ls to answer with what IPFS
// actually holds. Kubo ignores it; a Flotilla proxy upstream (clusters of
// clusters) would otherwise answer from its pinset, where a pin that failed
// on every one of its peers still reads pinned, and this peer's tracker
// would take it as held and stop trying. Every pin/ls of this client sends
// it: the tracker, reconcile and a proxy's indirect lookups all want what
// is held.
const HeldHeader = "Flotilla-Held"

// pinLs starts a pin/ls request that asks for what is held.
func (c *Client) pinLs(args ...string) rpc.RequestBuilder {
	return c.api.Request("pin/ls", args...).Header(HeldHeader, "true")
}

// Pin types as Kubo names them.
const (
	Recursive = "recursive"
	Direct    = "direct"
	Indirect  = "indirect"
	All       = "all"
)

// Pin pins ci recursively or directly, under name unless it is empty, and
// returns once the node has pinned it. It asks for progress and calls progress(nodes, bytes) on every tick.
//
// inactivity is an inactivity timeout, like ipfs-cluster's pin_timeout: the
// pin is abandoned (ErrPinStalled) only when the fetched node and byte counts
// have not grown for that long, so a big DAG that keeps arriving is never cut
// off. Zero or less means no timeout; ctx still applies.
func (c *Client) Pin(ctx context.Context, ci cid.Cid, recursive bool, name string, inactivity time.Duration, progress func(nodes, bytes uint64)) error {
	var fetched atomic.Uint64
	w := newWatchdog(ctx, inactivity, func() error {
		return fmt.Errorf("%w: no new block of %s for %s (%d fetched)", ErrPinStalled, ci, inactivity, fetched.Load())
	})
	if inactivity > 0 {
		progress = resetOnGrowth(progress, &fetched, w.alive)
	}
	start := time.Now()
	c.log.Debug().Stringer("cid", ci).Bool("recursive", recursive).Msg("pin/add")

	err := w.end(c.pinAdd(w.ctx, ci, recursive, name, progress))
	c.log.Debug().Stringer("cid", ci).Dur("took", time.Since(start)).Err(err).Msg("pin/add done")
	return err
}

// watchdog abandons a call that shows no sign of life for a while: its
// context is cancelled with the error stalled returns, unless alive is
// called in time. A timeout of zero or less never fires.
type watchdog struct {
	parent, ctx context.Context
	cancel      context.CancelCauseFunc
	timeout     time.Duration
	timer       *time.Timer
}

func newWatchdog(parent context.Context, timeout time.Duration, stalled func() error) *watchdog {
	w := &watchdog{parent: parent, timeout: timeout}
	w.ctx, w.cancel = context.WithCancelCause(parent)
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, func() { w.cancel(stalled()) })
	}
	return w
}

// alive pushes the timeout back.
func (w *watchdog) alive() {
	if w.timer != nil {
		w.timer.Reset(w.timeout)
	}
}

// end releases the watchdog once the call returned err, and returns err,
// or the stall when that is what ended the call.
func (w *watchdog) end(err error) error {
	if w.timer != nil {
		w.timer.Stop()
	}
	if err != nil && w.parent.Err() == nil {
		if cause := context.Cause(w.ctx); errors.Is(cause, ErrPinStalled) {
			err = cause
		}
	}
	w.cancel(nil)
	return err
}

// resetOnGrowth wraps a progress callback so that reset runs whenever the
// node or byte count grows. Kubo ticks every 500ms whether or not anything
// arrived, so a tick alone is no sign of life.
func resetOnGrowth(progress func(nodes, bytes uint64), fetched *atomic.Uint64, reset func()) func(nodes, bytes uint64) {
	var lastNodes, lastBytes uint64
	return func(nodes, bytes uint64) {
		if nodes > lastNodes || bytes > lastBytes {
			lastNodes, lastBytes = max(nodes, lastNodes), max(bytes, lastBytes)
			fetched.Store(lastNodes)
			reset()
		}
		if progress != nil {
			progress(nodes, bytes)
		}
	}
}

func (c *Client) pinAdd(ctx context.Context, ci cid.Cid, recursive bool, name string, progress func(nodes, bytes uint64)) error {
	req := c.api.Request("pin/add", "/ipfs/"+ci.String()).
		Option("recursive", recursive).
		Option("progress", true)
	if name != "" {
		req = req.Option("name", name)
	}
	res, err := req.Send(ctx)
	if err != nil {
		return c.wrap("pin/add", err)
	}
	if res.Error != nil {
		return c.wrap("pin/add", res.Error)
	}
	dec := json.NewDecoder(res.Output)
	for {
		// Progress lines are {"Progress":n,"Bytes":b} (or {} at zero); the
		// last line carries Pins. An upstream that ignores progress answers
		// the Pins line alone.
		var out struct {
			Pins     []string
			Progress uint64
			Bytes    uint64
		}
		if err := dec.Decode(&out); err != nil {
			res.Cancel()
			if err == io.EOF {
				return fmt.Errorf("pin/add %s: the IPFS node at %s ended the answer without a result", ci, c.addr)
			}
			return c.wrap("pin/add", err)
		}
		if out.Pins != nil {
			// Drain so the connection is reused; a late error would be in
			// the trailer.
			return c.wrap("pin/add", res.Close())
		}
		if progress != nil {
			progress(out.Progress, out.Bytes)
		}
	}
}

// Unpin removes ci's recursive or direct pin. A CID that is not pinned (or
// only indirectly) is already in the wanted state, so that is success.
func (c *Client) Unpin(ctx context.Context, ci cid.Cid) error {
	err := c.api.Request("pin/rm", "/ipfs/"+ci.String()).
		Option("recursive", true). // removes a direct pin too
		Exec(ctx, nil)
	err = c.wrap("pin/rm", err)
	var ae *APIError
	if errors.As(err, &ae) && strings.Contains(ae.Message, msgNotPinned) {
		return nil
	}
	return err
}

// PinLs streams the node's pins of type typ (recursive, direct, indirect or
// all; "" means all) to fn, one at a time: it never holds the whole pinset.
// An error from fn stops the listing and is returned.
func (c *Client) PinLs(ctx context.Context, typ string, fn func(ci cid.Cid, typ string) error) error {
	switch typ {
	case "":
		typ = All
	case Recursive, Direct, Indirect, All:
	default:
		return fmt.Errorf("pin ls: unknown pin type %q", typ)
	}
	res, err := c.pinLs().Option("type", typ).Option("stream", true).Send(ctx)
	if err != nil {
		return c.wrap("pin/ls", err)
	}
	if res.Error != nil {
		// Checked here: client/rpc's own Pin().Ls would dereference nil.
		return c.wrap("pin/ls", res.Error)
	}
	defer res.Cancel()
	dec := json.NewDecoder(res.Output)
	for {
		var obj struct {
			Cid, Type string
			// An upstream that ignores stream=true answers one map.
			Keys map[string]struct{ Type string }
		}
		if err := dec.Decode(&obj); err != nil {
			if err == io.EOF {
				return nil
			}
			return c.wrap("pin/ls", err)
		}
		for k, v := range obj.Keys {
			if err := c.emitPin(k, v.Type, fn); err != nil {
				return err
			}
		}
		if obj.Cid != "" {
			if err := c.emitPin(obj.Cid, obj.Type, fn); err != nil {
				return err
			}
		}
	}
}

func (c *Client) emitPin(s, typ string, fn func(cid.Cid, string) error) error {
	ci, err := cid.Decode(s)
	if err != nil {
		return fmt.Errorf("pin/ls: the IPFS node at %s listed %q: %w", c.addr, s, err)
	}
	return fn(ci, typ)
}

// IsPinned reports whether the node holds ci as a recursive or a direct pin,
// and which. It asks for those two types alone: with type=all Kubo walks
// every recursive DAG looking for an indirect pin of a CID that is not
// pinned, which is slow on a big repo, and an indirect pin does not count
// anyway since it goes away with its root. For bulk checks use PinLs.
func (c *Client) IsPinned(ctx context.Context, ci cid.Cid) (typ string, pinned bool, err error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	for _, want := range []string{Recursive, Direct} {
		var out struct {
			Keys map[string]struct{ Type string }
		}
		err = c.pinLs("/ipfs/"+ci.String()).Option("type", want).Exec(ctx, &out)
		if err != nil {
			err = c.wrap("pin/ls", err)
			var ae *APIError
			if errors.As(err, &ae) && strings.Contains(ae.Message, msgIsNotPinned) {
				continue
			}
			return "", false, err
		}
		for _, v := range out.Keys {
			return v.Type, v.Type == Recursive || v.Type == Direct, nil
		}
	}
	return "", false, nil
}

// PinName is the name of ci's pin of type typ (recursive or direct), "" for
// none or no such pin.
func (c *Client) PinName(ctx context.Context, ci cid.Cid, typ string) (string, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var out struct {
		Keys map[string]struct{ Name string }
	}
	err := c.pinLs("/ipfs/"+ci.String()).Option("type", typ).Option("names", true).Exec(ctx, &out)
	if err != nil {
		err = c.wrap("pin/ls", err)
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Message, msgIsNotPinned) {
			return "", nil
		}
		return "", err
	}
	for _, v := range out.Keys {
		return v.Name, nil
	}
	return "", nil
}
