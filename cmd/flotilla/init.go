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
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
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
	if err := c.secretsFromEnv(&cfg); err != nil {
		return err
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

// secretsFromEnv writes the cluster's secrets into the new service.json
// when the environment carries them, as ipfs-cluster-service init takes
// CLUSTER_SECRET: a peer made to join a cluster keeps them for every later
// start, where a variable exported in one shell would be gone at the next.
func (c *initCommand) secretsFromEnv(cfg *config.Config) error {
	for _, s := range []struct {
		env   string
		field *string
	}{
		{"FLOTILLA_CLUSTER_SECRET", &cfg.Cluster.Secret},
		{"FLOTILLA_CLUSTER_FOLLOWER_SECRET", &cfg.Cluster.FollowerSecret},
	} {
		v := c.g.env.getenv(s.env)
		if v == "" {
			continue
		}
		*s.field = v
		if err := cfg.Validate(); err != nil {
			var ce *config.Error
			if errors.As(err, &ce) {
				ce.Source = "environment variable " + s.env
				return ce
			}
			return fmt.Errorf("environment variable %s: %w", s.env, err)
		}
		fmt.Fprintf(c.g.env.Stdout, "took %s from the environment\n", s.env)
	}
	return nil
}

type versionCommand struct{ base }

func newVersionCommand(g *globals, name, args string) command {
	return &versionCommand{newBase(g, name, args)}
}

func (c *versionCommand) Run(_ context.Context, args []string) error {
	if _, err := parseArgs(c.fs, args, 0, 0); err != nil {
		return err
	}
	// The commit too, as GET /id reports it: a version alone does not tell
	// two builds apart.
	if version.Commit == "" {
		fmt.Fprintf(c.g.env.Stdout, "flotilla %s\n", version.Version)
		return nil
	}
	fmt.Fprintf(c.g.env.Stdout, "flotilla %s (commit %s)\n", version.Version, version.Commit)
	return nil
}
