package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

func TestApplyPinAndUnpin(t *testing.T) {
	s := openTestState(t)
	a, b := fullPin(1), smallPin(2)

	ch := mustApply(t, s, 1, pinCmd(a, b))
	if want := []Change{{Kind: OpPin, Pin: a}, {Kind: OpPin, Pin: b}}; !reflect.DeepEqual(ch, want) {
		t.Fatalf("changes %+v, want %+v", ch, want)
	}
	if got, err := s.Get(a.Cid); err != nil || !reflect.DeepEqual(got, a) {
		t.Fatalf("get: %+v, %v; want %+v", got, err, a)
	}
	assertCount(t, s, 2)

	// Unpinning an absent CID is a no-op and says nothing.
	ch = mustApply(t, s, 2, unpinCmd(testCid(99), a.Cid))
	if want := []Change{{Kind: OpUnpin, Pin: a}}; !reflect.DeepEqual(ch, want) {
		t.Fatalf("unpin changes %+v, want the full removed pin", ch)
	}
	if _, err := s.Get(a.Cid); !errors.Is(err, ErrNotFound) || err.Error() != "pin is not part of the pinset" {
		t.Fatalf("get after unpin: %v", err)
	}
	assertCount(t, s, 1)
	assertApplied(t, s, 2)

	// Replacing a pin reports the pin it replaced.
	renamed := b
	renamed.Name = "renamed"
	ch = mustApply(t, s, 3, pinCmd(renamed))
	if len(ch) != 1 || ch[0].Prev == nil || !reflect.DeepEqual(*ch[0].Prev, b) || !reflect.DeepEqual(ch[0].Pin, renamed) {
		t.Fatalf("replace changes %+v, want the previous pin in Prev", ch)
	}
}

func TestApplyOpsInOrder(t *testing.T) {
	s := openTestState(t)
	p := smallPin(1)
	updated := p
	updated.Name = "renamed"
	c := Command{Type: CmdPinBatch, Ops: []Op{
		{Kind: OpPin, Pin: p},
		{Kind: OpPin, Pin: updated}, // an upsert: the count must not move
		{Kind: OpUnpin, Pin: Pin{Cid: p.Cid}},
		{Kind: OpPin, Pin: smallPin(2)},
	}}
	ch := mustApply(t, s, 1, c)
	if len(ch) != 4 || ch[2].Kind != OpUnpin || ch[2].Pin.Name != "renamed" {
		t.Fatalf("changes %+v", ch)
	}
	if _, err := s.Get(p.Cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pin then unpin in one batch left %v", err)
	}
	assertCount(t, s, 1)
}

func TestApplySkipsReplayedIndexes(t *testing.T) {
	s := openTestState(t)
	mustApply(t, s, 5, pinCmd(smallPin(1)))
	// Raft replays entries the file already holds after a restart. Each is
	// answered ErrAlreadyApplied, so that a proposer is never told a skipped
	// entry applied.
	if ch, err := s.Apply(5, unpinCmd(testCid(1))); ch != nil || !errors.Is(err, ErrAlreadyApplied) {
		t.Errorf("replayed entry produced %+v, %v", ch, err)
	}
	if ch, err := s.Apply(3, pinCmd(smallPin(2))); ch != nil || !errors.Is(err, ErrAlreadyApplied) {
		t.Errorf("older entry produced %+v, %v", ch, err)
	}
	assertCount(t, s, 1)
	assertApplied(t, s, 5)
	// Index 0 is outside Raft: applied, and the applied index stays.
	mustApply(t, s, 0, pinCmd(smallPin(3)))
	assertCount(t, s, 2)
	assertApplied(t, s, 5)
}

func TestApplyRefusesInvalidCommandsWhole(t *testing.T) {
	s := openTestState(t)
	bad := map[string]Command{
		"no cid":          pinCmd(smallPin(1), Pin{Name: "x"}),
		"bad mode":        pinCmd(smallPin(1), Pin{Cid: testCid(2), Mode: 9}),
		"bad kind":        {Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: smallPin(1)}, {Kind: 9, Pin: smallPin(2)}}},
		"peer without id": {Type: CmdPeerAdd, Peer: Peer{Name: "x"}},
		"remove no id":    {Type: CmdPeerRemove},
		"unknown type":    {Type: 42},
	}
	var index uint64
	for name, c := range bad {
		index++
		ch, err := s.Apply(index, c)
		if !errors.Is(err, ErrInvalidCommand) || ch != nil {
			t.Errorf("%s: %v, %v; want ErrInvalidCommand", name, ch, err)
		}
		// Refused, but applied: a replay must not try again.
		assertApplied(t, s, index)
	}
	assertCount(t, s, 0) // the valid first op of a refused batch is not applied either
	if ps, _ := s.Peers(); len(ps) != 0 {
		t.Errorf("peers %v", ps)
	}
}

func TestPeers(t *testing.T) {
	s := openTestState(t)
	b := Peer{ID: "12D3KooWB", Name: "b", ClusterAddr: "h:9096", Tags: map[string]string{}}
	a := Peer{ID: "12D3KooWA", Name: "a", Tags: map[string]string{"dc": "1"}}
	mustApply(t, s, 1, Command{Type: CmdPeerAdd, Peer: b})
	mustApply(t, s, 2, Command{Type: CmdPeerAdd, Peer: a})
	a.Name = "a2"
	a.Tags = nil
	mustApply(t, s, 3, Command{Type: CmdPeerAdd, Peer: a}) // upsert

	got, err := s.Peers()
	if err != nil || !reflect.DeepEqual(got, []Peer{a, b}) {
		t.Fatalf("peers %+v, %v", got, err)
	}
	if p, err := s.Peer("12D3KooWB"); err != nil || !reflect.DeepEqual(p, b) {
		t.Fatalf("peer %+v, %v", p, err)
	}
	mustApply(t, s, 4, Command{Type: CmdPeerRemove, PeerID: "12D3KooWB"})
	mustApply(t, s, 5, Command{Type: CmdPeerRemove, PeerID: "absent"})
	if _, err := s.Peer("12D3KooWB"); !errors.Is(err, ErrPeerNotFound) {
		t.Fatalf("removed peer: %v", err)
	}
	if got, _ := s.Peers(); len(got) != 1 {
		t.Fatalf("peers after remove: %+v", got)
	}
}

func TestForEachKeyOrderAndStop(t *testing.T) {
	s := openTestState(t)
	var pins []Pin
	for i := range 50 {
		pins = append(pins, smallPin(i))
	}
	mustApply(t, s, 1, pinCmd(pins...))
	got := allPins(t, s)
	if len(got) != 50 {
		t.Fatalf("ForEach saw %d pins", len(got))
	}
	for i := 1; i < len(got); i++ {
		if bytes.Compare(got[i-1].Cid.Bytes(), got[i].Cid.Bytes()) >= 0 {
			t.Fatalf("not in key order at %d", i)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ForEach(func(Pin) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Fatalf("ForEach returned %v after %d calls", err, calls)
	}
}

func TestForEachFromPagesEveryPinOnce(t *testing.T) {
	s := openTestState(t)
	want := map[cid.Cid]bool{}
	var pins []Pin
	for i := range 1000 {
		p := smallPin(i)
		if i%3 == 0 {
			p.Cid = testCidV0(i) // mixes key prefixes
		}
		pins = append(pins, p)
		want[p.Cid] = true
	}
	mustApply(t, s, 1, pinCmd(pins...))

	for _, limit := range []int{1, 7, 1000, 5000} {
		seen := map[cid.Cid]int{}
		after, pages := cid.Undef, 0
		for {
			last, err := s.ForEachFrom(after, limit, func(p Pin) error {
				seen[p.Cid]++
				// fn runs outside the transaction: calling back is allowed.
				_, err := s.Get(p.Cid)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !last.Defined() {
				break
			}
			after = last
			pages++
		}
		if len(seen) != len(want) {
			t.Fatalf("limit %d: saw %d of %d pins", limit, len(seen), len(want))
		}
		for c, n := range seen {
			if n != 1 || !want[c] {
				t.Fatalf("limit %d: %s seen %d times", limit, c, n)
			}
		}
		if wantPages := (1000 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}

	stop := errors.New("stop")
	n := 0
	last, err := s.ForEachFrom(cid.Undef, 10, func(p Pin) error {
		if n++; n == 4 {
			return stop
		}
		return nil
	})
	first3 := allPins(t, s)[2].Cid
	if err != stop || last != first3 {
		t.Errorf("error mid-page: last %v err %v; want the 3rd pin and the error", last, err)
	}
	if _, err := s.ForEachFrom(cid.Undef, 0, func(Pin) error { return nil }); err == nil {
		t.Error("limit 0 accepted")
	}
}

func TestForEach100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k pins")
	}
	s := openTestState(t)
	const total, batch = 100_000, 2000
	pins := make([]Pin, batch)
	for i := 0; i < total; i += batch {
		for j := range pins {
			pins[j] = smallPin(i + j)
		}
		mustApply(t, s, uint64(i/batch+1), pinCmd(pins...))
	}
	assertCount(t, s, total)
	n := 0
	var prev []byte
	err := s.ForEach(func(p Pin) error {
		k := p.Cid.Bytes()
		if bytes.Compare(prev, k) >= 0 {
			t.Fatalf("out of order at %d", n)
		}
		if p.ReplicationFactorMin != -1 || p.Timestamp.IsZero() {
			t.Fatalf("pin %d decoded wrong: %+v", n, p)
		}
		prev = k
		n++
		return nil
	})
	if err != nil || n != total {
		t.Fatalf("ForEach: %d pins, %v", n, err)
	}
}

func TestReopenKeepsStateAndChecksFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, 7, pinCmd(fullPin(1)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(testCid(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("get after close: %v", err)
	}
	if _, err := s.Apply(8, pinCmd(smallPin(2))); !errors.Is(err, ErrClosed) {
		t.Errorf("apply after close: %v", err)
	}

	s, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := s.Get(testCid(1)); err != nil || !reflect.DeepEqual(p, fullPin(1)) {
		t.Errorf("after reopen: %+v, %v", p, err)
	}
	assertApplied(t, s, 7)
	s.Close()

	// A file from a future layout is refused rather than misread.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, u64(2)) })
	db.Close()
	if _, err := OpenState(path); err == nil {
		t.Error("format 2 opened")
	}
}

func assertCount(t *testing.T, s *State, want int) {
	t.Helper()
	if n, err := s.Count(); err != nil || n != want {
		t.Fatalf("count %d, %v; want %d", n, err, want)
	}
}

func assertApplied(t *testing.T, s *State, want uint64) {
	t.Helper()
	if n, err := s.AppliedIndex(); err != nil || n != want {
		t.Fatalf("applied index %d, %v; want %d", n, err, want)
	}
}

func TestExpiredReadsTheIndexAndFollowsChanges(t *testing.T) {
	s := openTestState(t)
	now := time.Unix(1_000_000, 0)
	soon, later, never := smallPin(1), smallPin(2), smallPin(3)
	soon.ExpireAt, later.ExpireAt = now.Add(-time.Minute), now.Add(time.Hour)
	mustApply(t, s, 1, pinCmd(soon, later, never))
	got, err := s.Expired(now, 10)
	if err != nil || len(got) != 1 || !got[0].Equals(soon.Cid) {
		t.Fatalf("expired = %v %v, want only the pin that expired", got, err)
	}
	// Moving an expiry moves its index entry; unpinning removes it.
	later.ExpireAt = now.Add(-time.Second)
	mustApply(t, s, 2, pinCmd(later))
	mustApply(t, s, 3, unpinCmd(soon.Cid))
	got, _ = s.Expired(now, 10)
	if len(got) != 1 || !got[0].Equals(later.Cid) {
		t.Fatalf("expired after changes = %v, want the moved pin alone", got)
	}
	if got, _ := s.Expired(now.Add(-time.Hour), 10); len(got) != 0 {
		t.Fatalf("nothing had expired an hour earlier, got %v", got)
	}
}
