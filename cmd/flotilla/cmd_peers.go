package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/types"
)

type idCommand struct{ *clientCommand }

func newIDCommand(g *globals, name, args string) command {
	return &idCommand{newClientCommand(g, name, args)}
}

func (cmd *idCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	_, c, ctx, err := cmd.start(ctx, args, 0, 0)
	if err != nil {
		return err
	}
	defer cmd.close()
	var id types.ID
	raw, err := c.call(ctx, request{method: http.MethodGet, path: "/id"}, &id)
	if err != nil {
		return err
	}
	if cmd.json {
		return printJSON(g.env.Stdout, raw)
	}
	t := newTable(g.env.Stdout)
	t.row("ID", id.ID)
	t.row("Name", id.Peername)
	t.row("Role", peerRole(id))
	t.row("Version", id.Version)
	for i, a := range id.Addresses {
		t.row(label(i, "Addresses"), a)
	}
	ipfs := id.IPFS.ID
	if id.IPFS.Error != "" {
		ipfs = "error: " + id.IPFS.Error
	}
	t.row("IPFS", ipfs)
	t.row("Raft", formatRaft(id.Raft))
	t.row("Cluster", fmt.Sprintf("%d peers", len(id.ClusterPeers)))
	if id.Error != "" {
		t.row("Error", id.Error)
	}
	return t.flush()
}

// label names the first row of a multi-row field only.
func label(i int, name string) string {
	if i == 0 {
		return name
	}
	return ""
}

func formatRaft(r types.RaftInfo) string {
	if r.State == "" {
		return ""
	}
	s := r.State
	if !r.Voter {
		s += " (non-voter)"
	}
	return s
}

// peerRole is the peer's role; a peer of an older build that does not say
// is placed by its Raft view.
func peerRole(id types.ID) string {
	switch {
	case id.Role != "":
		return id.Role
	case id.Raft.State == "":
		return ""
	case id.Raft.State == "leader":
		return types.RoleLeader
	case id.Raft.Voter:
		return types.RoleVoter
	}
	return types.RoleNonVoter
}

type peersLsCommand struct{ *clientCommand }

func newPeersLsCommand(g *globals, name, args string) command {
	return &peersLsCommand{newClientCommand(g, name, args)}
}

func (cmd *peersLsCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	_, c, ctx, err := cmd.start(ctx, args, 0, 0)
	if err != nil {
		return err
	}
	defer cmd.close()
	var peers []types.ID
	err = c.stream(ctx, request{method: http.MethodGet, path: "/peers"}, decodeEach(func(p types.ID, raw json.RawMessage) error {
		if cmd.json {
			return printJSON(g.env.Stdout, raw)
		}
		peers = append(peers, p)
		return nil
	}))
	if err != nil || cmd.json {
		return err
	}
	slices.SortFunc(peers, func(a, b types.ID) int {
		return cmp.Or(cmp.Compare(a.Peername, b.Peername), cmp.Compare(a.ID, b.ID))
	})
	t := newTable(g.env.Stdout, "NAME", "ID", "ROLE", "VERSION", "ADDRESS", "IPFS", "ERROR")
	led := false
	for _, p := range peers {
		t.row(p.Peername, p.ID, peerRole(p), build(p), strings.Join(p.Addresses, ","), p.IPFS.ID, cmp.Or(p.Error, p.IPFS.Error))
		led = led || peerRole(p) == types.RoleLeader
	}
	if err := t.flush(); err != nil {
		return err
	}
	if !led && len(peers) > 0 {
		// The table alone looks as it always does: say what matters most.
		fmt.Fprintln(g.env.Stderr, "no peer leads: the cluster cannot pin, unpin or change its members until a majority of its voters reach each other")
	}
	return nil
}

// build is the version a peer runs, with its commit when it says: during a
// rolling upgrade the operator reads which peers run which.
func build(p types.ID) string {
	if p.Commit == "" {
		return p.Version
	}
	return p.Version + " (" + p.Commit + ")"
}

type peersRmCommand struct{ *clientCommand }

func newPeersRmCommand(g *globals, name, args string) command {
	return &peersRmCommand{newClientCommand(g, name, args)}
}

func (cmd *peersRmCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	pos, c, ctx, err := cmd.start(ctx, args, 1, 1)
	if err != nil {
		return err
	}
	defer cmd.close()
	if _, err := c.call(ctx, request{method: http.MethodDelete, path: "/peers/" + url.PathEscape(pos[0])}, nil); err != nil {
		return err
	}
	if !cmd.json {
		fmt.Fprintf(g.env.Stdout, "removed peer %s\n", pos[0])
	}
	return nil
}
