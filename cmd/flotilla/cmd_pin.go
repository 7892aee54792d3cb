package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func runPin(ctx context.Context, g *globals, args []string) error {
	return dispatch(ctx, g, "pin", map[string]subcommand{
		"add":    {"<cid|/ipfs/path>", "pin in the cluster", runPinAdd},
		"rm":     {"<cid|/ipfs/path>", "unpin from the cluster", runPinRm},
		"ls":     {"[cid]", "list the pinset with each pin's options", runPinLs},
		"update": {"<from> <to>", "pin <to> with <from>'s options, as its replacement", runPinUpdate},
	}, args)
}

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

func runPinAdd(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] <cid|/ipfs/path>")
	pf := addPinFlags(cmd.fs)
	wf := addWaitFlags(cmd.fs)
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
	return commitPin(ctx, g, c, cmd, wf, route, pf.query())
}

// commitPin posts a pin, prints it, and waits for it when asked.
func commitPin(ctx context.Context, g *globals, c *apiClient, cmd *clientCommand, wf *waitFlags, route string, q url.Values) error {
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
	if err != nil || !wf.wait {
		return err
	}
	return wf.waitPinned(ctx, c, g, cmd.json, pin.Cid.String())
}

func runPinRm(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] <cid|/ipfs/path>")
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

func runPinLs(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] [cid]")
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	return listAllocations(ctx, g, cmd, pos, pinColumns, pinRow)
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

func runPinUpdate(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] <from cid> <to cid|/ipfs/path>")
	pf := addPinFlags(cmd.fs)
	wf := addWaitFlags(cmd.fs)
	pos, err := cmd.parse(args, 2, 2)
	if err != nil {
		return err
	}
	route, err := pinRoute(pos[1])
	if err != nil {
		return usageError(g, "%v", err)
	}
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	// The new pin starts from the old one's options, so that an update
	// keeps its name, mode, replication and metadata unless told otherwise.
	var from storage.Pin
	_, err = c.call(ctx, request{method: http.MethodGet, path: "/allocations/" + url.PathEscape(pos[0])}, &from)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return fmt.Errorf("cannot update from %s: %w", pos[0], err)
	}
	if err != nil {
		return err
	}
	q := override(optionsQuery(from, time.Now()), pf.query())
	q.Set("pin-update", from.Cid.String())
	return commitPin(ctx, g, c, cmd, wf, route, q)
}
