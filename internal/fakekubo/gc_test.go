package fakekubo

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ipfs/go-cid"
)

// repo/gc removes what no pin keeps, as Kubo's does: blocks under a
// recursive pin and a direct pin's root stay, the rest goes.
func TestRepoGCKeepsOnlyPinnedBlocks(t *testing.T) {
	fk := New(t)
	api := newAPI(t, fk)
	root, child, direct, loose, under := testCid(t, "root"), testCid(t, "child"), testCid(t, "direct"), testCid(t, "loose"), testCid(t, "under direct")
	fk.SetLinks(root, child)
	fk.SetLinks(direct, under)
	for _, c := range []cid.Cid{root, child, direct, loose, under} {
		fk.AddBlock(c)
	}
	fk.PinDirect(root, Recursive)
	fk.PinDirect(direct, Direct)

	res, err := api.Request("repo/gc").Option("stream-errors", true).Send(context.Background())
	if err != nil || res.Error != nil {
		t.Fatalf("repo/gc: %v %v", err, res.Error)
	}
	defer res.Close()
	dec := json.NewDecoder(res.Output)
	removed := 0
	for dec.More() {
		var obj struct{ Key map[string]string }
		if err := dec.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		if obj.Key["/"] == "" {
			t.Fatalf("a line without a key: %+v", obj)
		}
		removed++
	}
	if removed != 2 {
		t.Errorf("%d blocks removed, want 2 (loose, and the child of a direct pin)", removed)
	}
	for c, want := range map[string]bool{"root": true, "child": true, "direct": true, "loose": false, "under direct": false} {
		if got := fk.HasBlock(testCid(t, c)); got != want {
			t.Errorf("after GC, %s held: %v, want %v", c, got, want)
		}
	}
}
