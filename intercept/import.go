package intercept

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/internal/car"
	"github.com/flotilla-ipfs/flotilla/internal/forward"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// importSpec describes a command that stores data on the upstream node and
// may pin it there. Flotilla forwards it with Kubo's own pinning turned off,
// streams the answer back unchanged, learns the CIDs on the way, and makes
// the pins cluster pins instead.
type importSpec struct {
	opts []optDef
	// pinOpt is the query option that asks for pins; the upstream always
	// gets it as false.
	pinOpt string
	// wantPin decides from the parsed options whether the caller asked for
	// pins, with Kubo's defaults.
	wantPin func(o options) bool
	// drop lists further query keys that must not reach the upstream.
	drop []string
	// cids learns the CIDs to pin from one NDJSON answer line.
	cids func(o options, line []byte) []cid.Cid
	// rootOfAll, when set, says whether a line's entry holds every entry
	// reported before it, which are then no pins of their own.
	rootOfAll func(line []byte) bool
	// pinsAsItGoes: Kubo pins each entry it reports as it is stored, so
	// the entries reported before a later error stay pinned (add's
	// top-level entries, block/put's blocks; dag/put pins at the end).
	pinsAsItGoes bool
	// carRoots: the pins are the roots in the CAR headers of the body, and
	// Kubo's Root lines are emitted by Flotilla (dag/import).
	carRoots bool
	// name gives the pin name, if the command has one.
	name func(o options) string
	// madeV0 says whether the request makes Kubo produce CIDv0s: with
	// cid-base or upgrade-cidv0-in-output Kubo prints them as CIDv1, but
	// pins the v0, and it keeps v0 and v1 pins apart.
	madeV0 func(o options) bool
}

var importAdd = &importSpec{
	opts: []optDef{
		boolOpt("pin"), stringOpt("pin-name"), boolOpt("only-hash", "n"),
		boolOpt("wrap-with-directory", "w"), boolOpt("silent"), intOpt("cid-version"),
	},
	pinOpt: "pin",
	// only-hash stores nothing, so Kubo does not pin with it.
	wantPin: func(o options) bool { return o.flag("pin", true) && !o.flag("only-hash", false) },
	// pin-name without pin is an error upstream; silent would hide the
	// CIDs of files (silent.go).
	drop:         []string{"pin-name", "silent"},
	cids:         addEventCids,
	rootOfAll:    unnamedRoot,
	pinsAsItGoes: true,
	name:         func(o options) string { return o.str("pin-name") },
	// Without cid-version Kubo makes CIDv0 unless its Import.CidVersion
	// says otherwise, which the proxy cannot see (doc.go).
	madeV0: func(o options) bool {
		v, set := o.num("cid-version")
		return !set || v == 0
	},
}

var importBlockPut = &importSpec{
	opts:         []optDef{boolOpt("pin"), stringOpt("format", "f")},
	pinOpt:       "pin",
	wantPin:      func(o options) bool { return o.flag("pin", false) },
	madeV0:       func(o options) bool { return o.str("format") == "v0" },
	pinsAsItGoes: true,
	cids: func(_ options, line []byte) []cid.Cid {
		var ev struct{ Key string }
		return decodeCid(line, &ev, func() string { return ev.Key })
	},
}

var importDagPut = &importSpec{
	opts:    []optDef{boolOpt("pin")},
	pinOpt:  "pin",
	wantPin: func(o options) bool { return o.flag("pin", false) },
	cids: func(_ options, line []byte) []cid.Cid {
		var ev struct {
			Cid struct {
				Link string `json:"/"`
			}
		}
		return decodeCid(line, &ev, func() string { return ev.Cid.Link })
	},
}

var importDagImport = &importSpec{
	opts:   []optDef{boolOpt("pin-roots"), boolOpt("local-only")},
	pinOpt: "pin-roots",
	// local-only implies no pins; with pin-roots=true as well the upstream
	// answers Kubo's conflict error, so it gets the request unchanged.
	wantPin:  func(o options) bool { return o.flag("pin-roots", true) && !o.flag("local-only", false) },
	carRoots: true,
}

// addEventCids picks the entries Kubo's add pins: each top-level entry (a
// name without '/'), or only the wrapping directory (name "") with -w. An
// unnamed top-level directory (unnamedRoot) then takes the place of the
// entries before it.
func addEventCids(o options, line []byte) []cid.Cid {
	var ev struct{ Name, Hash string }
	if err := json.Unmarshal(line, &ev); err != nil || ev.Hash == "" {
		return nil
	}
	top := !strings.Contains(ev.Name, "/")
	if o.flag("wrap-with-directory", false) {
		top = ev.Name == ""
	}
	if !top {
		return nil
	}
	c, err := cid.Decode(ev.Hash)
	if err != nil {
		return nil
	}
	return []cid.Cid{c}
}

// unnamedRoot reports an entry named "": the -w wrapper, or, without -w, a
// directory the client uploaded unnamed as its one top-level entry (Kubo's
// Go client does). Either way it holds every entry before it; Kubo pins it
// alone, and the names of its children, relative to it, have no '/'.
func unnamedRoot(line []byte) bool {
	var ev struct{ Name, Hash string }
	return json.Unmarshal(line, &ev) == nil && ev.Hash != "" && ev.Name == ""
}

// shownAsV1 says whether the answer prints as CIDv1 the CIDv0s that Kubo
// made and would pin.
func shownAsV1(spec *importSpec, o options) bool {
	if spec.madeV0 == nil || !spec.madeV0(o) {
		return false
	}
	enc, err := cidEncoder(o)
	return err == nil && enc.Upgrade
}

// storedCid is the CID Kubo made for c as printed in its answer: the CIDv0
// when the answer upgraded it, else c. Only a dag-pb sha2-256 CID has a v0.
func (run *importRun) storedCid(c cid.Cid) cid.Cid {
	if !run.shownAsV1 || c.Version() != 1 || c.Type() != cid.DagProtobuf {
		return c
	}
	if p := c.Prefix(); p.MhType != mh.SHA2_256 || p.MhLength != 32 {
		return c
	}
	return cid.NewCidV0(c.Hash())
}

func decodeCid(line []byte, into any, field func() string) []cid.Cid {
	if err := json.Unmarshal(line, into); err != nil || field() == "" {
		return nil
	}
	c, err := cid.Decode(field())
	if err != nil {
		return nil
	}
	return []cid.Cid{c}
}

// serveImport forwards one add, block/put, dag/put or dag/import call.
func (h *Handlers) serveImport(spec *importSpec, w http.ResponseWriter, r *http.Request) {
	_, opts, err := parseQuery(r.URL.Query(), globalOpts, spec.opts, clusterOpts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w, done := forward.EnableFullDuplex(w, r)
	defer done()
	if !spec.wantPin(opts) {
		h.fwd.ServeHTTP(w, r)
		return
	}
	fail := func(msg string) {
		writeErrorBody(w, requestEncoding(r) == encodingText, h.serverHeader(), msg)
	}
	if h.opts.ReadOnly {
		fail(types.ErrReadOnlyFollower.Error())
		return
	}
	// The CIDs come from parsing the JSON answer.
	if enc := opts.str("encoding"); enc != "" && enc != encodingJSON {
		fail(msgPinNeedsJSON(enc))
		return
	}
	run := &importRun{h: h, spec: spec, opts: opts, ctx: r.Context(), shownAsV1: shownAsV1(spec, opts)}
	if spec.name != nil {
		run.tmpl.Name = spec.name(opts)
		// Kubo validates pin-name before it adds anything.
		if err := storage.ValidatePinName(run.tmpl.Name); err != nil {
			fail(err.Error())
			return
		}
	}
	run.tmpl.Mode = storage.Recursive
	if err := replicationFromQuery(&run.tmpl, opts); err != nil {
		writeError(w, requestEncoding(r) == encodingText, h.serverHeader(), err)
		return
	}
	if ctx, cancel, ok := withTimeout(r.Context(), opts); ok {
		defer cancel()
		run.ctx = ctx
	}

	out := r.Clone(r.Context())
	out.URL.RawQuery = rewriteQuery(r.URL.RawQuery, spec)
	switch {
	case spec.carRoots:
		run.roots = car.NewRootReader(r.Header.Get("Content-Type"), h.log)
		out.Body = run.roots.Tee(r.Body, r.ContentLength)
	case spec == importAdd && opts.flag("silent", false):
		run.dirs = newUploadDirs(r.Header.Get("Content-Type"), h.log)
		out.Body = run.dirs.Tee(r.Body, r.ContentLength)
	}
	fwd := *h.fwd
	fwd.ModifyResponse = run.modifyResponse
	fwd.ServeHTTP(w, out)
}

// rewriteQuery turns the caller's pin request off for the upstream and
// removes Flotilla's own keys, leaving every other pair byte for byte.
func rewriteQuery(raw string, spec *importSpec) string {
	drop := map[string]bool{spec.pinOpt: true}
	for _, k := range spec.drop {
		drop[k] = true
	}
	for _, d := range clusterOpts {
		drop[d.names[0]] = true
	}
	var kept []string
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, _, _ := strings.Cut(pair, "=")
		if key, err := url.QueryUnescape(k); err == nil && drop[key] {
			continue
		}
		kept = append(kept, pair)
	}
	kept = append(kept, spec.pinOpt+"=false")
	return strings.Join(kept, "&")
}

// importRun is the state of one forwarded import whose pins Flotilla makes.
type importRun struct {
	h     *Handlers
	spec  *importSpec
	opts  options
	ctx   context.Context
	tmpl  storage.Pin
	roots *car.RootReader
	cids  []cid.Cid
	seen  map[cid.Cid]bool
	// shownAsV1: the answer prints Kubo's CIDv0s as CIDv1 (storedCid).
	shownAsV1 bool
	// dirs and silent, for add?silent=true: the upload's directories and
	// the upstream's lines, from which silentLines picks Kubo's answer.
	dirs   *uploadDirs
	silent [][]byte
}
