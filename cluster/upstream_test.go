package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
)

// memUpstream is an in-memory IPFS pinset for the Node's tests, which need
// no HTTP at all. The tracker's own tests run against the fake Kubo.
type memUpstream struct {
	mu     sync.Mutex
	pins   map[string]string // cid -> recursive|direct
	unpins int
	// freeSpaceErr makes FreeSpace fail, as an IPFS node that stopped
	// answering does: the peer is then no allocation candidate.
	freeSpaceErr error
	// ipfsID is what IPFSID answers; empty, as from a node that was down.
	ipfsID string
}

func (m *memUpstream) PinUpdate(_ context.Context, from, to cid.Cid, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pins[from.String()] != "recursive" {
		return errors.New("'from' cid was not recursively pinned already")
	}
	m.pins[to.String()] = "recursive"
	return nil
}

func newMemUpstream() *memUpstream {
	return &memUpstream{pins: map[string]string{}}
}

func (m *memUpstream) Pin(_ context.Context, c cid.Cid, recursive bool, _ string, _ time.Duration, _ func(nodes, bytes uint64)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	typ := "direct"
	if recursive || m.pins[c.String()] == "recursive" {
		typ = "recursive"
	}
	m.pins[c.String()] = typ
	return nil
}

func (m *memUpstream) Unpin(_ context.Context, c cid.Cid) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unpins++
	delete(m.pins, c.String())
	return nil
}

func (m *memUpstream) PinLs(ctx context.Context, typ string, fn func(cid.Cid, string) error) error {
	m.mu.Lock()
	snapshot := map[string]string{}
	for k, v := range m.pins {
		snapshot[k] = v
	}
	m.mu.Unlock()
	for k, v := range snapshot {
		if typ != "all" && typ != v {
			continue
		}
		if err := fn(cid.MustParse(k), v); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (m *memUpstream) IsPinned(_ context.Context, c cid.Cid) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.pins[c.String()]
	return t, ok, nil
}

// unpinCount is how many unpins the upstream was asked for.
func (m *memUpstream) unpinCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unpins
}

func (m *memUpstream) has(c cid.Cid) bool {
	_, ok, _ := m.IsPinned(context.Background(), c)
	return ok
}

// unpinBehindBack removes c's pin as a user would on the node itself.
func (m *memUpstream) unpinBehindBack(c cid.Cid) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pins, c.String())
}

func (m *memUpstream) pinBehindBack(c cid.Cid) {
	m.mu.Lock()
	m.pins[c.String()] = "recursive"
	m.mu.Unlock()
}

// PinName: names are not kept.
func (m *memUpstream) PinName(context.Context, cid.Cid, string) (string, error) { return "", nil }
