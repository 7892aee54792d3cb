package fakecluster

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// SetPeers sets the members; the first is this peer.
func (f *Cluster) SetPeers(peers ...types.ID) { f.locked(func() { f.peers = slices.Clone(peers) }) }

// Peer is the i-th member; Peer(0) is this peer.
func (f *Cluster) Peer(i int) types.ID { return read(f, func() types.ID { return f.peers[i] }) }

// EditPeer changes the i-th member in place.
func (f *Cluster) EditPeer(i int, edit func(*types.ID)) { f.locked(func() { edit(&f.peers[i]) }) }

// PeerIDs lists the members' IDs in order.
func (f *Cluster) PeerIDs() []string { return read(f, func() []string { return f.peerIDs() }) }

func (f *Cluster) peerIDs() []string {
	ids := make([]string, len(f.peers))
	for i, p := range f.peers {
		ids[i] = p.ID
	}
	return ids
}

// SetStatus makes peerID report status for c, whatever the pinset says.
func (f *Cluster) SetStatus(c cid.Cid, peerID, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statuses[c] == nil {
		f.statuses[c] = map[string]string{}
	}
	f.statuses[c][peerID] = status
}

// SetPeerMap makes PeerMap answer m for c, whatever the members are.
func (f *Cluster) SetPeerMap(c cid.Cid, m map[string]types.PinStatus) {
	f.locked(func() { f.peerMaps[c] = m })
}

// SetDefaultStatus makes every member report status for every CID that
// has no status of its own, instead of deriving it from the pinset.
func (f *Cluster) SetDefaultStatus(status string) { f.locked(func() { f.defaultStatus = status }) }

// statusOf is p's status of c: one set for it, else the default, else
// derived as the tracker would: pinned where allocated, remote elsewhere.
func (f *Cluster) statusOf(c cid.Cid, p types.ID) types.PinStatus {
	st := types.PinStatus{PeerName: p.Peername, IPFSPeerID: p.IPFS.ID, Timestamp: f.now}
	pin, pinned := f.pins[c]
	switch {
	case f.statuses[c][p.ID] != "":
		st.Status = f.statuses[c][p.ID]
	case f.defaultStatus != "":
		st.Status = f.defaultStatus
	case !pinned:
		st.Status = "unpinned"
	case pin.AllocatedTo(p.ID):
		st.Status = "pinned"
	default:
		st.Status = "remote"
	}
	return st
}

func (f *Cluster) peerMap(c cid.Cid) map[string]types.PinStatus {
	if m, ok := f.peerMaps[c]; ok {
		return maps.Clone(m)
	}
	out := map[string]types.PinStatus{}
	for _, p := range f.peers {
		out[p.ID] = f.statusOf(c, p)
	}
	return out
}

// PeerMap returns every member's status of c.
func (f *Cluster) PeerMap(_ context.Context, c cid.Cid) map[string]types.PinStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerMapCalls++
	return f.peerMap(c)
}

// PeerMaps is PeerMap for many CIDs, as one batch.
func (f *Cluster) PeerMaps(_ context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerMapsCalls++
	out := make([]map[string]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = f.peerMap(c)
	}
	return out
}

// PeerMapCalls counts the PeerMap calls (not the batches of PeerMaps).
func (f *Cluster) PeerMapCalls() int { return read(f, func() int { return f.peerMapCalls }) }

// ResetPeerMapCalls starts PeerMapCalls from zero again.
func (f *Cluster) ResetPeerMapCalls() { f.locked(func() { f.peerMapCalls = 0 }) }

// PeerMapsCalls counts the batches PeerMaps was asked for.
func (f *Cluster) PeerMapsCalls() int { return read(f, func() int { return f.peerMapsCalls }) }

// LocalStatus is this peer's (the first member's) status of c.
func (f *Cluster) LocalStatus(c cid.Cid) types.PinStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.localStatusCalls++
	return f.statusOf(c, f.peers[0])
}

// ListStatus visits the pinset as List does, each pin with every member's
// status of it, or this peer's alone when local.
func (f *Cluster) ListStatus(ctx context.Context, local bool, fn func(storage.Pin, types.PeerMap) error) error {
	return f.List(ctx, func(p storage.Pin) error {
		if local {
			return fn(p, types.PeerMap{f.PeerID(): f.LocalStatus(p.Cid)})
		}
		return fn(p, read(f, func() map[string]types.PinStatus { return f.peerMap(p.Cid) }))
	})
}

// LocalStatusCalls counts the LocalStatus calls.
func (f *Cluster) LocalStatusCalls() int { return read(f, func() int { return f.localStatusCalls }) }

// ID describes this peer.
func (f *Cluster) ID(context.Context) types.ID { return f.Peer(0) }

// PeerID is this peer's ID.
func (f *Cluster) PeerID() string { return f.Peer(0).ID }

// Peers describes every member.
func (f *Cluster) Peers(context.Context) []types.ID {
	return read(f, func() []types.ID { return slices.Clone(f.peers) })
}

// RemovePeer removes a member, or returns types.ErrUnknownPeer.
func (f *Cluster) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.peers {
		if p.ID == id {
			f.removed = append(f.removed, id)
			f.peers = slices.Delete(f.peers, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", types.ErrUnknownPeer, id)
}

// Removed lists the members RemovePeer removed.
func (f *Cluster) Removed() []string {
	return read(f, func() []string { return slices.Clone(f.removed) })
}

// Recover queues c again where it failed to pin (pin_error becomes
// pin_queued) and returns the peer map.
func (f *Cluster) Recover(_ context.Context, c cid.Cid) (map[string]types.PinStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recoverCalls = append(f.recoverCalls, c)
	for id, st := range f.statuses[c] {
		if st == "pin_error" {
			f.statuses[c][id] = "pin_queued"
		}
	}
	f.peerMapCalls++
	return f.peerMap(c), nil
}

// RecoverCalls lists the CIDs Recover was asked about.
func (f *Cluster) RecoverCalls() []cid.Cid {
	return read(f, func() []cid.Cid { return slices.Clone(f.recoverCalls) })
}

// SetRecoverable sets what RecoverAll reports as queued again.
func (f *Cluster) SetRecoverable(cids ...cid.Cid) {
	f.locked(func() { f.recoverable = slices.Clone(cids) })
}

// RecoverAll tells fn of the CIDs set with SetRecoverable.
func (f *Cluster) RecoverAll(_ context.Context, fn func(cid.Cid) error) error {
	f.mu.Lock()
	cids := slices.Clone(f.recoverable)
	f.mu.Unlock()
	for _, c := range cids {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// RepoGC answers as if every member removed one block and failed on one.
func (f *Cluster) RepoGC(context.Context) map[string]types.RepoGC {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]types.RepoGC{}
	for _, p := range f.peers {
		mh, _ := multihash.Sum([]byte("garbage of "+p.ID), multihash.SHA2_256, -1)
		removed := cid.NewCidV1(cid.Raw, mh).String()
		out[p.ID] = types.RepoGC{Peer: p.ID, Peername: p.Peername, Keys: []types.RepoGCKey{{Key: &removed}, {Error: "block in use"}}}
	}
	return out
}

// SetRepoStat sets the sum RepoStat reports.
func (f *Cluster) SetRepoStat(total types.RepoStat) { f.locked(func() { f.repoStat = total }) }

// RepoStat reports the sum set with SetRepoStat, zero before.
func (f *Cluster) RepoStat(context.Context) (types.RepoStat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repoStat, nil
}

// SetMetrics sets the latest metrics called name; nil ones still count as
// a known name.
func (f *Cluster) SetMetrics(name string, ms []health.Metric) {
	f.locked(func() { f.metrics[name] = ms })
}

// Metrics returns the metrics set with SetMetrics.
func (f *Cluster) Metrics(name string) []health.Metric {
	return read(f, func() []health.Metric { return f.metrics[name] })
}

// MetricNames lists the names given to SetMetrics, sorted.
func (f *Cluster) MetricNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := slices.Collect(maps.Keys(f.metrics))
	slices.Sort(names)
	return names
}

// SetAlerts sets what Alerts returns.
func (f *Cluster) SetAlerts(alerts ...health.Alert) {
	f.locked(func() { f.alerts = slices.Clone(alerts) })
}

// Alerts returns the alerts set with SetAlerts.
func (f *Cluster) Alerts() []health.Alert {
	return read(f, func() []health.Alert { return slices.Clone(f.alerts) })
}

// SetDelegates sets the multiaddrs Delegates returns for every CID.
func (f *Cluster) SetDelegates(addrs ...string) {
	f.locked(func() { f.delegates = slices.Clone(addrs) })
}

// Delegates returns the addresses set with SetDelegates.
func (f *Cluster) Delegates(context.Context, cid.Cid) []string {
	return read(f, func() []string { return slices.Clone(f.delegates) })
}

// CheckedPeerMaps is PeerMaps: the fake's statuses are already what it
// holds. It counts in CheckedCalls.
func (f *Cluster) CheckedPeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	f.locked(func() { f.checkedCalls++ })
	return f.PeerMaps(ctx, cids)
}

// CheckedLocalStatus is LocalStatus, as CheckedPeerMap is PeerMap.
func (f *Cluster) CheckedLocalStatus(_ context.Context, c cid.Cid) types.PinStatus {
	f.locked(func() { f.checkedCalls++ })
	return f.LocalStatus(c)
}

// CheckedCalls is how many checked statuses were asked.
func (f *Cluster) CheckedCalls() int { return read(f, func() int { return f.checkedCalls }) }

// Held tells, for each of cids, whether a member's status of it is pinned.
func (f *Cluster) Held(_ context.Context, cids []cid.Cid) ([]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	held := make([]bool, len(cids))
	for i, c := range cids {
		held[i] = f.held(c)
	}
	return held, nil
}

// ListHeld visits the pins of List that a member's status says are pinned.
func (f *Cluster) ListHeld(ctx context.Context, fn func(storage.Pin) error) error {
	return f.List(ctx, func(p storage.Pin) error {
		if !read(f, func() bool { return f.held(p.Cid) }) {
			return nil
		}
		return fn(p)
	})
}

func (f *Cluster) held(c cid.Cid) bool {
	for _, st := range f.peerMap(c) {
		if st.Status == string(storage.StatusPinned) {
			return true
		}
	}
	return false
}
