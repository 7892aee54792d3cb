package main

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/flotilla-ipfs/flotilla/cluster"
)

// membership says how the peer takes part: a full member that bootstraps or
// joins, or a read-only follower that proves cluster.follower_secret alone.
// A home that followed a cluster once stays a follower's: its data folder
// remembers the cluster, so that later starts need no --follow.
func (d *daemon) membership(cfg *cluster.Config, bootstrap, follow []string) error {
	following, err := cluster.Following(cfg.DataDir)
	if err != nil {
		return err
	}
	if d.cfg.Cluster.FollowerSecret != "" {
		cfg.Port.FollowerSecret, _ = hex.DecodeString(d.cfg.Cluster.FollowerSecret)
	}
	switch {
	case following && len(bootstrap) > 0:
		return fmt.Errorf("this home follows a cluster read-only (%s/follow.json): start it without --bootstrap", cfg.DataDir)
	case len(follow) == 0 && !following:
		cfg.Port.Secret = d.secret()
		cfg.Membership.Bootstrap = bootstrap
		return nil
	case len(cfg.Port.FollowerSecret) == 0:
		return d.badKey("cluster.follower_secret", errors.New("a follower needs the cluster's follower secret (or FLOTILLA_CLUSTER_FOLLOWER_SECRET): ask the cluster's operator for it"))
	}
	// The follower's own cluster.secret is never used: it proves the
	// follower secret alone.
	cfg.Membership.Follower, cfg.Membership.Bootstrap = true, follow
	d.follower = true
	if cfg.Membership.LeaveOnShutdown {
		d.log.Warn().Msg("cluster.leave_on_shutdown has no effect on a read-only follower: a member removes it with `flotilla peers rm`")
		cfg.Membership.LeaveOnShutdown = false
	}
	return nil
}
