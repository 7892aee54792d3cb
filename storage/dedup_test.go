package storage

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func batch(ops ...Op) Command { return Command{Type: CmdPinBatch, Ops: ops} }

func TestARetriedPinDoesNotUndoALaterUnpin(t *testing.T) {
	s := openTestState(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	mine := smallPin(1)
	mine.Timestamp = at
	pin := Op{Kind: OpPin, Pin: mine}
	mustApply(t, s, 1, batch(pin))
	// Another client unpins; then the first client's retry of the same op
	// lands (its first attempt's answer was lost).
	mustApply(t, s, 2, batch(Op{Kind: OpUnpin, Pin: Pin{Cid: mine.Cid, Timestamp: at.Add(time.Second)}}))
	if ch := mustApply(t, s, 3, batch(pin)); len(ch) != 0 {
		t.Fatalf("the retried pin changed %+v", ch)
	}
	if _, err := s.Get(mine.Cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the retried pin undid the acknowledged unpin: %v", err)
	}
	// A new pin of the same CID (a new timestamp) applies.
	again := mine
	again.Timestamp = at.Add(2 * time.Second)
	mustApply(t, s, 4, batch(Op{Kind: OpPin, Pin: again}))
	if _, err := s.Get(mine.Cid); err != nil {
		t.Fatal(err)
	}
}

func TestARetriedUnpinDoesNotUndoALaterPin(t *testing.T) {
	s := openTestState(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	p := smallPin(2)
	p.Timestamp = at
	mustApply(t, s, 1, batch(Op{Kind: OpPin, Pin: p}))
	unpin := Op{Kind: OpUnpin, Pin: Pin{Cid: p.Cid, Timestamp: at.Add(time.Second)}}
	mustApply(t, s, 2, batch(unpin))
	repin := p
	repin.Timestamp = at.Add(2 * time.Second)
	mustApply(t, s, 3, batch(Op{Kind: OpPin, Pin: repin}))
	if ch := mustApply(t, s, 4, batch(unpin)); len(ch) != 0 {
		t.Fatalf("the retried unpin changed %+v", ch)
	}
	if got, err := s.Get(p.Cid); err != nil || !got.Timestamp.Equal(repin.Timestamp) {
		t.Fatalf("the retried unpin undid the acknowledged pin: %+v, %v", got, err)
	}
}

func TestTwoDifferentWritesWithOneTimestampBothApply(t *testing.T) {
	s := openTestState(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	a, b := smallPin(3), smallPin(3)
	a.Timestamp, b.Timestamp = at, at
	a.Name, b.Name = "first", "second"
	mustApply(t, s, 1, batch(Op{Kind: OpPin, Pin: a}))
	mustApply(t, s, 2, batch(Op{Kind: OpPin, Pin: b}))
	if got, _ := s.Get(a.Cid); got.Name != "second" {
		t.Fatalf("the second write was taken for a retry of the first: %q", got.Name)
	}
}

func TestRememberedOpsArePrunedAfterTheWindow(t *testing.T) {
	s := openTestState(t)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		p := smallPin(10 + i)
		p.Timestamp = at
		mustApply(t, s, uint64(1+i), batch(Op{Kind: OpPin, Pin: p}))
	}
	// Outside Raft nothing is remembered.
	offline := smallPin(30)
	offline.Timestamp = at
	mustApply(t, s, 0, batch(Op{Kind: OpPin, Pin: offline}))
	if n := recentCount(t, s); n != 10 {
		t.Fatalf("%d ops remembered, want 10", n)
	}
	later := smallPin(40)
	later.Timestamp = at.Add(dedupWindow + time.Minute)
	mustApply(t, s, 20, batch(Op{Kind: OpPin, Pin: later}))
	if n := recentCount(t, s); n != 1 {
		t.Fatalf("%d ops remembered after the window, want only the newest", n)
	}
}

func recentCount(t *testing.T, s *State) int {
	t.Helper()
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRecentOps).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
