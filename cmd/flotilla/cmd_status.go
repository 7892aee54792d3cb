package main

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func runStatus(ctx context.Context, g *globals, args []string) error {
	cmd := newClientCommand(g, "status", "[flags] [cid...]")
	filter := cmd.fs.String("filter", "", "only these statuses, comma-separated: pinned, pinning, pin_queued, pin_error, unpinned, remote, cluster_error, error, queued, ...")
	local := cmd.fs.Bool("local", false, "only this peer's status")
	cids, err := cmd.parse(args, 0, -1)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *filter != "" {
		q.Set("filter", *filter)
	}
	if *local {
		q.Set("local", "true")
	}
	if len(cids) > 0 {
		q.Set("cids", strings.Join(cids, ","))
	}
	return printStatuses(ctx, g, cmd, request{method: http.MethodGet, path: "/pins", query: q}, true)
}

func runRecover(ctx context.Context, g *globals, args []string) error {
	cmd := newClientCommand(g, "recover", "[flags] [cid]")
	local := cmd.fs.Bool("local", false, "report this peer's status only")
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *local {
		q.Set("local", "true")
	}
	if len(pos) == 1 {
		return printStatuses(ctx, g, cmd, request{method: http.MethodPost, path: "/pins/" + url.PathEscape(pos[0]) + "/recover", query: q}, false)
	}
	return printStatuses(ctx, g, cmd, request{method: http.MethodPost, path: "/pins/recover", query: q}, true)
}

var statusColumns = []string{"CID", "NAME", "PEER", "STATUS", "SINCE", "ERROR"}

// printStatuses prints GlobalPinInfo objects, from a stream or a single
// answer, one row per peer in peer name order.
func printStatuses(ctx context.Context, g *globals, cmd *clientCommand, r request, streamed bool) error {
	c, ctx, err := cmd.connect(ctx)
	if err != nil {
		return err
	}
	defer cmd.close()
	t := newTable(g.env.Stdout, statusColumns...)
	emit := func(info types.GlobalPinInfo, raw json.RawMessage) error {
		if cmd.json {
			return printJSON(g.env.Stdout, raw)
		}
		ids := slices.SortedFunc(maps.Keys(info.PeerMap), func(a, b string) int {
			return cmp.Or(cmp.Compare(info.PeerMap[a].PeerName, info.PeerMap[b].PeerName), cmp.Compare(a, b))
		})
		for _, id := range ids {
			st := info.PeerMap[id]
			t.row(info.Cid, info.Name, peerLabel(id, st), st.Status, formatTime(st.Timestamp), st.Error)
		}
		return nil
	}
	if streamed {
		err = c.stream(ctx, r, decodeEach(emit))
	} else {
		var info types.GlobalPinInfo
		var raw json.RawMessage
		if raw, err = c.call(ctx, r, &info); err == nil {
			err = emit(info, raw)
		}
	}
	if err != nil || cmd.json {
		return err
	}
	return t.flush()
}

func runAlloc(ctx context.Context, g *globals, args []string) error {
	return dispatch(ctx, g, "alloc", map[string]subcommand{
		"ls": {"[cid]", "list which peers each pin is allocated to", runAllocLs},
	}, args)
}

func runAllocLs(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] [cid]")
	pos, err := cmd.parse(args, 0, 1)
	if err != nil {
		return err
	}
	return listAllocations(ctx, g, cmd, pos, []string{"CID", "NAME", "REPLICATION", "ALLOCATIONS", "USER ALLOCATIONS"},
		func(p storage.Pin) []string {
			return []string{p.Cid.String(), p.Name, formatReplication(p), formatAllocations(p), strings.Join(p.UserAllocations, ",")}
		})
}
