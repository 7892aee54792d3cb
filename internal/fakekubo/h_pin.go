package fakekubo

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
)

var fastProvideOpts = []option{
	boolOpt(nil, "fast-provide-root"),
	boolOpt(nil, "fast-provide-dag"),
	boolOpt(nil, "fast-provide-wait"),
}

var (
	pinAddOpts = append([]option{
		boolOpt(true, "recursive", "r"),
		strOpt(nil, "name", "n"),
		boolOpt(nil, "progress"),
	}, fastProvideOpts...)
	pinRmOpts = []option{boolOpt(true, "recursive", "r")}
	pinLsOpts = []option{
		strOpt("all", "type", "t"),
		boolOpt(nil, "quiet", "q"),
		strOpt(nil, "name", "n"),
		boolOpt(nil, "stream", "s"),
		boolOpt(nil, "names"),
	}
	pinUpdateOpts = append([]option{boolOpt(true, "unpin")}, fastProvideOpts...)
)

// Output shapes of kubo's core/commands/pin.
type addPinOutput struct {
	Pins     []string `json:",omitempty"`
	Progress int      `json:",omitempty"`
	Bytes    uint64   `json:",omitempty"`
}

type pinOutput struct{ Pins []string }

type pinLsList struct {
	Keys map[string]pinLsType `json:",omitempty"`
}

type pinLsType struct {
	Type string
	Name string
}

type pinLsObject struct {
	Cid  string `json:",omitempty"`
	Name string `json:",omitempty"`
	Type string `json:",omitempty"`
}

const maxPinNameBytes = 255

func validatePinName(name string) error {
	if len(name) > maxPinNameBytes {
		return fmt.Errorf("pin name is %d bytes (max %d bytes)", len(name), maxPinNameBytes)
	}
	return nil
}

func runPinAdd(c *call) error {
	recursive, name := c.flag("recursive"), c.str("name")
	if err := validatePinName(name); err != nil {
		return err
	}
	if !c.flag("progress") {
		pins, err := c.pinAddMany(c.ctx, recursive, name, nil)
		if err != nil {
			return err
		}
		return c.em.single(addPinOutput{Pins: pins})
	}

	// As Kubo: pin in the background, report the fetch progress on every
	// tick (a zero tick is the line {}), then the last count and the result.
	var nodes, bytes atomic.Uint64
	onNode := func(size uint64) {
		nodes.Add(1)
		bytes.Add(size)
	}
	type result struct {
		pins []string
		err  error
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		pins, err := c.pinAddMany(ctx, recursive, name, onNode)
		done <- result{pins, err}
	}()
	c.f.mu.Lock()
	every := c.f.progress
	c.f.mu.Unlock()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				return res.err
			}
			if n := nodes.Load(); n != 0 {
				if err := c.em.emit(addPinOutput{Progress: int(n), Bytes: bytes.Load()}); err != nil {
					return err
				}
			}
			if res.pins == nil {
				res.pins = []string{} // the CLI needs a non-null Pins to tell the result from progress
			}
			return c.em.emit(addPinOutput{Pins: res.pins})
		case <-tick.C:
			if err := c.em.emit(addPinOutput{Progress: int(nodes.Load()), Bytes: bytes.Load()}); err != nil {
				return err
			}
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
	}
}

func (c *call) pinAddMany(ctx context.Context, recursive bool, name string, onNode func(uint64)) ([]string, error) {
	added := make([]string, 0, len(c.args))
	for _, arg := range c.args {
		ci, err := c.f.resolveArg(arg)
		if err != nil {
			return nil, err
		}
		if err := c.f.pinAdd(ctx, ci, recursive, name, onNode); err != nil {
			return nil, err
		}
		added = append(added, c.enc(ci))
	}
	return added, nil
}

func runPinRm(c *call) error {
	pins := make([]string, 0, len(c.args))
	for _, arg := range c.args {
		ci, err := c.f.resolveArg(arg)
		if err != nil {
			return err
		}
		pins = append(pins, c.enc(ci))
		if err := c.f.pinRm(ci, c.flag("recursive")); err != nil {
			return err
		}
	}
	return c.em.single(pinOutput{Pins: pins})
}

func runPinLs(c *call) error {
	typ, stream, filter := c.str("type"), c.flag("stream"), c.str("name")
	names := c.flag("names") || filter != ""
	if err := validatePinName(filter); err != nil {
		return err
	}
	switch typ {
	case "all", Recursive, Direct, "indirect":
	default:
		return fmt.Errorf("invalid type '%s', must be one of {direct, indirect, recursive, all}", typ)
	}

	keys := map[string]pinLsType{}
	emit := func(p pinned) error {
		name := ""
		if names {
			name = p.name
		}
		if stream {
			return c.em.emit(pinLsObject{Cid: c.enc(p.c), Name: name, Type: p.typ})
		}
		keys[c.enc(p.c)] = pinLsType{Type: p.typ, Name: name}
		return nil
	}

	if len(c.args) > 0 {
		cids := make([]cid.Cid, len(c.args))
		for i, arg := range c.args {
			ci, err := c.f.resolveArg(arg)
			if err != nil {
				return err
			}
			cids[i] = ci
		}
		for i, ci := range cids {
			p, ok := c.f.checkPinned(ci, typ, c.enc)
			if !ok {
				return fmt.Errorf("path '%s' is not pinned", c.args[i])
			}
			if err := emit(p); err != nil {
				return err
			}
		}
	} else {
		for _, p := range c.f.listPins(typ) {
			if filter != "" && !strings.Contains(p.name, filter) {
				continue
			}
			if err := emit(p); err != nil {
				return err
			}
		}
	}
	if stream {
		return nil
	}
	return c.em.single(pinLsList{Keys: keys})
}

func runPinUpdate(c *call) error {
	from, err := c.f.resolveArg(c.args[0])
	if err != nil {
		return err
	}
	to, err := c.f.resolveArg(c.args[1])
	if err != nil {
		return err
	}
	if err := c.f.pinUpdate(c.ctx, from, to, c.flag("unpin")); err != nil {
		return err
	}
	return c.em.single(pinOutput{Pins: []string{c.enc(from), c.enc(to)}})
}
