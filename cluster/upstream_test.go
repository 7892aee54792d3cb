package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
)

// memUpstream is an in-memory IPFS pinset for tracker tests that need no
// HTTP at all. Pins of CIDs in `missing` block until released, like a fetch
// from a network that does not have the content yet.
type memUpstream struct {
	mu      sync.Mutex
	pins    map[string]string // cid -> recursive|direct
	missing map[string]chan struct{}
	failPin error
	// freeSpaceErr makes FreeSpace fail, as an IPFS node that stopped
	// answering does: the peer is then no allocation candidate.
	freeSpaceErr error
	pinned       int
	unpins       int
	updates      int
}

func (m *memUpstream) PinUpdate(_ context.Context, from, to cid.Cid) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pins[from.String()] != "recursive" {
		return errors.New("'from' cid was not recursively pinned already")
	}
	m.pins[to.String()] = "recursive"
	m.updates++
	return nil
}

func newMemUpstream() *memUpstream {
	return &memUpstream{pins: map[string]string{}, missing: map[string]chan struct{}{}}
}

func (m *memUpstream) Pin(ctx context.Context, c cid.Cid, recursive bool, _ time.Duration, progress func(nodes, bytes uint64)) error {
	m.mu.Lock()
	if m.failPin != nil {
		err := m.failPin
		m.mu.Unlock()
		return err
	}
	wait := m.missing[c.String()]
	m.mu.Unlock()
	if wait != nil {
		if progress != nil {
			progress(1, 100)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	typ := "direct"
	if recursive || m.pins[c.String()] == "recursive" {
		typ = "recursive"
	}
	m.pins[c.String()] = typ
	m.pinned++
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

func (m *memUpstream) has(c cid.Cid) bool {
	_, ok, _ := m.IsPinned(context.Background(), c)
	return ok
}

func (m *memUpstream) pinBehindBack(c cid.Cid) {
	m.mu.Lock()
	m.pins[c.String()] = "recursive"
	m.mu.Unlock()
}

func (m *memUpstream) hold(c cid.Cid) {
	m.mu.Lock()
	m.missing[c.String()] = make(chan struct{})
	m.mu.Unlock()
}

func (m *memUpstream) release(c cid.Cid) {
	m.mu.Lock()
	if ch := m.missing[c.String()]; ch != nil {
		close(ch)
		delete(m.missing, c.String())
	}
	m.mu.Unlock()
}

func (m *memUpstream) setFail(err error) {
	m.mu.Lock()
	m.failPin = err
	m.mu.Unlock()
}

var errFetch = errors.New("pin: block was not found locally (offline)")
