package intercept

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/cidtext"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// pinLsObject is Kubo's streamed pin ls line; every field is omitempty.
type pinLsObject struct {
	Cid  string `json:",omitempty"`
	Name string `json:",omitempty"`
	Type string `json:",omitempty"`
}

// textPinLs is Kubo's text encoder for pin ls. The sinks write their lines
// themselves; the command declares it so that encoding=text answers as
// text/plain.
func textPinLs(o options, w io.Writer, v any) error {
	_, err := w.Write(appendPinLsText(nil, o.flag("quiet", false), v.(pinLsObject)))
	return err
}

// runPinLs lists the cluster pinset (the roots: recursive and direct),
// then, for type=all or indirect, the upstream node's indirect pins, each
// CID once with Kubo's priority recursive > direct > indirect.
func runPinLs(c *call) error {
	typ := "all"
	if c.opts.isSet("type") {
		typ = c.opts.str("type")
	}
	filter := c.opts.str("name")
	if err := storage.ValidatePinName(filter); err != nil {
		return err
	}
	switch typ {
	case "all", "recursive", "direct", "indirect":
	default:
		return errInvalidType(typ)
	}
	display := c.opts.flag("names", false) || filter != ""
	stream := c.opts.flag("stream", false)

	var sink lsSink = newStreamSink(c.out, c.opts)
	if !stream {
		sink = newKeysSink(c.out, c.opts)
	}
	if len(c.args) > 0 {
		err := c.lsArgs(sink, typ, display)
		if err != nil && stream {
			// As Kubo: the lines before the failing argument, then the
			// error in the trailer.
			_ = sink.finish()
		}
		return err
	}
	var err error
	if typ != "indirect" {
		err = c.listRoots(sink, typ, filter, display)
	}
	if err == nil && (typ == "all" || typ == "indirect") && filter == "" {
		err = c.listIndirect(sink)
	}
	if err != nil {
		// A cluster failure is not one Kubo can have. On a stream it goes in
		// the trailer even before the first line: client/rpc's Pin().Ls
		// panics on any error status, while a trailer reaches it (and the
		// CLI) as an ordinary error.
		if stream {
			_ = sink.finish()
			c.out.start(true)
		}
		return kuboErr(opList, "", err)
	}
	return sink.finish()
}

// asksHeld tells whether the caller wants to know what IPFS holds rather
// than what the pinset says: an outer cluster's tracker, whose IPFS node
// this proxy is. A committed pin that failed on every peer is not held.
func (c *call) asksHeld() bool {
	return c.r.Header.Get(ipfs.HeldHeader) == "true"
}

// listRoots lists the cluster pinset, or the part of it some peer holds.
func (c *call) listRoots(sink lsSink, typ, filter string, display bool) error {
	list := c.h.cluster.List
	if c.asksHeld() {
		list = c.h.cluster.ListHeld
	}
	return list(c.ctx, func(p storage.Pin) error {
		if !typeMatches(typ, p.Mode) || !strings.Contains(p.Name, filter) {
			return nil
		}
		obj := pinLsObject{Cid: c.cidText(p.Cid), Type: p.Mode.String()}
		if display {
			obj.Name = p.Name
		}
		return sink.add(obj)
	})
}

// listIndirect adds the upstream node's indirect pins that are not cluster
// roots themselves.
func (c *call) listIndirect(sink lsSink) error {
	if c.h.resolver == nil {
		// Without the node there are no indirect pins to tell.
		return nil
	}
	return c.h.resolver.PinLs(c.ctx, "indirect", func(ci cid.Cid, _ string) error {
		if _, err := c.h.cluster.Get(c.ctx, ci); err == nil {
			return nil
		} else if !isNotFound(err) {
			return err
		}
		return sink.add(pinLsObject{Cid: c.cidText(ci), Type: "indirect"})
	})
}

// lsArgs checks each argument as Kubo does: all are resolved and looked up
// first, then emitted in order, and the first one that is not pinned as the
// requested type fails the request with the argument quoted as given.
func (c *call) lsArgs(sink lsSink, typ string, display bool) error {
	cids := make([]cid.Cid, len(c.args))
	for i, arg := range c.args {
		ci, err := c.h.resolve(c.ctx, arg)
		if err != nil {
			return err
		}
		cids[i] = ci
	}
	pins := make([]*storage.Pin, len(cids))
	for i, ci := range cids {
		p, err := c.h.cluster.Get(c.ctx, ci)
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return kuboErr(opCheck, c.args[i], err)
		}
		pins[i] = &p
	}
	if c.asksHeld() {
		if err := c.dropUnheld(cids, pins); err != nil {
			return kuboErr(opCheck, c.args[0], err)
		}
	}
	indirect := make([]string, len(cids))
	for i, p := range pins {
		if p != nil && typeMatches(typ, p.Mode) || typ == "recursive" || typ == "direct" {
			continue
		}
		through, err := c.indirectThroughRoot(cids[i])
		if err != nil {
			return kuboErr(opCheck, c.args[i], err)
		}
		indirect[i] = through
	}
	seen := make(map[cid.Cid]bool, len(cids))
	for i, p := range pins {
		if indirect[i] != "" {
			if err := sink.add(pinLsObject{Cid: c.enc.Encode(cids[i]), Type: indirect[i]}); err != nil {
				return err
			}
			continue
		}
		if p == nil || !typeMatches(typ, p.Mode) {
			return errors.New(pathNotPinned(c.args[i]))
		}
		// Kubo's Keys map holds a CID once; its stream repeats it.
		if seen[cids[i]] && !sink.repeats() {
			continue
		}
		seen[cids[i]] = true
		obj := pinLsObject{Cid: c.enc.Encode(cids[i]), Type: p.Mode.String()}
		if display {
			obj.Name = p.Name
		}
		if err := sink.add(obj); err != nil {
			return err
		}
	}
	return sink.finish()
}

// dropUnheld forgets the pins that no peer's IPFS node holds, so that
// they read as not pinned.
func (c *call) dropUnheld(cids []cid.Cid, pins []*storage.Pin) error {
	var asked []int
	for i, p := range pins {
		if p != nil {
			asked = append(asked, i)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	some := make([]cid.Cid, len(asked))
	for j, i := range asked {
		some[j] = cids[i]
	}
	held, err := c.h.cluster.Held(c.ctx, some)
	if err != nil {
		return err
	}
	for j, i := range asked {
		if !held[j] {
			pins[i] = nil
		}
	}
	return nil
}

// indirectThroughRoot is Kubo's "indirect through <root>" for ci when the
// node pins it under a root of this cluster's pinset, "" otherwise: pin ls
// shows the cluster's pins, and an indirect pin under a root that only the
// node's user (or an inner cluster) pinned is not one. Kubo names one root
// of the several a CID may be under, so a CID under a user's root and a
// cluster root may read not pinned: telling would mean walking DAGs.
func (c *call) indirectThroughRoot(ci cid.Cid) (string, error) {
	if c.h.resolver == nil {
		return "", nil
	}
	through, ok, err := c.h.resolver.IndirectRoot(c.ctx, ci)
	if err != nil || !ok {
		return "", err
	}
	root, err := cid.Decode(strings.TrimPrefix(through, indirectPrefix))
	if err != nil {
		return "", fmt.Errorf("the IPFS node answered %q for %s: %w", through, ci, err)
	}
	p, err := c.h.cluster.Get(c.ctx, root)
	switch {
	case err != nil && isNotFound(err):
		return "", nil
	case err != nil:
		return "", err
	case p.Mode != storage.Recursive:
		return "", nil
	}
	return indirectPrefix + c.enc.Encode(root), nil
}

// indirectPrefix starts Kubo's type of an indirect pin.
const indirectPrefix = "indirect through "

// cidText is c.enc.Encode(ci), without go-cid's slow base58.
func (c *call) cidText(ci cid.Cid) string {
	var buf [128]byte
	return string(cidtext.AppendEncoded(buf[:0], c.enc, ci))
}

func typeMatches(typ string, m storage.Mode) bool {
	switch typ {
	case "all":
		return true
	case "recursive":
		return m == storage.Recursive
	case "direct":
		return m == storage.Direct
	}
	return false
}
