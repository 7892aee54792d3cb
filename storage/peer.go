package storage

import (
	"errors"
	"fmt"
)

// Peer is a cluster member as recorded in the replicated state.
type Peer struct {
	ID          string            `json:"id"` // libp2p peer ID string 12D3KooW...
	Name        string            `json:"peername"`
	ClusterAddr string            `json:"cluster_addr"` // host:port of its cluster listener
	AdminAddr   string            `json:"admin_addr"`
	ProxyAddr   string            `json:"proxy_addr"`
	IPFSID      string            `json:"ipfs_id"`
	Tags        map[string]string `json:"tags"`
	// Follower marks a read-only follower: a non-voter that mirrors the
	// pinset, never allocated, never promoted.
	Follower bool `json:"follower,omitempty"`
}

// ErrPeerNotFound is returned by State.Peer for an ID the state does not hold.
var ErrPeerNotFound = errors.New("peer is not part of the peerset")

const (
	peerHasTags  = 1
	peerFollower = 2
)

func appendPeer(b []byte, p *Peer) []byte {
	var flags uint64
	if p.Tags != nil {
		flags |= peerHasTags
	}
	if p.Follower {
		flags |= peerFollower
	}
	b = append(b, byte(flags))
	b = appendString(b, p.ID)
	b = appendString(b, p.Name)
	b = appendString(b, p.ClusterAddr)
	b = appendString(b, p.AdminAddr)
	b = appendString(b, p.ProxyAddr)
	b = appendString(b, p.IPFSID)
	if p.Tags != nil {
		b = appendStringMap(b, p.Tags)
	}
	return b
}

func (d *decoder) peer() Peer {
	flags := d.byte()
	if flags&^(peerHasTags|peerFollower) != 0 {
		d.fail("unknown peer flags %#x", flags)
		return Peer{}
	}
	p := Peer{
		ID:          d.string(),
		Name:        d.string(),
		ClusterAddr: d.string(),
		AdminAddr:   d.string(),
		ProxyAddr:   d.string(),
		IPFSID:      d.string(),
		Follower:    flags&peerFollower != 0,
	}
	if flags&peerHasTags != 0 {
		p.Tags = d.stringMap()
	}
	return p
}

// Stored values start with their own format byte, separate from
// CommandVersion: the log and the state file may evolve at different times.
const valueVersion = 1

func encodePeerValue(p *Peer) []byte {
	return appendPeer([]byte{valueVersion}, p)
}

func decodePeerValue(v []byte) (Peer, error) {
	d := decoder{b: v, corrupt: ErrCorruptState}
	if ver := d.byte(); d.err == nil && ver != valueVersion {
		return Peer{}, fmt.Errorf("%w: peer value version %d", ErrCorruptState, ver)
	}
	p := d.peer()
	if err := d.finish(); err != nil {
		return Peer{}, err
	}
	return p, nil
}
