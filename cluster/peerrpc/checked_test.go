package peerrpc

import (
	"context"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/types"
)

// A status of one CID asks the peer to check its pinned statuses against
// its IPFS node; a listing's batches do not.
func TestACheckedStatusCallHasThePeerAskItsIPFSNode(t *testing.T) {
	client, addr := serve(t, &fakeLocal{})
	c := []cid.Cid{testCid(1)}
	sts, err := client.CheckedStatuses(context.Background(), addr, 0, c)
	if err != nil || len(sts) != 1 || sts[0].Status != types.StatusUnexpectedlyUnpinned {
		t.Fatalf("checked statuses = %v, %v, want the peer's checked answer", sts, err)
	}
	sts, err = client.Statuses(context.Background(), addr, 0, c)
	if err != nil || len(sts) != 1 || sts[0].Status != "pinned" {
		t.Fatalf("statuses = %v, %v, want the recorded status, unchecked", sts, err)
	}
}
