package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/version"
)

const (
	configFile   = "service.json"
	identityFile = "identity.json"
)

type initCommand struct {
	base
	force bool
}

func newInitCommand(g *globals, name, args string) command {
	c := &initCommand{base: newBase(g, name, args)}
	c.fs.BoolVar(&c.force, "force", false, "overwrite an existing configuration and identity")
	return c
}

func (c *initCommand) Run(_ context.Context, args []string) error {
	g := c.g
	if err := parseFlags(c.fs, args); err != nil {
		return err
	}
	home, err := g.home()
	if err != nil {
		return err
	}
	cfgPath, idPath := filepath.Join(home, configFile), filepath.Join(home, identityFile)
	if !c.force {
		for _, p := range []string{cfgPath, idPath} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s already exists; use --force to overwrite it", p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	cfg := config.Default()
	if cfg.Cluster.Secret, err = config.NewSecret(); err != nil {
		return err
	}
	if cfg.Cluster.FollowerSecret, err = config.NewSecret(); err != nil {
		return err
	}
	if host, err := os.Hostname(); err == nil {
		cfg.Cluster.Peername = host
	}
	ident, err := config.NewIdentity()
	if err != nil {
		return err
	}
	if err := config.Save(cfgPath, cfg); err != nil {
		return err
	}
	if err := config.SaveIdentity(idPath, ident); err != nil {
		return err
	}
	fmt.Fprintf(g.env.Stdout, "initialized peer %s in %s\n", ident.ID, home)
	return nil
}

type versionCommand struct{ base }

func newVersionCommand(g *globals, name, args string) command {
	return &versionCommand{newBase(g, name, args)}
}

func (c *versionCommand) Run(_ context.Context, args []string) error {
	if err := parseFlags(c.fs, args); err != nil {
		return err
	}
	fmt.Fprintln(c.g.env.Stdout, version.Version)
	return nil
}
