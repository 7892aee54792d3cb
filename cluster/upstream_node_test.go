package cluster

import (
	"context"
	"errors"
)

// The rest of IPFS, for a memUpstream standing in for the whole node: an
// in-memory node has no disk and no garbage, and no identity until a test
// gives it one.

func (m *memUpstream) IPFSID(context.Context) (string, []string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ipfsID, nil, nil
}

// setIPFSID gives the node an identity, as a Kubo that comes up after the
// peer started.
func (m *memUpstream) setIPFSID(id string) {
	m.mu.Lock()
	m.ipfsID = id
	m.mu.Unlock()
}

func (m *memUpstream) FreeSpace(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return 0, m.freeSpaceErr
}

var errIPFSDown = errors.New("IPFS is down")

func (m *memUpstream) setFreeSpaceErr(err error) {
	m.mu.Lock()
	m.freeSpaceErr = err
	m.mu.Unlock()
}

func (m *memUpstream) RepoTotals(context.Context) (uint64, uint64, uint64, error) {
	return 0, 0, 0, nil
}

func (m *memUpstream) RepoGC(context.Context, func(key, errMsg string) error) error { return nil }

var _ IPFS = (*memUpstream)(nil)
