package main

import (
	"context"
	"fmt"
	"time"

	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
)

// The daemon's upstream IPFS node: it may start before the node answers,
// and it keeps watching whether the node does.

// openIPFS makes the upstream IPFS client and starts watching whether the
// node answers.
func (d *daemon) openIPFS() error {
	var err error
	if d.ipfs, err = ipfs.New(d.cfg.IPFS.API, d.component("ipfs")); err != nil {
		return d.badKey("ipfs.api", err)
	}
	d.watchCtx, d.cancel = context.WithCancel(context.Background())
	d.ipfsID = d.watchIPFS(d.watchCtx)
	return nil
}

// retryWhenIPFSIsBack retries the pins that failed while the IPFS node was
// down as soon as it answers again, rather than after their back-off.
func (d *daemon) retryWhenIPFSIsBack(node *cluster.Node) {
	for {
		select {
		case <-d.watchCtx.Done():
			return
		case <-d.ipfsBack:
			if err := node.RetryFailed(d.watchCtx); err != nil && d.watchCtx.Err() == nil {
				d.log.Warn().Err(err).Msg("retry the pins that failed while IPFS was down")
			}
		}
	}
}

// ready is the admin API's /health: a known leader and an answering IPFS.
func (d *daemon) ready() error {
	if !d.ipfsUp.Load() {
		return fmt.Errorf("the IPFS node at %s is not answering", d.cfg.IPFS.API)
	}
	return d.node.Ready()
}

// watchIPFS tells whether the upstream answers, logging each change, so the
// daemon can start before IPFS does and become ready when it answers. It
// returns the IPFS node's ID when it answers at once.
func (d *daemon) watchIPFS(ctx context.Context) string {
	probe := func() (string, error) {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		id, err := d.ipfs.ID(pctx)
		return id.ID, err
	}
	id, err := probe()
	d.ipfsUp.Store(err == nil)
	if err != nil {
		d.log.Warn().Err(err).Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node not answering yet; will keep trying")
	}
	go func() {
		for {
			wait := 10 * time.Second
			if !d.ipfsUp.Load() {
				wait = time.Second
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			_, err := probe()
			if up := err == nil; up != d.ipfsUp.Swap(up) {
				if up {
					d.log.Info().Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node answers")
					select {
					case d.ipfsBack <- struct{}{}:
					default:
					}
				} else {
					d.log.Warn().Err(err).Str("ipfs", d.cfg.IPFS.API).Msg("IPFS node stopped answering")
				}
			}
		}
	}()
	return id
}
