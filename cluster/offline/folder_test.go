package offline_test

// These tests write a stopped peer's data folder file by file, as the daemon
// leaves it, so that each case (a log past the applied index, a snapshot newer
// than state.db, a gap, a lock) is built exactly rather than provoked through
// a running Node.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/cluster/offline/offlinetest"
	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func pin(i int) storage.Op {
	return storage.Op{Kind: storage.OpPin, Pin: storage.Pin{
		Cid: offlinetest.CID(i), Name: fmt.Sprint(i), ReplicationFactorMin: -1, ReplicationFactorMax: -1,
	}}
}

func unpin(i int) storage.Op {
	return storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: offlinetest.CID(i)}}
}

// pinsOf is the pinset that pin(i) for each i makes.
func pinsOf(is ...int) []storage.Pin {
	var out []storage.Pin
	for _, i := range is {
		out = append(out, pin(i).Pin)
	}
	return out
}

func command(t *testing.T, index, term uint64, c storage.Command) *raft.Log {
	t.Helper()
	b, err := storage.EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: term, Type: raft.LogCommand, Data: b}
}

func pinBatch(t *testing.T, index, term uint64, ops ...storage.Op) *raft.Log {
	return command(t, index, term, storage.Command{Type: storage.CmdPinBatch, Ops: ops})
}

func voters(ids ...string) raft.Configuration {
	var c raft.Configuration
	for _, id := range ids {
		c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":9096")})
	}
	return c
}

func configuration(index, term uint64, conf raft.Configuration) *raft.Log {
	return &raft.Log{Index: index, Term: term, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(conf)}
}

// noop is the entry each new leader appends.
func noop(index, term uint64) *raft.Log {
	return &raft.Log{Index: index, Term: term, Type: raft.LogNoop}
}

// peerFolder is a data folder written without a Node.
type peerFolder struct {
	t   *testing.T
	dir string
	// bolt writes the log as an older build did, in raft.db.
	bolt bool
}

func newPeerFolder(t *testing.T) *peerFolder {
	return &peerFolder{t: t, dir: filepath.Join(t.TempDir(), "data")}
}

func (f *peerFolder) raftDir() string   { return filepath.Join(f.dir, "raft") }
func (f *peerFolder) statePath() string { return filepath.Join(f.dir, "state.db") }

// log stores entries in the Raft log.
func (f *peerFolder) log(entries ...*raft.Log) {
	f.t.Helper()
	if err := os.MkdirAll(f.raftDir(), 0o700); err != nil {
		f.t.Fatal(err)
	}
	store := f.openLog(f.t)
	defer store.Close()
	if err := store.StoreLogs(entries); err != nil {
		f.t.Fatal(err)
	}
}

// openLog opens the folder's log for writing, as the daemon does.
func (f *peerFolder) openLog(t *testing.T) raftstore.Store {
	t.Helper()
	var store raftstore.Store
	var err error
	if f.bolt {
		store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(f.raftDir(), raftstore.BoltFile)})
	} else {
		store, err = raftstore.Open(f.raftDir(), hclog.NewNullLogger(), zerolog.Nop())
	}
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// apply applies the commands among entries to the state at path, as the FSM
// does: a command it refuses changes nothing.
func (f *peerFolder) apply(path string, entries ...*raft.Log) *storage.State {
	f.t.Helper()
	st, err := storage.OpenState(path)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, l := range entries {
		if l.Type != raft.LogCommand {
			continue
		}
		cmd, err := storage.DecodeCommand(l.Data)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := st.Apply(l.Index, cmd); err != nil && !errors.Is(err, storage.ErrInvalidCommand) {
			f.t.Fatal(err)
		}
	}
	return st
}

// state writes state.db as the daemon leaves it after applying entries.
func (f *peerFolder) state(entries ...*raft.Log) {
	f.t.Helper()
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := f.apply(f.statePath(), entries...).Close(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *peerFolder) snapshots() *raft.FileSnapshotStore {
	f.t.Helper()
	snaps, err := raft.NewFileSnapshotStore(f.raftDir(), 2, io.Discard)
	if err != nil {
		f.t.Fatal(err)
	}
	return snaps
}

// snapshot writes a Raft snapshot at the last of entries, holding the state
// after them, with the configuration conf made at confIndex.
func (f *peerFolder) snapshot(conf raft.Configuration, confIndex uint64, entries ...*raft.Log) {
	f.t.Helper()
	st := f.apply(filepath.Join(f.t.TempDir(), "state.db"), entries...)
	defer st.Close()
	last := entries[len(entries)-1]
	_, trans := raft.NewInmemTransport("")
	defer trans.Close()
	sink, err := f.snapshots().Create(raft.SnapshotVersionMax, last.Index, last.Term, conf, confIndex, trans)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.WriteSnapshot(sink); err != nil {
		f.t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *peerFolder) noTempLeft() {
	f.t.Helper()
	if left, _ := filepath.Glob(filepath.Join(f.dir, offline.TempPrefix+"*")); len(left) > 0 {
		f.t.Fatalf("temp files left behind: %v", left)
	}
}

func TestExportReplaysTheLogPastTheAppliedIndex(t *testing.T) {
	f := newPeerFolder(t)
	entries := []*raft.Log{
		configuration(1, 1, voters("a")),
		pinBatch(t, 2, 1, pin(1)),
		pinBatch(t, 3, 1, pin(2)),
		noop(4, 2),
		pinBatch(t, 5, 2, unpin(1), pin(3)),
	}
	f.log(entries...)
	f.state(entries[:2]...)
	before := offlinetest.StateSummary(t, f.statePath())

	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(2, 3))
	if n, err := offline.PinCount(f.dir); err != nil || n != 2 {
		t.Fatalf("count %d %v", n, err)
	}
	if after := offlinetest.StateSummary(t, f.statePath()); after != before {
		t.Fatalf("export moved state.db from %s to %s", before, after)
	}
	f.noTempLeft()
}

func TestExportStartsFromASnapshotNewerThanTheState(t *testing.T) {
	entries := []*raft.Log{
		configuration(1, 1, voters("a")),
		pinBatch(t, 2, 1, pin(1)),
		pinBatch(t, 3, 1, pin(2)),
		pinBatch(t, 4, 1, pin(3)),
		pinBatch(t, 5, 1, unpin(2)),
	}
	for name, state := range map[string][]*raft.Log{"older state": entries[:2], "no state": nil} {
		t.Run(name, func(t *testing.T) {
			f := newPeerFolder(t)
			f.snapshot(voters("a"), 1, entries[:3]...)
			// The log was compacted up to the snapshot: the state alone could
			// not be brought up to date.
			f.log(entries[3:]...)
			if state != nil {
				f.state(state...)
			}
			offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(1, 3))
			if _, err := os.Stat(f.statePath()); state == nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("export created state.db: %v", err)
			}
			f.noTempLeft()
		})
	}
}

func TestExportRefusesAGapInTheLog(t *testing.T) {
	f := newPeerFolder(t)
	entries := []*raft.Log{
		configuration(1, 1, voters("a")),
		pinBatch(t, 2, 1, pin(1)),
		pinBatch(t, 3, 1, pin(2)),
		pinBatch(t, 4, 1, pin(3)),
	}
	f.state(entries[:2]...)
	f.log(entries[3:]...)
	if _, err := offline.Export(f.dir, io.Discard); err == nil || !strings.Contains(err.Error(), "entries are missing") {
		t.Fatalf("err %v", err)
	}
	f.noTempLeft()
}

func TestExportSkipsRefusedCommandsAndStopsOnCorruptOnes(t *testing.T) {
	f := newPeerFolder(t)
	f.log(
		configuration(1, 1, voters("a")),
		pinBatch(t, 2, 1, pin(1)),
		// Every peer refuses this one, so it changes nothing anywhere.
		command(t, 3, 1, storage.Command{Type: storage.CmdPeerRemove}),
		pinBatch(t, 4, 1, pin(2)),
	)
	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(1, 2))

	f.log(&raft.Log{Index: 5, Term: 1, Type: raft.LogCommand, Data: []byte{0xff, 0xff}})
	if _, err := offline.Export(f.dir, io.Discard); err == nil || !strings.Contains(err.Error(), "raft log entry 5") {
		t.Fatalf("export of a corrupt log: %v", err)
	}
	f.noTempLeft()
}

func TestImportWritesOneSnapshotAtTheEndOfTheLog(t *testing.T) {
	f := newPeerFolder(t)
	peer := storage.Peer{ID: "a", Name: "peer a", ClusterAddr: "a:9096"}
	entries := []*raft.Log{
		configuration(1, 1, voters("a")),
		command(t, 2, 1, storage.Command{Type: storage.CmdPeerAdd, Peer: peer}),
		pinBatch(t, 3, 1, pin(1)),
		configuration(4, 2, voters("a", "b")),
		noop(5, 3),
	}
	f.snapshot(voters("a"), 1, entries[:3]...)
	f.log(entries...)
	f.state(entries...)

	// The marker of a crash of the machine before the import: the
	// imported file is whole on disk, and needs no rebuild.
	if err := os.WriteFile(f.statePath()+".unsynced-boot", []byte("a-boot-before-this-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	want := offlinetest.FullPins(2)
	if n, err := offline.Import(f.dir, "unused", "unused:9096", offlinetest.NDJSON(t, want)); err != nil || n != len(want) {
		t.Fatalf("import: %d %v", n, err)
	}
	metas, err := f.snapshots().List()
	if err != nil {
		t.Fatal(err)
	}
	// At the log's last index and term, with its latest configuration: the
	// next start replays nothing over the import.
	if len(metas) != 1 {
		t.Fatalf("%d snapshots, want the import's alone", len(metas))
	}
	m := metas[0]
	if m.Index != 5 || m.Term != 3 || m.ConfigurationIndex != 4 || !reflect.DeepEqual(m.Configuration, voters("a", "b")) {
		t.Fatalf("snapshot at index %d term %d, configuration %+v from %d", m.Index, m.Term, m.Configuration, m.ConfigurationIndex)
	}
	st, err := storage.OpenState(f.statePath())
	if err != nil {
		t.Fatal(err)
	}
	applied, err := st.AppliedIndex()
	if err == nil {
		var peers []storage.Peer
		if peers, err = st.Peers(); err == nil && (len(peers) != 1 || peers[0].ID != peer.ID) {
			t.Errorf("the import dropped the peer set: %+v", peers)
		}
	}
	if err = errors.Join(err, st.Close()); err != nil {
		t.Fatal(err)
	}
	if applied != 5 {
		t.Fatalf("state.db applied index %d, want 5", applied)
	}
	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), want)
	f.noTempLeft()
}

func TestImportIntoAFolderWithoutRaftState(t *testing.T) {
	f := newPeerFolder(t)
	if _, err := offline.Import(f.dir, "", "", offlinetest.NDJSON(t, pinsOf(1))); err == nil || !strings.Contains(err.Error(), "needs its ID") {
		t.Fatalf("import without an ID: %v", err)
	}
	if _, err := offline.Import(f.dir, "self", "self:9096", offlinetest.NDJSON(t, pinsOf(1))); err != nil {
		t.Fatal(err)
	}
	metas, err := f.snapshots().List()
	if err != nil {
		t.Fatal(err)
	}
	// What the peer's first start would have made: a cluster of its own.
	if len(metas) != 1 || metas[0].Index != 1 || metas[0].Term != 1 || !reflect.DeepEqual(metas[0].Configuration, voters("self")) {
		t.Fatalf("snapshots %+v", metas)
	}
	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(1))
}

func TestImportRefusesALogWithoutAConfiguration(t *testing.T) {
	for name, entries := range map[string][]*raft.Log{
		"undecodable": {{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte{0xff}}},
		"none":        {noop(1, 1)},
	} {
		t.Run(name, func(t *testing.T) {
			f := newPeerFolder(t)
			f.log(entries...)
			_, err := offline.Import(f.dir, "self", "self:9096", offlinetest.NDJSON(t, pinsOf(1)))
			if err == nil || !strings.Contains(err.Error(), "configuration") {
				t.Fatalf("err %v", err)
			}
			if _, err := os.Stat(f.statePath()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused import wrote state.db: %v", err)
			}
			f.noTempLeft()
		})
	}
}
