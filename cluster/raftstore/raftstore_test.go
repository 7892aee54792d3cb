package raftstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// oldLog is what an older build's raft.db held: entries first..last (its
// head compacted away) and the stable store.
type oldLog struct {
	first, last uint64
	term        uint64
	voteCand    []byte // nil: the peer never voted
	pad         int    // bytes added to each entry's command
}

func (o oldLog) entry(i uint64) *raft.Log {
	return &raft.Log{
		Index: i, Term: o.term - 1 + i%2, Type: raft.LogCommand,
		Data:       append([]byte(fmt.Sprintf("command %d", i)), make([]byte, o.pad)...),
		Extensions: []byte{byte(i)},
		AppendedAt: time.Unix(1700000000+int64(i), 0).UTC(),
	}
}

// write makes raft/raft.db under dir, as an older build left it.
func (o oldLog) write(t *testing.T, dir string) {
	t.Helper()
	s, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, BoltFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := o.first; i <= o.last && o.last > 0; i++ {
		if err := s.StoreLog(o.entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range stableUint64Keys {
		if err := s.SetUint64(k, o.term); err != nil {
			t.Fatal(err)
		}
	}
	if o.voteCand != nil {
		if err := s.Set([]byte("LastVoteCand"), o.voteCand); err != nil {
			t.Fatal(err)
		}
	}
}

// holds fails unless s holds exactly o's entries and stable store.
func (o oldLog) holds(t *testing.T, s Store) {
	t.Helper()
	first, err1 := s.FirstIndex()
	last, err2 := s.LastIndex()
	if err := errors.Join(err1, err2); err != nil || first != o.first || last != o.last {
		t.Fatalf("the log holds entries %d to %d (%v), want %d to %d", first, last, err, o.first, o.last)
	}
	for i := o.first; i <= o.last && o.last > 0; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if want := o.entry(i); !reflect.DeepEqual(&got, want) {
			t.Fatalf("entry %d is %+v, want %+v", i, got, *want)
		}
	}
	for _, k := range stableUint64Keys {
		if v, err := s.GetUint64(k); err != nil || v != o.term {
			t.Fatalf("%s is %d (%v), want %d", k, v, err, o.term)
		}
	}
	cand, err := s.Get([]byte("LastVoteCand"))
	if err != nil || string(cand) != string(o.voteCand) {
		t.Fatalf("LastVoteCand is %q (%v), want %q", cand, err, o.voteCand)
	}
}

func open(t *testing.T, dir string) Store {
	t.Helper()
	s, err := Open(dir, hclog.NewNullLogger(), zerolog.New(testkit.LogWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustExist(t *testing.T, path string, want bool) {
	t.Helper()
	if ok, err := exists(path); err != nil || ok != want {
		t.Fatalf("%s exists: %v (%v), want %v", filepath.Base(path), ok, err, want)
	}
}

func TestAnOlderBuildsLogMovesIntoTheWALWhole(t *testing.T) {
	for name, o := range map[string]oldLog{
		"compacted head":  {first: 40, last: 300, term: 7, voteCand: []byte("127.0.0.1:9096")},
		"never voted":     {first: 1, last: 3, term: 2},
		"no entries left": {term: 5, voteCand: []byte("b")},
		"one entry":       {first: 1, last: 1, term: 1, voteCand: []byte("a")},
		"several appends": {first: 1, last: 12, term: 3, voteCand: []byte("a"), pad: copyBatchBytes / 4},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			o.write(t, dir)
			s := open(t, dir)
			o.holds(t, s)
			mustExist(t, filepath.Join(dir, BoltFile), false)
			mustExist(t, filepath.Join(dir, MovedBoltFile), true)
			mustExist(t, filepath.Join(dir, migratingDir), false)

			// The WAL takes the next append where raft.db ended.
			next := &raft.Log{Index: o.last + 1, Term: o.term, Type: raft.LogNoop}
			if err := s.StoreLog(next); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The next start opens the WAL as it is, with the entry.
			s = open(t, dir)
			defer s.Close()
			if last, err := s.LastIndex(); err != nil || last != o.last+1 {
				t.Fatalf("after a restart the log ends at %d (%v), want %d", last, err, o.last+1)
			}
		})
	}
}

// A crash while the WAL was being filled leaves a partial copy in its own
// folder and raft.db untouched: the next start copies again.
func TestAMoveCutShortStartsAgainFromRaftDB(t *testing.T) {
	dir := t.TempDir()
	o := oldLog{first: 1, last: 50, term: 4, voteCand: []byte("a")}
	o.write(t, dir)
	partial, err := openWAL(filepath.Join(dir, migratingDir), hclog.NewNullLogger(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := partial.StoreLogs([]*raft.Log{o.entry(1), o.entry(2)}); err != nil {
		t.Fatal(err)
	}
	if err := partial.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer s.Close()
	o.holds(t, s)
	mustExist(t, filepath.Join(dir, migratingDir), false)
}

// A crash after the whole WAL took its name but before raft.db was set
// aside: the WAL, which may have taken appends since, is the log.
func TestAWholeWALBesideRaftDBWins(t *testing.T) {
	dir := t.TempDir()
	o := oldLog{first: 1, last: 10, term: 4, voteCand: []byte("a")}
	o.write(t, dir)
	s := open(t, dir)
	if err := s.StoreLog(&raft.Log{Index: 11, Term: 4, Type: raft.LogNoop}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, MovedBoltFile), filepath.Join(dir, BoltFile)); err != nil {
		t.Fatal(err)
	}
	for _, opener := range []struct {
		name string
		open func() (Store, error)
	}{
		{"offline", func() (Store, error) { return OpenStopped(dir, time.Second) }},
		{"daemon", func() (Store, error) { return Open(dir, hclog.NewNullLogger(), zerolog.Nop()) }},
	} {
		s, err := opener.open()
		if err != nil {
			t.Fatal(err)
		}
		last, err := s.LastIndex()
		if err := errors.Join(err, s.Close()); err != nil || last != 11 {
			t.Fatalf("%s: the log ends at %d (%v), want the WAL's 11", opener.name, last, err)
		}
	}
	mustExist(t, filepath.Join(dir, BoltFile), false)
	mustExist(t, filepath.Join(dir, MovedBoltFile), true)
}

// An earlier build started on a moved folder makes an empty raft.db (and
// refuses to start). The next start of this build sets it aside without
// replacing the raft.db.migrated of the move.
func TestAnEmptyRaftDBFromAnEarlierBuildLeavesTheMovedOneAlone(t *testing.T) {
	dir := t.TempDir()
	o := oldLog{first: 1, last: 10, term: 4, voteCand: []byte("a")}
	o.write(t, dir)
	if err := open(t, dir).Close(); err != nil {
		t.Fatal(err)
	}
	oldLog{}.write(t, dir)
	s := open(t, dir)
	o.holds(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustExist(t, filepath.Join(dir, BoltFile), false)
	if aside, _ := filepath.Glob(filepath.Join(dir, MovedBoltFile+".*")); len(aside) != 1 {
		t.Fatalf("the empty raft.db was set aside as %v, want one file beside %s", aside, MovedBoltFile)
	}
	moved, err := openBolt(filepath.Join(dir, MovedBoltFile), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	o.holds(t, moved)
}

func TestAStoppedPeersLogOpensInEitherFormatAndNotWhileHeld(t *testing.T) {
	o := oldLog{first: 1, last: 20, term: 3, voteCand: []byte("a")}

	none := t.TempDir()
	if s, err := OpenStopped(none, time.Second); s != nil || err != nil {
		t.Fatalf("a folder without a log: %v %v", s, err)
	}
	if ok, err := Exists(none); ok || err != nil {
		t.Fatalf("Exists of a folder without a log: %v %v", ok, err)
	}

	old := t.TempDir()
	o.write(t, old)
	s, err := OpenStopped(old, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o.holds(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reading an older build's log leaves it as it was: no move.
	mustExist(t, filepath.Join(old, WALDir), false)
	mustExist(t, filepath.Join(old, BoltFile), true)
	if ok, err := Exists(old); !ok || err != nil {
		t.Fatalf("Exists of an older build's log: %v %v", ok, err)
	}

	moved := t.TempDir()
	o.write(t, moved)
	daemon := open(t, moved)
	if ok, err := Exists(moved); !ok || err != nil {
		t.Fatalf("Exists of a WAL: %v %v", ok, err)
	}
	if s, err := OpenStopped(moved, 100*time.Millisecond); !errors.Is(err, storage.ErrInUse) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("a WAL a daemon holds opened with %v", err)
	}
	if err := daemon.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStopped(moved, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o.holds(t, s)
}
