package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// pinRoute is the API path for a CID or an IPFS path (/ipfs/<cid>/a,
// /ipns/name), each segment escaped.
func pinRoute(arg string) (string, error) {
	if !strings.HasPrefix(arg, "/") {
		return "/pins/" + url.PathEscape(arg), nil
	}
	segs := strings.Split(strings.Trim(arg, "/"), "/")
	switch segs[0] {
	case "ipfs", "ipns", "ipld":
	default:
		return "", fmt.Errorf("%q is neither a CID nor an /ipfs/, /ipns/ or /ipld/ path", arg)
	}
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return "/pins/" + strings.Join(segs, "/"), nil
}

// pinningCommand is what pin add and pin update share: the pin options,
// and what to do after the commit.
type pinningCommand struct {
	*clientCommand
	pin *pinFlags
	out *pinOutputFlags
}

func newPinningCommand(g *globals, name, args string) pinningCommand {
	c := pinningCommand{clientCommand: newClientCommand(g, name, args)}
	c.pin = addPinFlags(c.fs)
	c.out = addPinOutputFlags(c.fs)
	return c
}

type pinAddCommand struct{ pinningCommand }

func newPinAddCommand(g *globals, name, args string) command {
	return &pinAddCommand{newPinningCommand(g, name, args)}
}

func (cmd *pinAddCommand) Run(ctx context.Context, args []string) error {
	pos, err := cmd.parse(args, 1, 1)
	if err != nil {
		return err
	}
	route, err := pinRoute(pos[0])
	if err != nil {
		return usageError(cmd.g, "%v", err)
	}
	if err := cmd.out.check(cmd.g); err != nil {
		return err
	}
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	return commitPin(ctx, c, cmd.clientCommand, cmd.out, route, cmd.pin.query())
}

// pinOutputFlags say what pin add and pin update do after the commit, as
// ipfs-cluster-ctl's: wait for peers to pin, then print the status.
type pinOutputFlags struct {
	*waitFlags
	noStatus bool
}

func addPinOutputFlags(fs *flag.FlagSet) *pinOutputFlags {
	o := &pinOutputFlags{waitFlags: addWaitFlags(fs)}
	fs.BoolVar(&o.noStatus, "no-status", false, "print the pin only, not its status after")
	return o
}

// commitPin posts a pin and prints it; then waits for it when asked, and
// prints its status unless told not to.
func commitPin(ctx context.Context, c *apiClient, cmd *clientCommand, o *pinOutputFlags, route string, q url.Values) error {
	g := cmd.g
	var pin storage.Pin
	raw, err := c.call(ctx, request{method: http.MethodPost, path: route, query: q}, &pin)
	if err != nil {
		return err
	}
	if cmd.json {
		err = printJSON(g.env.Stdout, raw)
	} else {
		err = printPins(g, []storage.Pin{pin})
	}
	if err != nil {
		return err
	}
	target := pin.Cid.String()
	var info types.GlobalPinInfo
	if o.waiting() {
		if info, raw, err = o.waitPinned(ctx, c, g, cmd.json, target); err != nil {
			return err
		}
	}
	if o.noStatus {
		return nil
	}
	if !o.waiting() {
		if raw, err = c.call(ctx, request{method: http.MethodGet, path: "/pins/" + url.PathEscape(target)}, &info); err != nil {
			return err
		}
	}
	out := newStatusOutput(g.env.Stdout, cmd.json)
	if err := out.emit(info, raw); err != nil {
		return err
	}
	return out.flush()
}

type pinRmCommand struct{ *clientCommand }

func newPinRmCommand(g *globals, name, args string) command {
	return &pinRmCommand{newClientCommand(g, name, args)}
}

func (cmd *pinRmCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	pos, err := cmd.parse(args, 1, 1)
	if err != nil {
		return err
	}
	route, err := pinRoute(pos[0])
	if err != nil {
		return usageError(g, "%v", err)
	}
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	var pin storage.Pin
	raw, err := c.call(ctx, request{method: http.MethodDelete, path: route}, &pin)
	if err != nil {
		return err
	}
	if cmd.json {
		return printJSON(g.env.Stdout, raw)
	}
	_, err = fmt.Fprintf(g.env.Stdout, "unpinned %s\n", pin.Cid)
	return err
}

type pinLsCommand struct{ *clientCommand }

func newPinLsCommand(g *globals, name, args string) command {
	return &pinLsCommand{newClientCommand(g, name, args)}
}

func (cmd *pinLsCommand) Run(ctx context.Context, args []string) error {
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	return listAllocations(ctx, cmd.g, cmd.clientCommand, pos, pinColumns, pinRow)
}

var pinColumns = []string{"CID", "NAME", "MODE", "REPLICATION", "EXPIRES", "METADATA"}

func pinRow(p storage.Pin) []string {
	return []string{p.Cid.String(), p.Name, p.Mode.String(), formatReplication(p), formatTime(p.ExpireAt), formatMetadata(p.Metadata)}
}

func printPins(g *globals, pins []storage.Pin) error {
	t := newTable(g.env.Stdout, pinColumns...)
	for _, p := range pins {
		t.row(pinRow(p)...)
	}
	return t.flush()
}

// listAllocations prints one pin, or the pinset, from /allocations.
func listAllocations(ctx context.Context, g *globals, cmd *clientCommand, cids []string, columns []string, row func(storage.Pin) []string) error {
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	t := newTable(g.env.Stdout, columns...)
	emit := func(p storage.Pin, raw json.RawMessage) error {
		if cmd.json {
			return printJSON(g.env.Stdout, raw)
		}
		t.row(row(p)...)
		return nil
	}
	if len(cids) == 1 {
		var p storage.Pin
		raw, err := c.call(ctx, request{method: http.MethodGet, path: "/allocations/" + url.PathEscape(cids[0])}, &p)
		if err == nil {
			err = emit(p, raw)
		}
		if err != nil {
			return err
		}
	} else if err := c.stream(ctx, request{method: http.MethodGet, path: "/allocations"}, decodeEach(emit)); err != nil {
		return err
	}
	if cmd.json {
		return nil
	}
	return t.flush()
}

type pinUpdateCommand struct{ pinningCommand }

func newPinUpdateCommand(g *globals, name, args string) command {
	return &pinUpdateCommand{newPinningCommand(g, name, args)}
}

func (cmd *pinUpdateCommand) Run(ctx context.Context, args []string) error {
	pos, err := cmd.parse(args, 2, 2)
	if err != nil {
		return err
	}
	// The old pin is named by its CID; a path below it names no pin.
	from := strings.TrimPrefix(pos[0], "/ipfs/")
	if strings.Contains(from, "/") {
		return usageError(cmd.g, "pin update %s: want the CID of the pin to update, or /ipfs/<cid>, not a path", pos[0])
	}
	route, err := pinRoute(pos[1])
	if err != nil {
		return usageError(cmd.g, "%v", err)
	}
	if err := cmd.out.check(cmd.g); err != nil {
		return err
	}
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	// The new pin starts from the old one's options, so that an update
	// keeps its name, mode, replication and metadata unless told otherwise.
	var old storage.Pin
	_, err = c.call(ctx, request{method: http.MethodGet, path: "/allocations/" + url.PathEscape(from)}, &old)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		return fmt.Errorf("cannot update from %s: want the CID of the pin to update: %w", pos[0], err)
	}
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return fmt.Errorf("cannot update from %s: %w", pos[0], err)
	}
	if err != nil {
		return err
	}
	q := override(optionsQuery(old, time.Now()), cmd.pin.query())
	q.Set("pin-update", old.Cid.String())
	return commitPin(ctx, c, cmd.clientCommand, cmd.out, route, q)
}
