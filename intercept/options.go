package intercept

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// optKind is the go-ipfs-cmds option type, which decides how a query value
// converts and which name appears in conversion errors.
type optKind uint8

const (
	optBool optKind = iota
	optString
	optInt
)

func (k optKind) String() string {
	switch k {
	case optBool:
		return "bool"
	case optInt:
		return "int"
	}
	return "string"
}

// optDef is one option: the canonical name first, then its aliases.
type optDef struct {
	names []string
	kind  optKind
}

func boolOpt(names ...string) optDef   { return optDef{names: names, kind: optBool} }
func stringOpt(names ...string) optDef { return optDef{names: names, kind: optString} }
func intOpt(names ...string) optDef    { return optDef{names: names, kind: optInt} }

// globalOpts are Kubo's root options, accepted by every command. They are
// declared so that their duplicates and bad values fail as in Kubo.
var globalOpts = []optDef{
	stringOpt("encoding", "enc"),
	boolOpt("stream-channels"),
	stringOpt("timeout"),
	stringOpt("cid-base"),
	boolOpt("upgrade-cidv0-in-output"),
	boolOpt("offline"),
	boolOpt("local", "L"),
	boolOpt("debug", "D"),
	boolOpt("help"),
	boolOpt("h"),
	stringOpt("repo-dir"),
	stringOpt("config-file"),
	stringOpt("config", "c"),
	stringOpt("api"),
	stringOpt("api-auth"),
}

// clusterOpts are ipfs-cluster's replication query options, which Kubo
// would ignore as unknown keys.
var clusterOpts = []optDef{
	intOpt("replication-min"),
	intOpt("replication-max"),
	intOpt("replication"),
}

// options holds converted values by canonical name: bool, string or int.
type options map[string]any

func (o options) flag(name string, def bool) bool {
	if v, ok := o[name].(bool); ok {
		return v
	}
	return def
}

func (o options) isSet(name string) bool {
	_, ok := o[name]
	return ok
}

func (o options) str(name string) string {
	s, _ := o[name].(string)
	return s
}

func (o options) num(name string) (int, bool) {
	n, ok := o[name].(int)
	return n, ok
}

// parseQuery applies go-ipfs-cmds' rules: repeated arg keys are positional
// arguments in order, known keys are canonicalised to their first name,
// single-valued keys given twice fail, unknown keys are ignored, and values
// convert to the option's type. Errors are 400 usage errors, as in Kubo.
func parseQuery(q url.Values, defs ...[]optDef) (args []string, opts options, err error) {
	index := map[string]optDef{}
	for _, list := range defs {
		for _, d := range list {
			for _, n := range d.names {
				index[n] = d
			}
		}
	}
	raw := map[string]string{}
	fromLong := map[string]bool{}
	// Sorted keys make the choice between errors deterministic, where Kubo
	// depends on map order.
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		v := q[k]
		if k == "arg" {
			args = append(args, v...)
			continue
		}
		d, known := index[k]
		if !known {
			continue
		}
		name := d.names[0]
		if len(v) > 1 {
			return nil, nil, usageError(fmt.Sprintf("expected key %s to have only a single value, received %v", name, v))
		}
		// Alias and long name collapse into one key; Kubo leaves the winner
		// to map order, the long name wins here.
		if _, dup := raw[name]; dup && fromLong[name] {
			continue
		}
		raw[name] = v[0]
		fromLong[name] = k == name
	}
	opts = options{}
	for name, s := range raw {
		v, err := convert(index[name].kind, s)
		if err != nil {
			value := fmt.Sprintf("value %q", s)
			if s == "" {
				value = "empty value"
			}
			return nil, nil, usageError(fmt.Sprintf("could not convert %s to type %q (for option %q)", value, index[name].kind.String(), "-"+name))
		}
		opts[name] = v
	}
	return args, opts, nil
}

func convert(k optKind, s string) (any, error) {
	switch k {
	case optBool:
		if s == "" {
			return true, nil
		}
		return strconv.ParseBool(strings.ToLower(s))
	case optInt:
		n, err := strconv.ParseInt(s, 0, 32)
		return int(n), err
	}
	return s, nil
}
