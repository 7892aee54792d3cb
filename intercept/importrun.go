package intercept

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/ipfs/go-cid"
)

// modifyResponse wraps a successful upstream answer so that the pins are
// made when it ends, before its last line and its end reach the client.
// Error answers pass through verbatim: the upstream stored nothing to pin.
func (run *importRun) modifyResponse(res *http.Response) error {
	run.h.ObserveUpstream(res.Header)
	if res.StatusCode != http.StatusOK {
		return nil
	}
	// Kubo announces the trailer; make sure it is announced whatever the
	// upstream is, because a pin failure is reported there.
	if res.Trailer == nil {
		res.Trailer = http.Header{}
	}
	if _, ok := res.Trailer[hdrStreamError]; !ok {
		res.Trailer[hdrStreamError] = nil
	}
	mode := holdLast
	switch {
	case run.spec.carRoots:
		// The Root lines Flotilla writes go before Kubo's Stats line.
		mode = holdAll
	case run.dirs != nil:
		// silent was removed upstream so that the CIDs show; the caller
		// gets the lines Kubo prints with it when the pins are made.
		mode = dropAll
	}
	res.Body = newPinningBody(res.Body, res.Trailer, mode, run.line, run.finish)
	return nil
}

func (run *importRun) line(line []byte) {
	if run.dirs != nil {
		run.silent = append(run.silent, bytes.Clone(line))
	}
	if run.spec.cids == nil {
		return
	}
	if run.spec.rootOfAll != nil && run.spec.rootOfAll(line) {
		run.cids, run.seen = nil, nil
	}
	for _, c := range run.spec.cids(run.opts, line) {
		c = run.storedCid(c)
		if run.seen == nil {
			run.seen = map[cid.Cid]bool{}
		}
		if !run.seen[c] {
			run.seen[c] = true
			run.cids = append(run.cids, c)
		}
	}
}

// finish makes the cluster pins once the upstream answer has ended. It
// returns lines to emit (dag/import's Root lines) and an error message for
// the X-Stream-Error trailer.
func (run *importRun) finish(trailer http.Header) (head []byte, errMsg string) {
	head = run.silentAnswer()
	if upstreamErr := trailer.Get(hdrStreamError); upstreamErr != "" {
		// The upstream failed mid-way and says so in its own trailer, which
		// the client gets. What Kubo had pinned by then, the cluster pins.
		if run.spec.pinsAsItGoes && len(run.cids) > 0 {
			if msg := run.pinAll(); msg != "" {
				run.h.log.Warn().Str("upstream_error", upstreamErr).Str("pin_error", msg).
					Msg("entries stored before an upstream error not pinned")
			}
		}
		return head, ""
	}
	if run.spec.carRoots {
		return run.finishRoots()
	}
	if len(run.cids) == 0 {
		return head, msgNoCidToPin
	}
	return head, run.pinAll()
}

// silentAnswer is what Kubo prints for add?silent=true, nil otherwise.
func (run *importRun) silentAnswer() []byte {
	if run.dirs == nil {
		return nil
	}
	return silentLines(run.silent, run.dirs.wait(run.ctx), run.opts.flag("wrap-with-directory", false))
}

// pinAll makes the learned CIDs cluster pins and waits as the caller asked;
// it returns the message of a failure.
func (run *importRun) pinAll() string {
	// The upstream stored the content unpinned: keep it here until an
	// allocated peer holds it.
	run.h.cluster.Protect(run.ctx, run.cids)
	for _, c := range run.cids {
		p := run.tmpl
		p.Cid = c
		if _, err := run.h.cluster.Pin(run.ctx, p); err != nil {
			return kuboMessage(opPin, c.String(), err)
		}
	}
	if err := run.h.waitPinned(run.ctx, run.cids, nil); err != nil {
		return err.Error()
	}
	return ""
}

// rootMeta and carImportOutput are Kubo's dag import Root line.
type rootMeta struct {
	Cid         cid.Cid
	PinErrorMsg string
}

type carImportOutput struct {
	Root *rootMeta `json:",omitempty"`
}

// finishRoots pins the CAR roots and writes a Root line for each, with a
// cluster failure in PinErrorMsg as Kubo reports its own pin failures.
func (run *importRun) finishRoots() ([]byte, string) {
	roots, err := run.roots.Wait(run.ctx)
	if err != nil {
		return nil, msgCARRoots(err)
	}
	run.h.cluster.Protect(run.ctx, roots)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, c := range roots {
		meta := rootMeta{Cid: c}
		p := run.tmpl
		p.Cid = c
		if _, err := run.h.cluster.Pin(run.ctx, p); err != nil {
			meta.PinErrorMsg = kuboMessage(opPin, c.String(), err)
		} else if err := run.h.waitPinned(run.ctx, []cid.Cid{c}, nil); err != nil {
			meta.PinErrorMsg = err.Error()
		}
		if err := enc.Encode(carImportOutput{Root: &meta}); err != nil {
			return buf.Bytes(), err.Error()
		}
	}
	return buf.Bytes(), ""
}
