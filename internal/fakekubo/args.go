package fakekubo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
)

type optKind int

const (
	optBool optKind = iota
	optString
	optInt
)

// option is a cmds.Option: the first name is canonical, the rest aliases.
type option struct {
	names []string
	kind  optKind
	def   any
}

func boolOpt(def any, names ...string) option { return option{names: names, kind: optBool, def: def} }
func strOpt(def any, names ...string) option  { return option{names: names, kind: optString, def: def} }
func intOpt(def any, names ...string) option  { return option{names: names, kind: optInt, def: def} }

// globalOpts are kubo's root options, accepted by every command.
var globalOpts = []option{
	strOpt("json", "encoding", "enc"),
	boolOpt(nil, "stream-channels"),
	strOpt(nil, "timeout"),
	strOpt(nil, "cid-base"),
	boolOpt(nil, "upgrade-cidv0-in-output"),
	boolOpt(nil, "offline"),
}

// call is one parsed request.
type call struct {
	f    *Fake
	r    *http.Request
	ctx  context.Context
	args []string
	opts map[string]any
	em   *emitter
	enc  func(cid.Cid) string
}

func (c *call) flag(name string) bool  { v, _ := c.opts[name].(bool); return v }
func (c *call) str(name string) string { v, _ := c.opts[name].(string); return v }
func (c *call) isSet(name string) bool { _, ok := c.opts[name]; return ok }

func (c *call) num(name string) int64 {
	v, _ := c.opts[name].(int64)
	return v
}

// parseCall is go-ipfs-cmds' parseRequest for the fake's commands: the
// errors it returns are the 400 plain-text bodies Kubo sends.
func (f *Fake) parseCall(r *http.Request, cmd *command, pathArg *string) (*call, error) {
	c := &call{f: f, r: r, opts: map[string]any{}}
	if pathArg != nil {
		c.args = append(c.args, *pathArg)
	}
	defs := map[string]option{}
	for _, set := range [][]option{globalOpts, cmd.opts} {
		for _, o := range set {
			for _, n := range o.names {
				defs[n] = o
			}
		}
	}
	raw := map[string]string{}
	for k, vs := range r.URL.Query() {
		if k == "arg" {
			continue
		}
		o, ok := defs[k]
		if !ok {
			continue // Kubo ignores unknown keys
		}
		name := o.names[0]
		if len(vs) > 1 {
			return nil, fmt.Errorf("expected key %s to have only a single value, received %v", name, vs)
		}
		raw[name] = vs[0]
	}
	c.args = append(c.args, r.URL.Query()["arg"]...)
	for name, v := range raw {
		val, err := convert(defs[name].kind, v)
		if err != nil {
			value := fmt.Sprintf("value %q", v)
			if v == "" {
				value = "empty value"
			}
			return nil, fmt.Errorf("could not convert %s to type %q (for option %q)", value, kindName(defs[name].kind), "-"+name)
		}
		c.opts[name] = val
	}
	for _, set := range [][]option{globalOpts, cmd.opts} {
		for _, o := range set {
			if _, ok := c.opts[o.names[0]]; !ok && o.def != nil {
				c.opts[o.names[0]] = o.def
			}
		}
	}
	if enc := c.str("encoding"); enc != "json" {
		return nil, fmt.Errorf("fakekubo: encoding %q is not implemented, only json", enc)
	}
	if cmd.file != "" && !isMultipart(r) {
		return nil, fmt.Errorf("file argument '%s' is required", cmd.file)
	}
	if len(c.args) == 0 && cmd.stdin && isMultipart(r) {
		args, err := bodyArgs(r)
		if err != nil {
			return nil, err
		}
		c.args = args
	}
	if cmd.required && len(c.args) == 0 {
		return nil, fmt.Errorf("argument %q is required", cmd.arg)
	}
	if cmd.arg2 != "" && len(c.args) < 2 {
		return nil, fmt.Errorf("argument %q is required", cmd.arg2)
	}
	return c, nil
}

func convert(k optKind, v string) (any, error) {
	switch k {
	case optBool:
		if v == "" {
			return true, nil // "?progress" means progress=true
		}
		return strconv.ParseBool(strings.ToLower(v))
	case optInt:
		return strconv.ParseInt(v, 0, 64)
	}
	return v, nil
}

func kindName(k optKind) string {
	switch k {
	case optBool:
		return "bool"
	case optInt:
		return "int"
	}
	return "string"
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// bodyArgs reads arguments from the first multipart part, one per line, as
// go-ipfs-cmds does for `echo CID | ipfs pin add`.
func bodyArgs(r *http.Request) ([]string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	part, err := mr.NextPart()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer part.Close()
	var args []string
	br := bufio.NewReader(part)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			args = append(args, line)
		}
		if err == io.EOF {
			return args, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// cidEncoder is kubo's cmdenv.GetCidEncoder: a CIDv0 is upgraded to v1 when
// the requested base cannot express it.
func cidEncoder(c *call) (func(cid.Cid) string, error) {
	base := c.str("cid-base")
	upgrade := c.flag("upgrade-cidv0-in-output")
	if base == "" && !upgrade {
		return cid.Cid.String, nil
	}
	var enc multibase.Encoder
	var err error
	if base == "" {
		enc, err = multibase.NewEncoder(multibase.Base32)
	} else {
		enc, err = multibase.EncoderByName(base)
	}
	if err != nil {
		return nil, err
	}
	if base != "" && enc.Encoding() != multibase.Base58BTC {
		upgrade = true
	}
	return func(ci cid.Cid) string {
		if ci.Version() == 0 {
			if !upgrade {
				return ci.String()
			}
			ci = cid.NewCidV1(ci.Type(), ci.Hash())
		}
		return ci.Encode(enc)
	}, nil
}
