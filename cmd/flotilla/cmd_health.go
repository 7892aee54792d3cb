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

func runHealth(ctx context.Context, g *globals, args []string) error {
	return dispatch(ctx, g, "health", map[string]subcommand{
		"alerts":  {"", "list the alerts of expired peer metrics", runHealthAlerts},
		"metrics": {"[name]", "list metric names, or every peer's latest value of one", runHealthMetrics},
	}, args)
}

func runHealthAlerts(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags]")
	_, c, ctx, err := cmd.start(ctx, args, 0, 0)
	if err != nil {
		return err
	}
	defer cmd.close()
	var alerts []health.Alert
	raw, err := c.call(ctx, request{method: http.MethodGet, path: "/health/alerts"}, &alerts)
	if err != nil {
		return err
	}
	if cmd.json {
		return printJSON(g.env.Stdout, raw)
	}
	t := newTable(g.env.Stdout, "PEER", "METRIC", "TRIGGERED", "EXPIRED")
	for _, a := range alerts {
		t.row(a.Peer, a.Name, formatTime(a.TriggeredAt), formatTime(unixNano(a.Expire)))
	}
	return t.flush()
}

func runHealthMetrics(ctx context.Context, g *globals, name string, args []string) error {
	cmd := newClientCommand(g, name, "[flags] [name]")
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
			fmt.Fprintln(g.env.Stdout, n)
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
