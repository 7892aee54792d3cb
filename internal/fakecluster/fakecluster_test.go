package fakecluster

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func listed(t *testing.T, f *Cluster) ([]cid.Cid, error) {
	t.Helper()
	var out []cid.Cid
	err := f.List(context.Background(), func(p storage.Pin) error { out = append(out, p.Cid); return nil })
	return out, err
}

func TestListOrderAndInjectedFailure(t *testing.T) {
	f := New()
	var added []cid.Cid
	for i := range 5 {
		added = append(added, Cid(i))
		f.Put(storage.Pin{Cid: Cid(i)})
	}
	got, _ := listed(t, f)
	if !slices.IsSortedFunc(got, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) }) || len(got) != 5 {
		t.Fatalf("not in CID byte order: %v", got)
	}
	f.ListInInsertionOrder()
	if got, _ := listed(t, f); !slices.Equal(got, added) {
		t.Fatalf("not in insertion order: %v", got)
	}
	boom := errors.New("boom")
	for _, after := range []int{0, 2, 5} {
		f.FailList(boom, after)
		if got, err := listed(t, f); len(got) != after || err != boom {
			t.Errorf("failing after %d: listed %d, err %v", after, len(got), err)
		}
	}
}

func TestCallsCommitsAndDerivedStatuses(t *testing.T) {
	f := New()
	f.SetPeers(types.ID{ID: "a"}, types.ID{ID: "b"})
	ctx := context.Background()
	pinned := storage.Pin{Cid: Cid(1), Mode: storage.Recursive, Allocations: []string{"a"}}
	if _, err := f.Pin(ctx, pinned); err != nil {
		t.Fatal(err)
	}
	f.FailPin(types.ErrNoLeader)
	if _, err := f.Pin(ctx, storage.Pin{Cid: Cid(2), Mode: storage.Recursive}); err != types.ErrNoLeader {
		t.Fatalf("injected failure: %v", err)
	}
	if _, err := f.Unpin(ctx, Cid(3)); err != storage.ErrNotFound {
		t.Fatalf("unpin of an absent pin: %v", err)
	}
	wantCalls := []string{"pin " + Cid(1).String() + " recursive", "pin " + Cid(2).String() + " recursive", "unpin " + Cid(3).String()}
	if got := f.Calls(); !slices.Equal(got, wantCalls) {
		t.Errorf("calls %v, want %v", got, wantCalls)
	}
	if got := f.Commits(); !slices.Equal(got, []string{"pin " + Cid(1).String()}) {
		t.Errorf("commits %v", got)
	}
	f.SetStatus(Cid(1), "b", "pin_error")
	pm := f.PeerMaps(ctx, []cid.Cid{Cid(1), Cid(2)})
	if pm[0]["a"].Status != "pinned" || pm[0]["b"].Status != "pin_error" || pm[1]["a"].Status != "unpinned" {
		t.Errorf("peer maps %v", pm)
	}
	if p, _ := f.Stored(Cid(1)); !p.Timestamp.After(New().Now()) {
		t.Errorf("commit not stamped by the clock: %v", p.Timestamp)
	}
}
