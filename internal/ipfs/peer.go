package ipfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
)

// These methods give the cluster peer what it asks of its upstream in plain
// values, so that the cluster package declares its own small interfaces
// without importing this one's types.

// FreeSpace is the room left in the repo: StorageMax minus RepoSize.
func (c *Client) FreeSpace(ctx context.Context) (uint64, error) {
	rs, err := c.RepoSize(ctx)
	if err != nil || rs.StorageMax <= rs.RepoSize {
		return 0, err
	}
	return rs.StorageMax - rs.RepoSize, nil
}

// RepoTotals is repo/stat's size, maximum and object count.
func (c *Client) RepoTotals(ctx context.Context) (size, max, objects uint64, err error) {
	rs, err := c.RepoStat(ctx)
	return rs.RepoSize, rs.StorageMax, rs.NumObjects, err
}

// IPFSID is the node's peer ID and addresses.
func (c *Client) IPFSID(ctx context.Context) (string, []string, error) {
	id, err := c.ID(ctx)
	return id.ID, id.Addresses, err
}

// RepoGC runs the node's garbage collector, calling fn with each removed
// CID or, with stream-errors, each error, as the node streams them.
func (c *Client) RepoGC(ctx context.Context, fn func(key, errMsg string) error) error {
	res, err := c.api.Request("repo/gc").Option("stream-errors", true).Send(ctx)
	if err != nil {
		return c.wrap("repo/gc", err)
	}
	if res.Error != nil {
		return c.wrap("repo/gc", res.Error)
	}
	defer res.Cancel()
	dec := json.NewDecoder(res.Output)
	for {
		var obj struct {
			Key   map[string]string
			Error string
		}
		if err := dec.Decode(&obj); err != nil {
			if err == io.EOF {
				return nil
			}
			return c.wrap("repo/gc", err)
		}
		if err := fn(obj.Key["/"], obj.Error); err != nil {
			return err
		}
	}
}

// PinUpdate pins to by updating from's recursive pin, keeping from pinned:
// Kubo walks only the blocks that differ, and no garbage collection can
// catch the shared blocks between an unpin and a pin.
//
// Kubo's pin/update reports no progress, so inactivity bounds the whole
// update: one not done after that long is abandoned with ErrPinStalled.
// The caller then pins afresh with Pin, whose fetch finds the blocks the
// update brought and whose progress tells a slow fetch from a stuck one.
// Zero or less means no timeout; ctx still applies.
func (c *Client) PinUpdate(ctx context.Context, from, to cid.Cid, inactivity time.Duration) error {
	w := newWatchdog(ctx, inactivity, func() error {
		return fmt.Errorf("%w: pin update from %s to %s not done after %s", ErrPinStalled, from, to, inactivity)
	})
	err := c.api.Request("pin/update", "/ipfs/"+from.String(), "/ipfs/"+to.String()).
		Option("unpin", false).
		Exec(w.ctx, nil)
	return w.end(c.wrap("pin/update", err))
}

// IndirectRoot reports the root through which the node pins ci
// indirectly, as Kubo's "indirect through <root>", or ok false when it does
// not. Kubo walks the recursive DAGs to answer: this is as slow as Kubo's
// own `pin ls <cid>`.
func (c *Client) IndirectRoot(ctx context.Context, ci cid.Cid) (typ string, ok bool, err error) {
	var out struct {
		Keys map[string]struct{ Type string }
	}
	err = c.pinLs("/ipfs/"+ci.String()).Option("type", Indirect).Exec(ctx, &out)
	if err != nil {
		err = c.wrap("pin/ls", err)
		var ae *APIError
		if errors.As(err, &ae) && strings.Contains(ae.Message, msgIsNotPinned) {
			return "", false, nil
		}
		return "", false, err
	}
	for _, v := range out.Keys {
		return v.Type, strings.HasPrefix(v.Type, "indirect"), nil
	}
	return "", false, nil
}
