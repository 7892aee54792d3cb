package fakekubo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

const (
	apiPrefix = "/api/v0/"
	version   = "0.42.0"
)

// command describes one endpoint the way go-ipfs-cmds declares it, which is
// what decides 400s: argument names, stdin arguments, options and defaults.
type command struct {
	arg      string // name of the positional argument; "" takes none
	arg2     string // name of a second required argument (pin/update's to-path)
	required bool   // the argument must be given
	stdin    bool   // arguments may come from the first part of a multipart body
	file     string // name of a required multipart file argument
	opts     []option
	run      func(*call) error
}

// commands are the implemented endpoints. Any other path answers 404, as an
// unknown command does on Kubo.
var commands = map[string]*command{
	"version":     {opts: versionOpts, run: runVersion},
	"id":          {arg: "peerid", opts: idOpts, run: runID},
	"repo/stat":   {opts: repoStatOpts, run: runRepoStat},
	"repo/gc":     {opts: repoGCOpts, run: runRepoGC},
	"pin/add":     {arg: "ipfs-path", required: true, stdin: true, opts: pinAddOpts, run: runPinAdd},
	"pin/rm":      {arg: "ipfs-path", required: true, stdin: true, opts: pinRmOpts, run: runPinRm},
	"pin/ls":      {arg: "ipfs-path", opts: pinLsOpts, run: runPinLs},
	"pin/update":  {arg: "from-path", arg2: "to-path", required: true, opts: pinUpdateOpts, run: runPinUpdate},
	"add":         {file: "path", opts: addOpts, run: runAdd},
	"block/put":   {file: "data", opts: blockPutOpts, run: runBlockPut},
	"block/get":   {arg: "cid", required: true, stdin: true, run: runBlockGet},
	"dag/put":     {file: "object data", opts: dagPutOpts, run: runDagPut},
	"dag/resolve": {arg: "ref", required: true, run: runDagResolve},
	"cat":         {arg: "ipfs-path", required: true, stdin: true, opts: catOpts, run: runCat},
	"resolve":     {arg: "name", required: true, stdin: true, opts: resolveOpts, run: runResolve},
}

// ServeHTTP follows the order of Kubo's handler chain: method, routing,
// argument parsing (400s are plain text), then the command itself.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.isDown() {
		// A request that slipped in on a connection opened before SetDown:
		// drop the connection as a dying daemon would.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	w.Header().Set("Vary", "Origin")
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "405 - Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	name, cmd, pathArg, ok := route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	delay, failure, g := f.enter(name)

	c, err := f.parseCall(r, cmd, pathArg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Server", "kubo/"+version)

	ctx := r.Context()
	if t := c.str("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil {
			return // Kubo writes nothing at all: the client sees 200 and an empty body
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	c.ctx = ctx
	c.em = newEmitter(ctx, w, g)

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	if failure != "" {
		c.em.fail(errors.New(failure))
		return
	}
	if c.enc, err = cidEncoder(c); err != nil {
		c.em.fail(err)
		return
	}
	c.em.finish(cmd.run(c))
}

// enter counts a call and takes the failure injection that applies to it.
func (f *Fake) enter(name string) (delay time.Duration, failure string, g *gate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
	if fl := f.fail[name]; fl != nil {
		failure = fl.msg
		if fl.n--; fl.n <= 0 {
			delete(f.fail, name)
		}
	}
	return f.delay[name], failure, f.pause[name]
}

// route finds the command for a URL path. Like go-ipfs-cmds, a last segment
// that is not a command is the first argument: /api/v0/pin/ls/<cid>.
func route(p string) (name string, cmd *command, pathArg *string, ok bool) {
	rest, found := strings.CutPrefix(p, apiPrefix)
	if !found {
		return "", nil, nil, false
	}
	if cmd, ok := commands[rest]; ok {
		return rest, cmd, nil, true
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", nil, nil, false
	}
	name, last := rest[:i], rest[i+1:]
	cmd, ok = commands[name]
	if !ok || cmd.arg == "" {
		return "", nil, nil, false
	}
	return name, cmd, &last, true
}
