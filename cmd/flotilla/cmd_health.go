package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/flotilla-ipfs/flotilla/health"
)

type healthAlertsCommand struct{ *clientCommand }

func newHealthAlertsCommand(g *globals, name, args string) command {
	return &healthAlertsCommand{newClientCommand(g, name, args)}
}

func (cmd *healthAlertsCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	_, c, ctx, err := cmd.start(ctx, args, 0, 0)
	if err != nil {
		return err
	}
	defer cmd.close()
	var alerts []shownAlert
	raw, err := c.call(ctx, request{method: http.MethodGet, path: "/health/alerts"}, &alerts)
	if err != nil {
		return err
	}
	if cmd.json {
		return printJSON(g.env.Stdout, raw)
	}
	// NAME first, as in peers ls; a peer that left the cluster has none.
	t := newTable(g.env.Stdout, "NAME", "PEER", "METRIC", "STATE", "TRIGGERED", "EXPIRED", "CLEARED")
	for _, a := range alerts {
		name, cleared := a.Peername, ""
		if name == "" && a.Active != nil {
			name = "-"
		}
		if a.ClearedAt != nil {
			cleared = formatTime(*a.ClearedAt)
		}
		t.row(name, a.Peer, a.Name, a.state(), formatTime(a.TriggeredAt), formatTime(unixNano(a.Expire)), cleared)
	}
	return t.flush()
}

// shownAlert is an alert as the API answers it. A peer of an earlier build
// (or ipfs-cluster) says nothing of whether it is active, nor the peer's
// name: Active is then nil, and the table says "unknown", never "cleared"
// for a peer that may still be down.
type shownAlert struct {
	health.Alert
	Active *bool `json:"active"`
}

// state is "active" while the alert's peer is still silent, "cleared"
// once its heartbeat came back or it left the cluster.
func (a shownAlert) state() string {
	switch {
	case a.Active == nil:
		return "unknown"
	case *a.Active:
		return "active"
	}
	return "cleared"
}

type healthMetricsCommand struct{ *clientCommand }

func newHealthMetricsCommand(g *globals, name, args string) command {
	return &healthMetricsCommand{newClientCommand(g, name, args)}
}

func (cmd *healthMetricsCommand) Run(ctx context.Context, args []string) error {
	g := cmd.g
	pos, c, ctx, err := cmd.start(ctx, args, 0, 1)
	if err != nil {
		return err
	}
	defer cmd.close()
	if len(pos) == 0 {
		var names []string
		raw, err := c.call(ctx, request{method: http.MethodGet, path: "/monitor/metrics"}, &names)
		if err != nil {
			return err
		}
		if cmd.json {
			return printJSON(g.env.Stdout, raw)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintln(g.env.Stdout, cleanCell(n))
		}
		return nil
	}
	var metrics []health.Metric
	raw, err := c.call(ctx, request{method: http.MethodGet, path: "/monitor/metrics/" + url.PathEscape(pos[0])}, &metrics)
	if err != nil {
		return err
	}
	if cmd.json {
		return printJSON(g.env.Stdout, raw)
	}
	slices.SortFunc(metrics, func(a, b health.Metric) int { return cmp.Compare(a.Peer, b.Peer) })
	t := newTable(g.env.Stdout, "PEER", "VALUE", "VALID", "EXPIRES")
	for _, m := range metrics {
		t.row(m.Peer, m.Value, strconv.FormatBool(m.Valid), formatTime(unixNano(m.Expire)))
	}
	return t.flush()
}

func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
