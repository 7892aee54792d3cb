package main

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

type statusCommand struct {
	*clientCommand
	filter string
	local  bool
}

func newStatusCommand(g *globals, name, args string) command {
	c := &statusCommand{clientCommand: newClientCommand(g, name, args)}
	c.fs.StringVar(&c.filter, "filter", "", "only these statuses, comma-separated: "+strings.Join(types.StatusFilterNames(), ", "))
	c.fs.BoolVar(&c.local, "local", false, "only this peer's status")
	return c
}

func (cmd *statusCommand) Run(ctx context.Context, args []string) error {
	cids, err := cmd.parse(args, 0, -1)
	if err != nil {
		return err
	}
	// The API skips names it does not know, as ipfs-cluster's does; a
	// person who mistyped one wants to hear it.
	if f, unknown := types.ParseStatusFilter(cmd.filter); len(unknown) > 0 || (f != nil && len(f) == 0) {
		return usageError(cmd.g, "--filter %q: want statuses among %s", cmd.filter, strings.Join(types.StatusFilterNames(), ", "))
	}
	q := url.Values{}
	if cmd.filter != "" {
		q.Set("filter", cmd.filter)
	}
	if cmd.local {
		q.Set("local", "true")
	}
	if len(cids) > 0 {
		q.Set("cids", strings.Join(cids, ","))
	}
	return printStatuses(ctx, cmd.clientCommand, request{method: http.MethodGet, path: "/pins", query: q}, true)
}

type recoverCommand struct {
	*clientCommand
	local bool
}

func newRecoverCommand(g *globals, name, args string) command {
	c := &recoverCommand{clientCommand: newClientCommand(g, name, args)}
	c.fs.BoolVar(&c.local, "local", false, "report this peer's status only")
	return c
}

func (cmd *recoverCommand) Run(ctx context.Context, args []string) error {
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	q := url.Values{}
	if cmd.local {
		q.Set("local", "true")
	}
	if len(pos) == 1 {
		return printStatuses(ctx, cmd.clientCommand, request{method: http.MethodPost, path: "/pins/" + url.PathEscape(pos[0]) + "/recover", query: q}, false)
	}
	return printStatuses(ctx, cmd.clientCommand, request{method: http.MethodPost, path: "/pins/recover", query: q}, true)
}

var statusColumns = []string{"CID", "NAME", "PEER", "STATUS", "SINCE", "ERROR"}

// printStatuses prints GlobalPinInfo objects, from a stream or a single
// answer.
func printStatuses(ctx context.Context, cmd *clientCommand, r request, streamed bool) error {
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	out := newStatusOutput(cmd.g.env.Stdout, cmd.json)
	if streamed {
		err = c.stream(ctx, r, decodeEach(out.emit))
	} else {
		var info types.GlobalPinInfo
		var raw json.RawMessage
		if raw, err = c.call(ctx, r, &info); err == nil {
			err = out.emit(info, raw)
		}
	}
	if err != nil {
		return err
	}
	return out.flush()
}

// statusOutput prints statuses as the API's JSON, or as a table with one
// row per pin and peer, peers in name order.
type statusOutput struct {
	w    io.Writer
	json bool
	t    *table
}

func newStatusOutput(w io.Writer, jsonOut bool) *statusOutput {
	o := &statusOutput{w: w, json: jsonOut}
	if !jsonOut {
		o.t = newTable(w, statusColumns...)
	}
	return o
}

func (o *statusOutput) emit(info types.GlobalPinInfo, raw json.RawMessage) error {
	if o.json {
		return printJSON(o.w, raw)
	}
	ids := slices.SortedFunc(maps.Keys(info.PeerMap), func(a, b string) int {
		return cmp.Or(cmp.Compare(info.PeerMap[a].PeerName, info.PeerMap[b].PeerName), cmp.Compare(a, b))
	})
	for _, id := range ids {
		st := info.PeerMap[id]
		o.t.row(info.Cid, info.Name, peerLabel(id, st), st.Status, formatTime(st.Timestamp), st.Error)
	}
	return nil
}

func (o *statusOutput) flush() error {
	if o.json {
		return nil
	}
	return o.t.flush()
}

type allocLsCommand struct{ *clientCommand }

func newAllocLsCommand(g *globals, name, args string) command {
	return &allocLsCommand{newClientCommand(g, name, args)}
}

func (cmd *allocLsCommand) Run(ctx context.Context, args []string) error {
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	return listAllocations(ctx, cmd.g, cmd.clientCommand, pos, []string{"CID", "NAME", "REPLICATION", "ALLOCATIONS", "USER ALLOCATIONS"},
		func(p storage.Pin) []string {
			return []string{p.Cid.String(), p.Name, formatReplication(p), formatAllocations(p), strings.Join(p.UserAllocations, ",")}
		})
}
