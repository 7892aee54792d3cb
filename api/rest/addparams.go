package rest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	chunk "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/verifcid"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// addParams is ipfs-cluster's AddParams as far as Flotilla can honour
// them: the pin options, and the import options it hands to the IPFS node.
type addParams struct {
	pin            storage.Pin
	noPin          bool
	wrap           bool
	streamChannels bool
	// car: the upload is a CAR to import (format=car), not files to add.
	car bool
	// upstream is the query for the IPFS node's /api/v0/add.
	upstream url.Values
}

// addParamsFromQuery reads ipfs-cluster's /add query (AddParamsFromQuery).
// local is accepted and means nothing: content is always imported into
// this peer's IPFS node, and allocated peers fetch it from there.
func addParamsFromQuery(q url.Values, now time.Time) (addParams, error) {
	var p addParams
	var err error
	if p.pin, err = pinOptionsFromQuery(q, now); err != nil {
		return p, err
	}
	p.pin.PinUpdate = cid.Undef // meaningless for new content, as in ipfs-cluster

	switch q.Get("layout") {
	case "", "balanced", "trickle":
	default:
		return p, errBadRequest("layout parameter is invalid")
	}
	switch q.Get("format") {
	case "", "unixfs":
	case "car":
		p.car = true
	default:
		return p, errBadRequest("format parameter is invalid")
	}

	flags := map[string]*bool{}
	var shard, progress, rawLeaves, nocopy, local, recursive, hidden bool
	p.streamChannels = true
	for name, dst := range map[string]*bool{
		"local": &local, "recursive": &recursive, "hidden": &hidden,
		"wrap-with-directory": &p.wrap, "shard": &shard, "progress": &progress,
		"raw-leaves": &rawLeaves, "stream-channels": &p.streamChannels,
		"nocopy": &nocopy, "no-pin": &p.noPin,
	} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return p, errBadRequest(fmt.Sprintf("parameter %s invalid", name))
			}
			*dst = b
			flags[name] = dst
		}
	}
	if shard {
		return p, errBadRequest("sharding is not supported: add without shard=true")
	}
	if p.car && p.wrap {
		return p, errBadRequest("cannot wrap a CAR file upload")
	}
	cidVersion := 0
	if v := q.Get("cid-version"); v != "" {
		if cidVersion, err = strconv.Atoi(v); err != nil || cidVersion < 0 || cidVersion > 1 {
			return p, errBadRequest("parameter cid-version invalid")
		}
	}
	if err := checkHash(q.Get("hash")); err != nil {
		return p, err
	}
	if err := checkChunker(q.Get("chunker")); err != nil {
		return p, err
	}

	// Kubo must not pin: the pin is the cluster's, made once the import is
	// done, and allocated peers fetch the content from this node.
	up := url.Values{"pin": {"false"}, "stream-channels": {"true"}}
	if q.Get("layout") == "trickle" {
		up.Set("trickle", "true")
	}
	for _, name := range []string{"progress", "wrap-with-directory", "raw-leaves", "nocopy"} {
		if flags[name] != nil {
			up.Set(name, strconv.FormatBool(*flags[name]))
		}
	}
	for _, name := range []string{"chunker", "hash", "cid-version"} {
		if v := q.Get(name); v != "" {
			up.Set(name, v)
		}
	}
	p.upstream = up
	if p.car {
		// The blocks come in the CAR; the import options mean nothing.
		// The roots are the cluster's pins, and stats give the bytes.
		p.upstream = url.Values{"pin-roots": {"false"}, "stats": {"true"}}
	}
	return p, nil
}

// checkHash refuses, before anything reaches the IPFS node, a hash
// function that the node's add would refuse after the upload: one
// go-multihash does not know (Kubo looks names up in lower case), or one
// Kubo's block service holds insecure.
func checkHash(name string) error {
	if name == "" {
		return nil
	}
	code, ok := multihash.Names[strings.ToLower(name)]
	if !ok {
		return errBadRequest(fmt.Sprintf("parameter hash invalid: unrecognized hash function %q", name))
	}
	if !verifcid.DefaultAllowlist.IsAllowed(code) {
		return errBadRequest(fmt.Sprintf("parameter hash invalid: IPFS refuses the insecure hash function %q", name))
	}
	return nil
}

// checkChunker refuses a chunker the IPFS node's add would refuse, with
// the parser Kubo uses itself (size-N, rabin, rabin-N, rabin-min-avg-max,
// buzhash); nothing is read.
func checkChunker(spec string) error {
	if spec == "" {
		return nil
	}
	if _, err := chunk.FromString(strings.NewReader(""), spec); err != nil {
		return errBadRequest(fmt.Sprintf("parameter chunker invalid: %q: %v", spec, err))
	}
	return nil
}
