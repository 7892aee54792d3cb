package intercept

import (
	"context"
	"net/http"
	"time"

	"github.com/ipfs/go-cidutil/cidenc"
	mbase "github.com/multiformats/go-multibase"
)

// command is one intercepted Kubo command: its options and arguments as
// Kubo declares them, and either a local implementation (run) or the
// forward-then-pin treatment of add, block/put, dag/put and dag/import.
type command struct {
	opts     []optDef
	required []string // required string arguments, for Kubo's error text
	stdin    bool     // the last argument may come from a multipart body
	text     textEncoder
	run      func(c *call) error
	imp      *importSpec
}

// call is one running local command.
type call struct {
	h    *Handlers
	r    *http.Request
	ctx  context.Context
	args []string
	opts options
	enc  cidenc.Encoder
	out  *emitter
}

var fastProvideOpts = []optDef{
	boolOpt("fast-provide-root"),
	boolOpt("fast-provide-dag"),
	boolOpt("fast-provide-wait"),
}

// commands is the routing table; route() accepts exactly these paths, with
// or without one trailing path argument.
var commands = map[string]*command{
	"pin/add": {
		opts:     append([]optDef{boolOpt("recursive", "r"), stringOpt("name", "n"), boolOpt("progress")}, append(fastProvideOpts, clusterOpts...)...),
		required: []string{"ipfs-path"},
		stdin:    true,
		text:     textPinAdd,
		run:      runPinAdd,
	},
	"pin/rm": {
		opts:     []optDef{boolOpt("recursive", "r")},
		required: []string{"ipfs-path"},
		stdin:    true,
		text:     textPinRm,
		run:      runPinRm,
	},
	"pin/ls": {
		opts: []optDef{stringOpt("type", "t"), boolOpt("quiet", "q"), stringOpt("name", "n"), boolOpt("stream", "s"), boolOpt("names")},
		text: textPinLs,
		run:  runPinLs,
	},
	"pin/update": {
		opts:     append([]optDef{boolOpt("unpin")}, fastProvideOpts...),
		required: []string{"from-path", "to-path"},
		text:     textPinUpdate,
		run:      runPinUpdate,
	},
	"repo/stat": {
		opts: []optDef{boolOpt("size-only", "s"), boolOpt("human", "H")},
		text: textRepoStat,
		run:  runRepoStat,
	},
	"add":        {imp: importAdd},
	"block/put":  {imp: importBlockPut},
	"dag/put":    {imp: importDagPut},
	"dag/import": {imp: importDagImport},
}

func (cmd *command) serve(h *Handlers, w http.ResponseWriter, r *http.Request, pathArg *string) {
	if cmd.imp != nil {
		h.serveImport(cmd.imp, w, r)
		return
	}
	// Kubo's order: query parse, option conversion, arguments, timeout,
	// encoding; all but the timeout fail as 400 text before the command runs.
	qargs, opts, err := parseQuery(r.URL.Query(), globalOpts, cmd.opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	args, err := positionalArgs(r, pathArg, qargs, cmd.stdin)
	if err == nil {
		err = requireArgs(args, cmd.required...)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, cancel, ok := withTimeout(r.Context(), opts)
	if !ok {
		return
	}
	defer cancel()
	encoding, err := outputEncoding(opts)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := &call{h: h, r: r, ctx: ctx, args: args, opts: opts, out: h.newEmitter(w, encoding, opts, cmd.text)}
	if c.enc, err = cidEncoder(opts); err == nil {
		err = cmd.run(c)
	}
	if err != nil {
		h.log.Debug().Err(err).Str("cmd", r.URL.Path).Msg("intercepted command failed")
		c.out.fail(err)
		return
	}
	c.out.close()
}

// withTimeout applies Kubo's global timeout option. Kubo answers an
// unparsable duration with 200 and an empty body (ok=false); so do we.
func withTimeout(ctx context.Context, opts options) (context.Context, context.CancelFunc, bool) {
	if !opts.isSet("timeout") {
		ctx, cancel := context.WithCancel(ctx)
		return ctx, cancel, true
	}
	d, err := time.ParseDuration(opts.str("timeout"))
	if err != nil {
		return nil, nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, true
}

// outputEncoding is the encoding option, JSON when absent as on Kubo's HTTP
// server (the Go client sends none). Only json and text are implemented.
func outputEncoding(opts options) (string, error) {
	switch e := opts.str("encoding"); e {
	case "", encodingJSON:
		return encodingJSON, nil
	case encodingText:
		return encodingText, nil
	default:
		return "", usageError("invalid encoding: " + e)
	}
}

// cidEncoder is Kubo's cmdenv.GetCidEncoder: base32 CIDv1 and base58 CIDv0 by
// default; any other cid-base upgrades CIDv0 to v1, as v0 has no other base.
func cidEncoder(opts options) (cidenc.Encoder, error) {
	e := cidenc.Default()
	if base := opts.str("cid-base"); base != "" {
		b, err := mbase.EncoderByName(base)
		if err != nil {
			return e, err
		}
		e.Base = b
		if b.Encoding() != mbase.Base58BTC {
			e.Upgrade = true
		}
	}
	if opts.isSet("upgrade-cidv0-in-output") {
		e.Upgrade = opts.flag("upgrade-cidv0-in-output", false)
	}
	return e, nil
}
