package cluster

import (
	"slices"
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A pin update goes where the old version is, whoever placed it there: its
// peers hold most of the new version's blocks already.
func TestAPinUpdateIsPlacedWhereTheOldVersionIs(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	for i, holder := range peers {
		from, to := testCid(300+i), testCid(400+i)
		old := storage.Pin{Cid: from, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{holder.id}}
		if _, err := leader.node.Pin(ctx(t), old); err != nil {
			t.Fatal(err)
		}
		update, err := leader.node.Pin(ctx(t), storage.Pin{Cid: to, PinUpdate: from, ReplicationFactorMin: 1, ReplicationFactorMax: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(update.Allocations, []string{holder.id}) {
			t.Fatalf("the update of a pin held by %s was placed on %v", holder.id, update.Allocations)
		}
	}
}
