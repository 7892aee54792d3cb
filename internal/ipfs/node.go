package ipfs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// IPFSID is what `id` says about the node.
type IPFSID struct {
	ID           string
	Addresses    []string
	AgentVersion string
}

// ID asks the node who it is. It doubles as the liveness probe.
func (c *Client) ID(ctx context.Context) (IPFSID, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var out IPFSID
	err := c.api.Request("id").Exec(ctx, &out)
	return out, c.wrap("id", err)
}

// Version is the node's version string, e.g. "0.42.0".
func (c *Client) Version(ctx context.Context) (string, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var out struct{ Version string }
	if err := c.api.Request("version").Exec(ctx, &out); err != nil {
		return "", c.wrap("version", err)
	}
	return out.Version, nil
}

// RepoStat is the node's repository usage.
type RepoStat struct {
	RepoSize   uint64
	StorageMax uint64
	NumObjects uint64
}

// RepoStat reports repository usage, object count included. Counting walks
// every key of the blockstore, which is slow on big repos: periodic metrics
// should use RepoSize.
func (c *Client) RepoStat(ctx context.Context) (RepoStat, error) {
	return c.repoStat(ctx, false)
}

// RepoSize is RepoStat without NumObjects (left 0), cheap enough to poll:
// what a free-space informer needs.
func (c *Client) RepoSize(ctx context.Context) (RepoStat, error) {
	return c.repoStat(ctx, true)
}

func (c *Client) repoStat(ctx context.Context, sizeOnly bool) (RepoStat, error) {
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	req := c.api.Request("repo/stat")
	if sizeOnly {
		req = req.Option("size-only", true)
	}
	var out RepoStat
	err := req.Exec(ctx, &out)
	return out, c.wrap("repo/stat", err)
}

// Resolve turns what a user may call content into the CID to pin:
// "/ipfs/<cid>/a/b", "/ipns/<name>", a bare CID (with or without a subpath),
// "ipfs://..." and "ipns://...". A plain /ipfs/<cid> needs no round trip;
// anything else asks the node (`resolve`, recursive), which fetches the
// blocks on the way. A path that ends inside a block resolves to that block.
func (c *Client) Resolve(ctx context.Context, p string) (cid.Cid, error) {
	pp, err := normalizePath(p)
	if err != nil {
		return cid.Undef, err
	}
	if ci, ok := rootOnly(pp); ok {
		return ci, nil
	}
	ctx, cancel := c.bounded(ctx)
	defer cancel()
	var out struct{ Path string }
	if err := c.api.Request("resolve", pp.String()).Option("recursive", true).Exec(ctx, &out); err != nil {
		return cid.Undef, c.wrap("resolve", err)
	}
	resolved, err := path.NewPath(out.Path)
	if err != nil {
		return cid.Undef, fmt.Errorf("resolve %s: the node answered %q: %w", p, out.Path, err)
	}
	ip, err := path.NewImmutablePath(resolved)
	if err != nil {
		return cid.Undef, fmt.Errorf("resolve %s: the node answered %q: %w", p, out.Path, err)
	}
	return ip.RootCid(), nil
}

// normalizePath accepts the forms Kubo v0.43 does, so that an older
// upstream sees only /ipfs/ and /ipns/ paths.
func normalizePath(p string) (path.Path, error) {
	s := strings.TrimSpace(p)
	if s == "" {
		return nil, errors.New("empty path")
	}
	for _, ns := range []string{"ipfs", "ipns"} {
		if rest, ok := strings.CutPrefix(s, ns+"://"); ok {
			s = "/" + ns + "/" + rest
		} else if rest, ok := strings.CutPrefix(s, ns+":"); ok {
			s = "/" + ns + "/" + rest
		}
	}
	if !strings.HasPrefix(s, "/") {
		s = "/ipfs/" + s
	}
	return path.NewPath(s)
}

// rootOnly returns the CID of a path that is just /ipfs/<cid>.
func rootOnly(p path.Path) (cid.Cid, bool) {
	if p.Mutable() || len(p.Segments()) != 2 {
		return cid.Undef, false
	}
	ip, err := path.NewImmutablePath(p)
	if err != nil {
		return cid.Undef, false
	}
	return ip.RootCid(), true
}
