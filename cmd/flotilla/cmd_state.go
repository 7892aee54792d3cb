package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/internal/config"
)

func runState(ctx context.Context, g *globals, args []string) error {
	return dispatch(ctx, g, "state", map[string]subcommand{
		"export": {"[--file F]", "write the pinset of a stopped peer as ndjson (ipfs-cluster's format)", runStateExport},
		"import": {"[--file F] [--force]", "replace the pinset of a stopped peer with an export", runStateImport},
	}, args)
}

func runStateExport(_ context.Context, g *globals, name string, args []string) error {
	fs := newFlagSet(g, name, "[--file F]")
	file := fs.String("file", "", "write to this file instead of stdout")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(home, "data")
	if *file == "" {
		n, err := offline.Export(dataDir, g.env.Stdout)
		if err == nil {
			fmt.Fprintf(g.env.Stderr, "exported %d pins\n", n)
		}
		return err
	}
	// A temp file renamed at the end: a failed export leaves no file that
	// looks like a whole one.
	f, err := os.CreateTemp(filepath.Dir(*file), filepath.Base(*file)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := offline.Export(dataDir, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), *file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.env.Stderr, "exported %d pins to %s\n", n, *file)
	return nil
}

func runStateImport(_ context.Context, g *globals, name string, args []string) error {
	fs := newFlagSet(g, name, "[--file F] [--force]")
	file := fs.String("file", "", "read from this file instead of stdin")
	force := fs.Bool("force", false, "replace a pinset that is not empty")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	// The identity and cluster address make the Raft configuration of a
	// peer that never ran; a peer that did keeps its own.
	ident, _, err := config.LoadIdentity(filepath.Join(home, identityFile))
	if err != nil {
		return fmt.Errorf("%w (run `flotilla init` first)", err)
	}
	cfg, err := config.Load(filepath.Join(home, configFile), g.env.Environ)
	if err != nil {
		return err
	}
	selfAddr := advertiseAddr(cfg.Cluster.Listen, &net.TCPAddr{})

	dataDir := filepath.Join(home, "data")
	count, err := offline.PinCount(dataDir)
	if err != nil {
		return err
	}
	if count > 0 && !*force {
		return fmt.Errorf("the peer holds %d pins: use --force to replace them", count)
	}
	var in io.Reader = g.env.Stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if in == nil {
		return errors.New("nothing to import: give --file or a pinset on stdin")
	}
	n, err := offline.Import(dataDir, ident.ID, selfAddr, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.env.Stdout, "imported %d pins; the peer serves them from its next start\n", n)
	return nil
}
