package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/storage"
)

type stateExportCommand struct {
	base
	file string
}

func newStateExportCommand(g *globals, name, args string) command {
	c := &stateExportCommand{base: newBase(g, name, args)}
	c.fs.StringVar(&c.file, "file", "", "write to this file instead of stdout (- is stdout)")
	return c
}

func (c *stateExportCommand) Run(_ context.Context, args []string) error {
	g := c.g
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
		return err
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(home, "data")
	if c.file == "" || c.file == "-" {
		n, err := offline.Export(dataDir, g.env.Stdout)
		if err == nil {
			fmt.Fprintf(g.env.Stderr, "exported %d pins\n", n)
		}
		return err
	}
	// A temp file renamed at the end: a failed export leaves no file that
	// looks like a whole one.
	f, err := os.CreateTemp(filepath.Dir(c.file), filepath.Base(c.file)+".tmp-*")
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
		err = os.Rename(f.Name(), c.file)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.env.Stderr, "exported %d pins to %s\n", n, c.file)
	return nil
}

type stateImportCommand struct {
	base
	file       string
	force      bool
	allowEmpty bool
}

func newStateImportCommand(g *globals, name, args string) command {
	c := &stateImportCommand{base: newBase(g, name, args)}
	c.fs.StringVar(&c.file, "file", "", "read from this file instead of stdin (- is stdin)")
	c.fs.BoolVar(&c.force, "force", false, "replace a pinset that is not empty")
	c.fs.BoolVar(&c.allowEmpty, "allow-empty", false, "take an input without pins, which empties the pinset")
	return c
}

func (c *stateImportCommand) Run(_ context.Context, args []string) error {
	g := c.g
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
		return err
	}
	// The identity and cluster address make the Raft configuration of a
	// peer that never ran; a peer that did keeps its own.
	home, ident, cfg, err := stoppedPeer(g)
	if err != nil {
		return err
	}
	selfAddr := advertiseAddr(cfg.Cluster.Listen, &net.TCPAddr{})

	dataDir := filepath.Join(home, "data")
	count, err := offline.PinCount(dataDir)
	if err != nil {
		return err
	}
	if count > 0 && !c.force {
		return fmt.Errorf("the peer holds %d pins: use --force to replace them", count)
	}
	in, name := g.env.Stdin, "stdin"
	if c.file != "" && c.file != "-" {
		f, err := os.Open(c.file)
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, c.file
	} else if in == nil {
		return errors.New("nothing to import: give --file or a pinset on stdin")
	} else if g.env.terminal(in) {
		// Else a user who forgot --file faces a silent prompt.
		fmt.Fprintln(g.env.Stderr, "reading pins from stdin (end with Ctrl-D); use --file to read a file")
	}
	importPins := offline.Import
	if c.allowEmpty {
		importPins = offline.ImportAllowingEmpty
	}
	n, err := importPins(dataDir, ident.ID, selfAddr, in)
	var bad *storage.InputError
	switch {
	case errors.Is(err, offline.ErrNoPins):
		return fmt.Errorf("%s holds no pins: nothing imported (to empty the pinset, give --allow-empty)", name)
	case errors.As(err, &bad):
		return fmt.Errorf("%s:%d: %w", name, bad.Line, bad.Err)
	case err != nil:
		return err
	}
	fmt.Fprintf(g.env.Stdout, "imported %d pins; the peer serves them from its next start\n", n)
	return nil
}

// stoppedPeer is what the offline commands read of a peer: its home, its
// identity and its configuration.
func stoppedPeer(g *globals) (home string, ident config.Identity, cfg config.Config, err error) {
	if home, err = g.home(); err != nil {
		return "", ident, cfg, err
	}
	if ident, _, err = config.LoadIdentity(filepath.Join(home, identityFile)); err != nil {
		return "", ident, cfg, fmt.Errorf("%w (run `flotilla init` first)", err)
	}
	cfg, err = config.Load(filepath.Join(home, configFile), g.env.Environ)
	return home, ident, cfg, err
}
