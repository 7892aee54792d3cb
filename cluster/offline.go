package cluster

// Offline access to a stopped peer's data folder, for `flotilla state
// export` and `flotilla state import`.
//
// The pinset of a peer is spread over three places: state.db (kept in step
// with every applied entry), the Raft snapshots and the Raft log. state.db is
// normally the newest of them, but a crash can leave committed entries in the
// log that it never applied, and a snapshot installed from the leader can be
// newer than it. Export therefore starts from whichever of state.db and the
// latest snapshot is newer and replays the log entries after it, as the
// daemon would on its next start. The log is not replayed into state.db
// itself: an entry past the applied index may be an uncommitted tail that the
// next leader replaces, and state.db must never run ahead of Raft.
//
// Import must survive the next start, which restores the latest snapshot and
// replays the log over it. It writes the new pinset as a snapshot at the last
// index of the log, so that no older entry is replayed over it, and as
// state.db.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
)

const (
	// offlineLockTimeout is how long to wait for a lock the daemon would
	// hold for its whole life: waiting longer would not help.
	offlineLockTimeout = time.Second
	// importBatchPins bounds the pins held in memory (and written in one
	// transaction) while importing.
	importBatchPins = 4096
	// offlineTempPrefix names the temp folders inside the data folder. They
	// live there, not in /tmp, because they hold a copy of the pinset, which
	// needs the data folder's disk rather than a tmpfs.
	offlineTempPrefix = ".offline-"
)

// ErrPeerRunning is returned when the files are locked by a running daemon.
var ErrPeerRunning = errors.New("the data folder is in use: is the daemon running? stop it first")

// ExportState streams every pin of the peer's state as ndjson. dataDir is <home>/data.
func ExportState(dataDir string, w io.Writer) (int, error) {
	st, done, err := openCommitted(dataDir)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	n := 0
	err = st.ForEach(func(p storage.Pin) error {
		n++
		return enc.Encode(p)
	})
	if err == nil {
		err = bw.Flush()
	}
	return n, errors.Join(err, done())
}

// StatePinCount is the number of pins ExportState would write (0 for a
// peer that never ran), so that an import can refuse to replace a pinset
// without being told to.
func StatePinCount(dataDir string) (int, error) {
	st, done, err := openCommitted(dataDir)
	if errors.Is(err, errNoOfflineState) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := st.Count()
	return n, errors.Join(err, done())
}

// ImportState replaces the pinset with the pins read from r (ndjson of storage.Pin), for a stopped peer.
// The peer set is kept. selfID and selfAddr make a one-voter configuration
// when the peer has no Raft state yet. Every peer of a cluster must import
// the same file: Raft does not send a follower what its own log already
// covers.
func ImportState(dataDir, selfID, selfAddr string, r io.Reader) (int, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return 0, err
	}
	rs, err := openOfflineRaft(dataDir)
	if err != nil {
		return 0, err
	}
	defer rs.close()

	var peers []storage.Peer
	cur, done, err := openCommittedWith(dataDir, rs)
	switch {
	case errors.Is(err, errNoOfflineState):
	case err != nil:
		return 0, err
	default:
		peers, err = cur.Peers()
		if err = errors.Join(err, done()); err != nil {
			return 0, err
		}
	}

	index, term, conf, confIndex, err := rs.next(selfID, selfAddr)
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(dataDir, offlineTempPrefix)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	fresh, err := storage.OpenState(filepath.Join(tmp, "state.db"))
	if err != nil {
		return 0, err
	}
	n, err := fillState(fresh, r, peers, index)
	if err == nil {
		err = writeSnapshot(dataDir, fresh, index, term, conf, confIndex)
	}
	if cerr := fresh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	// From here the snapshot already holds the import: a crash before the
	// rename is repaired by the next start, which restores it.
	if err := os.Rename(filepath.Join(tmp, "state.db"), filepath.Join(dataDir, "state.db")); err != nil {
		return 0, err
	}
	return n, syncOfflineDir(dataDir)
}

// fillState writes the pins of r into st in batches, then the peers, and
// records index as applied, all outside Raft (index 0) but the last.
func fillState(st *storage.State, r io.Reader, peers []storage.Peer, index uint64) (int, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	ops := make([]storage.Op, 0, importBatchPins)
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := st.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops})
		// A fresh slice: Apply's caller must not reuse what it handed over.
		ops = make([]storage.Op, 0, importBatchPins)
		return err
	}
	for line := 1; ; line++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, fmt.Errorf("pin %d: %w", line, err)
		}
		p, err := importedPin(raw)
		if err != nil {
			return 0, fmt.Errorf("pin %d: %w", line, err)
		}
		ops = append(ops, storage.Op{Kind: storage.OpPin, Pin: p})
		if len(ops) == importBatchPins {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	for _, p := range peers {
		if _, err := st.Apply(0, storage.Command{Type: storage.CmdPeerAdd, Peer: p}); err != nil {
			return 0, err
		}
	}
	// An empty batch at the snapshot's index records that index, so that a
	// replay after a restart skips every entry the import supersedes.
	if _, err := st.Apply(index, storage.Command{Type: storage.CmdPinBatch}); err != nil {
		return 0, err
	}
	return st.Count()
}

// importedPin decodes and checks one line. Storage's decoder checks the CID
// and the mode; what Flotilla cannot honour is refused here, so that an
// import is whole or nothing rather than quietly partial.
func importedPin(raw []byte) (storage.Pin, error) {
	var p storage.Pin
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, err
	}
	var kind struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return p, err
	}
	if kind.Type != "" && kind.Type != "pin" {
		return p, fmt.Errorf("%s: pins of type %q (sharding) are not supported", p.Cid, kind.Type)
	}
	if err := alloc.CheckFactors(p.ReplicationFactorMin, p.ReplicationFactorMax); err != nil {
		return p, fmt.Errorf("%s: %w", p.Cid, err)
	}
	return p, nil
}

// writeSnapshot persists st as the only Raft snapshot. Older ones go:
// should the new one fail to load, Raft would fall back to them and
// silently undo the import, where without them it refuses to start.
func writeSnapshot(dataDir string, st *storage.State, index, term uint64, conf raft.Configuration, confIndex uint64) error {
	raftDir := filepath.Join(dataDir, "raft")
	snaps, err := raft.NewFileSnapshotStore(raftDir, 2, io.Discard)
	if err != nil {
		return err
	}
	// The transport only encodes peers for the pre-v1 snapshot format.
	_, trans := raft.NewInmemTransport("")
	defer trans.Close()
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, term, conf, confIndex, trans)
	if err != nil {
		return err
	}
	if err := st.WriteSnapshot(sink); err != nil {
		return errors.Join(err, sink.Cancel())
	}
	if err := sink.Close(); err != nil {
		return err
	}
	dir := filepath.Join(raftDir, "snapshots")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != sink.ID() {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncOfflineDir(dir)
}

var errNoOfflineState = errors.New("no peer state")

// openCommitted opens the peer's state as the daemon would see it after
// replaying its log. done closes it and removes any temp copy.
func openCommitted(dataDir string) (*storage.State, func() error, error) {
	rs, err := openOfflineRaft(dataDir)
	if err != nil {
		return nil, nil, err
	}
	st, done, err := openCommittedWith(dataDir, rs)
	if errors.Is(err, errNoOfflineState) {
		err = fmt.Errorf("%s holds %w: is it the data folder of a peer that has run?", dataDir, err)
	}
	if err != nil {
		rs.close()
		return nil, nil, err
	}
	return st, func() error { return errors.Join(done(), rs.close()) }, nil
}

func openCommittedWith(dataDir string, rs *offlineRaft) (*storage.State, func() error, error) {
	path := filepath.Join(dataDir, "state.db")
	var cur *storage.State
	var applied uint64
	if _, err := os.Stat(path); err == nil {
		if err := checkOfflineUnlocked(path); err != nil {
			return nil, nil, err
		}
		if cur, err = storage.OpenState(path); err != nil {
			return nil, nil, err
		}
		if applied, err = cur.AppliedIndex(); err != nil {
			cur.Close()
			return nil, nil, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if cur == nil && rs.empty() {
		return nil, nil, errNoOfflineState
	}

	base := applied
	useSnapshot := rs.latest != nil && rs.latest.Index > applied
	if useSnapshot {
		base = rs.latest.Index
	}
	pending, err := rs.hasCommands(base)
	if err != nil {
		if cur != nil {
			cur.Close()
		}
		return nil, nil, err
	}
	if cur != nil && !useSnapshot && !pending {
		return cur, cur.Close, nil
	}

	// Build a private copy: state.db itself must not move.
	tmp, err := os.MkdirTemp(dataDir, offlineTempPrefix)
	if err != nil {
		if cur != nil {
			cur.Close()
		}
		return nil, nil, err
	}
	st, err := storage.OpenState(filepath.Join(tmp, "state.db"))
	if err == nil {
		switch {
		case useSnapshot:
			err = rs.restoreLatest(st)
		case cur != nil:
			err = copyOfflineState(cur, st)
		}
	}
	if cur != nil {
		err = errors.Join(err, cur.Close())
	}
	if err == nil {
		err = rs.replay(base, st)
	}
	done := func() error {
		var err error
		if st != nil {
			err = st.Close()
		}
		return errors.Join(err, os.RemoveAll(tmp))
	}
	if err != nil {
		return nil, nil, errors.Join(err, done())
	}
	return st, done, nil
}

// copyOfflineState copies src into dst through a snapshot stream.
func copyOfflineState(src, dst *storage.State) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(src.WriteSnapshot(pw)) }()
	err := dst.Restore(pr)
	pr.CloseWithError(errors.New("restore ended"))
	return err
}

// checkOfflineUnlocked fails fast, and says why, when a daemon holds path: bbolt
// would otherwise wait for the lock.
func checkOfflineUnlocked(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: offlineLockTimeout, ReadOnly: true})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%s: %w", path, ErrPeerRunning)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return db.Close()
}

func syncOfflineDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
