package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/cluster"
)

// stateRecoverQuorumCommand makes a stopped peer the one voter of its
// cluster, after the cluster lost a majority of its voters for good.
type stateRecoverQuorumCommand struct {
	base
	force bool
	keep  repeatedFlag
}

func newStateRecoverQuorumCommand(g *globals, name, args string) command {
	c := &stateRecoverQuorumCommand{base: newBase(g, name, args)}
	c.fs.BoolVar(&c.force, "force", false, "rewrite the Raft configuration (without it, only show where this peer's log ends)")
	c.fs.Var(&c.keep, "keep", "also keep this member of the configuration, by peer ID (repeatable; run the same command on it)")
	return c
}

func (c *stateRecoverQuorumCommand) Run(_ context.Context, args []string) error {
	g := c.g
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
		return err
	}
	home, ident, fileCfg, err := stoppedPeer(g)
	if err != nil {
		return err
	}
	cfg := cluster.FromFile(fileCfg, home)
	cfg.ID = ident.ID
	rec, err := cluster.RecoverQuorum(cfg, c.keep, c.force)
	if err != nil && !errors.Is(err, cluster.ErrNotInConfiguration) || rec.Old.Servers == nil {
		return err
	}
	out := g.env.Stdout
	fmt.Fprintf(out, "this peer: %s\nits raft log ends at index %d, term %d\n", cfg.ID, rec.LastIndex, rec.LastTerm)
	printConfiguration(out, "configuration before", rec.Old)
	if err != nil {
		return err
	}
	if !c.force {
		return errors.New("nothing changed: run again with --force, on the survivor whose log ends at the highest term, then index, " +
			"to make it the only voter (entries committed only on the lost peers are lost)")
	}
	printConfiguration(out, "configuration now", rec.New)
	fmt.Fprintf(out, "kept every entry up to index %d, now committed; start the peer with `flotilla daemon`\n", rec.LastIndex)
	return nil
}

func printConfiguration(w io.Writer, title string, c raft.Configuration) {
	fmt.Fprintf(w, "%s:\n", title)
	for _, s := range c.Servers {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", s.ID, strings.ToLower(s.Suffrage.String()), s.Address)
	}
}

// repeatedFlag collects every value of a flag given more than once.
type repeatedFlag []string

func (r *repeatedFlag) String() string { return strings.Join(*r, ",") }

func (r *repeatedFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty value")
	}
	*r = append(*r, s)
	return nil
}
