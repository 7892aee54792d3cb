package offline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/internal/durable"
	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// ErrNoPins is returned by Import when its input holds no pin: an empty
// file, or a wrong redirect, would otherwise have the next start unpin
// every cluster pin on the IPFS nodes.
var ErrNoPins = errors.New("the input holds no pins")

// Import replaces the pinset with the pins read from r (ndjson of storage.Pin), for a stopped peer.
// The peer set is kept. selfID and selfAddr make a one-voter configuration
// when the peer has no Raft state yet. Every peer of a cluster must import
// the same file: Raft does not send a follower what its own log already
// covers. An input without pins is refused with ErrNoPins, and nothing
// changes; ImportAllowingEmpty takes it.
func Import(dataDir, selfID, selfAddr string, r io.Reader) (int, error) {
	return importPins(dataDir, selfID, selfAddr, r, false)
}

// ImportAllowingEmpty is Import that takes an input without pins, which
// empties the pinset.
func ImportAllowingEmpty(dataDir, selfID, selfAddr string, r io.Reader) (int, error) {
	return importPins(dataDir, selfID, selfAddr, r, true)
}

func importPins(dataDir, selfID, selfAddr string, r io.Reader, allowEmpty bool) (int, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return 0, err
	}
	rs, err := openRaftFiles(dataDir, folderlock.Lock)
	if err != nil {
		return 0, err
	}
	defer rs.close()

	var peers []storage.Peer
	cur, done, err := openCommittedWith(dataDir, rs)
	switch {
	case errors.Is(err, errNoState):
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
	tmp, err := os.MkdirTemp(dataDir, tempPrefix)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	fresh, err := storage.OpenState(filepath.Join(tmp, "state.db"))
	if err != nil {
		return 0, err
	}
	// The file is renamed into place only once whole: one fsync at the end
	// instead of one per batch.
	fresh.BulkLoad(true)
	n, err := fillState(fresh, r, peers, index, tmp)
	if err == nil && n == 0 && !allowEmpty {
		err = ErrNoPins
	}
	if err == nil {
		err = fresh.Sync()
	}
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
	// The file in place is whole on disk: a marker of a crash before it
	// would have the next start set it aside for nothing.
	return n, storage.ClearUnsynced(filepath.Join(dataDir, "state.db"))
}

// fillState writes the pins of r into st in batches, in CID order (see
// sortedRuns), then the peers, and records index as applied, all outside
// Raft (index 0) but the last. Runs go to tmp.
func fillState(st *storage.State, r io.Reader, peers []storage.Peer, index uint64, tmp string) (int, error) {
	runs := &sortedRuns{dir: tmp}
	err := storage.DecodeExport(bufio.NewReaderSize(r, 256<<10), func(p storage.Pin, typ string) error {
		if err := importable(p, typ); err != nil {
			return err
		}
		return runs.add(p)
	})
	if err != nil {
		return 0, err
	}
	err = runs.merge(importBatchPins, func(ops []storage.Op) error {
		_, err := st.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops})
		return err
	})
	if err != nil {
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

// importable checks one pin. Storage's decoder checks the CID, the mode
// and the name; what Flotilla cannot honour is refused here, so that an import is
// whole or nothing rather than quietly partial.
func importable(p storage.Pin, typ string) error {
	if typ != "" && typ != "pin" {
		return fmt.Errorf("%s: pins of type %q (sharding) are not supported", p.Cid, typ)
	}
	if err := alloc.CheckFactors(p.ReplicationFactorMin, p.ReplicationFactorMax); err != nil {
		return fmt.Errorf("%s: %w", p.Cid, err)
	}
	return nil
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
	return durable.SyncDir(dir)
}
