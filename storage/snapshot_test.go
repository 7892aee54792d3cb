package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fillState gives s n pins and two peers, at applied index idx.
func fillState(t testing.TB, s *State, idx uint64, first, n int) {
	t.Helper()
	var pins []Pin
	for i := first; i < first+n; i++ {
		if i%2 == 0 {
			pins = append(pins, fullPin(i))
		} else {
			pins = append(pins, smallPin(i))
		}
	}
	mustApply(t, s, idx-2, Command{Type: CmdPeerAdd, Peer: Peer{ID: "p1", Tags: map[string]string{"n": "1"}}})
	mustApply(t, s, idx-1, Command{Type: CmdPeerAdd, Peer: Peer{ID: "p2"}})
	mustApply(t, s, idx, pinCmd(pins...))
}

func snapshotOf(t testing.TB, s *State) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func assertSameState(t *testing.T, got, want *State) {
	t.Helper()
	if g, w := allPins(t, got), allPins(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("pins differ: %d vs %d", len(g), len(w))
	}
	gp, _ := got.Peers()
	wp, _ := want.Peers()
	if !reflect.DeepEqual(gp, wp) {
		t.Errorf("peers %+v, want %+v", gp, wp)
	}
	gi, _ := got.AppliedIndex()
	wi, _ := want.AppliedIndex()
	gc, _ := got.Count()
	wc, _ := want.Count()
	if gi != wi || gc != wc {
		t.Errorf("applied %d count %d, want %d and %d", gi, gc, wi, wc)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := openTestState(t)
	fillState(t, src, 40, 0, 300)
	snap := snapshotOf(t, src)

	dst := openTestState(t)
	fillState(t, dst, 90, 1000, 10) // different content that Restore must discard
	mustApply(t, dst, 91, Command{Type: CmdPeerAdd, Peer: Peer{ID: "p3"}})
	if err := dst.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatal(err)
	}
	assertSameState(t, dst, src)
	assertApplied(t, dst, 40)

	// The restored file is a working state, and its counter kept up.
	mustApply(t, dst, 41, unpinCmd(testCid(0)))
	assertCount(t, dst, 299)
	if files, _ := filepath.Glob(filepath.Join(filepath.Dir(dst.path), "*"+restoreSuffix+"*")); len(files) != 0 {
		t.Errorf("temp files left: %v", files)
	}
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	s := openTestState(t)
	fillState(t, s, 10, 0, 20)

	// A bbolt file, but not a state file.
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	db.Close()
	notState, _ := os.ReadFile(other)

	snap := snapshotOf(t, s)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"garbage":   bytes.Repeat([]byte("flotilla"), 4096),
		"not state": notState,
		"truncated": snap[:len(snap)/2],
		"short":     snap[:4096],
	} {
		if err := s.Restore(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: restored", name)
		}
		assertCount(t, s, 20)
		assertApplied(t, s, 10)
	}
	if files, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), "*"+restoreSuffix+"*")); len(files) != 0 {
		t.Errorf("temp files left: %v", files)
	}
	// Still writable after the refusals.
	mustApply(t, s, 11, pinCmd(smallPin(100)))
	assertCount(t, s, 21)
}

func TestOpenRemovesStaleRestoreFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	stale := path + restoreSuffix + "123"
	if err := os.WriteFile(stale, []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale restore file kept: %v", err)
	}
}

// TestRestoreWhileReading swaps the file under readers. Every read must see
// one whole state, never a mix and never an error. Run it with -race.
func TestRestoreWhileReading(t *testing.T) {
	a, b := openTestState(t), openTestState(t)
	fillState(t, a, 10, 0, 200)
	fillState(t, b, 20, 1000, 50)
	snaps := [][]byte{snapshotOf(t, a), snapshotOf(t, b)}

	s := openTestState(t)
	if err := s.Restore(bytes.NewReader(snaps[0])); err != nil {
		t.Fatal(err)
	}
	// Each snapshot's pin count and applied index.
	valid := map[int]uint64{200: 10, 50: 20}

	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 4)
	read := func() error {
		n := 0
		if err := s.ForEach(func(Pin) error { n++; return nil }); err != nil {
			return err
		}
		if _, ok := valid[n]; !ok {
			return fmt.Errorf("ForEach saw %d pins: a mix of snapshots", n)
		}
		c, err := s.Count()
		if err != nil {
			return err
		}
		idx, err := s.AppliedIndex()
		if err != nil {
			return err
		}
		if _, ok := valid[c]; !ok || (idx != 10 && idx != 20) {
			return fmt.Errorf("count %d, applied index %d", c, idx)
		}
		if _, err := s.Get(testCid(0)); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if err := read(); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range 20 {
		if err := s.Restore(bytes.NewReader(snaps[(i+1)%2])); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Error("readers never ran")
	}
	assertSameState(t, s, a) // 20 restores end on snaps[0]
}

func TestWriteSnapshotIsAStateFile(t *testing.T) {
	s := openTestState(t)
	fillState(t, s, 5, 0, 3)
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, snapshotOf(t, s), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	assertSameState(t, c, s)
	if err := s.WriteSnapshot(failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error lost: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
