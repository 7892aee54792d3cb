package fakekubo

import (
	"context"
	"testing"

	"github.com/ipfs/boxo/path"
)

func TestFailAllUntilClearFail(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	c := testCid(t, "c")
	fk.AddBlock(c)
	fk.FailAll("pin/add", "injected failure")
	for i := range 3 {
		err := api.Pin().Add(context.Background(), path.FromCid(c))
		if err == nil || err.Error() != "injected failure" {
			t.Fatalf("call %d: err = %v, want the injected failure", i, err)
		}
	}
	fk.ClearFail("/api/v0/pin/add")
	if err := api.Pin().Add(context.Background(), path.FromCid(c)); err != nil {
		t.Fatalf("after ClearFail: %v", err)
	}
	if !fk.IsPinned(c) {
		t.Fatal("not pinned after ClearFail")
	}
}
