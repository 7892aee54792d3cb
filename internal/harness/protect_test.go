package harness

import (
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// An upload received by a peer that the cluster does not allocate it to
// survives the cluster's GC until the allocated peer holds it; then the
// receiving peer lets it go.
func TestUploadSurvivesGCUntilAnAllocatedPeerHoldsIt(t *testing.T) {
	c := New(t, 2, Options{Min: 1, Max: 1, RepinDelay: time.Minute})
	recv, holder := c.Peers[0], c.Peers[1]
	ctx := timeout(t, 60*time.Second)

	// What the proxy does with an upload: Kubo stores it unpinned, the
	// roots are protected, then the cluster pin is committed.
	data := []byte("an upload received by the peer that will not hold it")
	root := recv.Kubo.AddData(data)
	recv.Node.Protect(ctx, []cid.Cid{root})
	p, err := recv.Node.Pin(ctx, storage.Pin{Cid: root, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{holder.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Allocations, []string{holder.ID}) {
		t.Fatalf("allocated to %v, want the other peer %s", p.Allocations, holder.ID)
	}
	// The allocated peer is still fetching: the network has no other copy.
	c.WaitFor("the allocated peer to start fetching", func() bool { return holder.Kubo.Fetching(root) > 0 })

	res := recv.Node.RepoGC(ctx)
	if e := res[recv.ID].Error; e != "" {
		t.Fatalf("GC on the receiving peer: %s", e)
	}
	if !recv.Kubo.HasBlock(root) {
		t.Fatal("the cluster's GC collected the only copy of an acknowledged upload")
	}
	if !recv.Kubo.IsPinned(root) {
		t.Fatal("the upload is not protected on the receiving peer")
	}

	// Bitswap's stand-in: the allocated peer gets the content and pins it.
	holder.Kubo.AddData(data)
	c.WaitFor("the allocated peer to pin the upload", func() bool { return holder.Kubo.IsPinned(root) })
	c.WaitFor("the receiving peer to release its protection", func() bool { return !recv.Kubo.IsPinned(root) })
	c.WaitFor("the receiving peer to see the pin as another peer's", func() bool {
		return recv.Node.LocalStatus(root).Status == types.StatusRemote
	})
	recv.Node.RepoGC(ctx)
	if recv.Kubo.HasBlock(root) || !holder.Kubo.HasBlock(root) {
		t.Fatalf("after the release, the receiving peer holds the block: %v, the allocated peer: %v", recv.Kubo.HasBlock(root), holder.Kubo.HasBlock(root))
	}
}
