package transport

import (
	"net"
	"sync"
)

const (
	// maxPendingHandshakes bounds the connections, and their goroutines,
	// that unauthenticated peers can make us hold.
	maxPendingHandshakes = 256
	// maxPendingPerSource bounds those of one source address.
	maxPendingPerSource = 16
	// maxPendingPerPeerSource bounds those of an address that proved the
	// secret before: after a stall of this peer (SIGSTOP, a paused
	// machine), or of the network, every peer behind it reconnects at
	// once, Raft and RPC, all in the backlog together.
	maxPendingPerPeerSource = maxPendingHandshakes / 4
)

// handshakeSlots holds the connections whose handshake is under way. A flood
// of idle connections must neither grow it without bound nor keep peers
// out, so a new connection always gets a slot, and a bound evicts an older
// one instead of refusing it:
//   - a source (an IPv4 address, or an IPv6 /64) holds at most perSource
//     slots, or perPeerSource once a connection from it proved the secret:
//     past that one of its own is evicted;
//   - all sources hold at most total: past that one of anybody's is.
//
// The one evicted is, in this order: one that has not said its hello yet
// (a peer says it as soon as it connects), of the source that holds the most,
// the oldest. A peer's handshake is thus not evicted by idle connections,
// however many addresses they come from; nor by talking ones unless they come
// from its own address or hold every slot from a different address each.
// Every slot is freed by the handshake deadline anyway.
type handshakeSlots struct {
	perSource, perPeerSource, total int

	mu       sync.Mutex
	bySource map[string][]*slot // oldest first
	// peers are the sources that proved the secret; only a holder of the
	// secret adds to it, so it grows no larger than the cluster.
	peers map[string]bool
	count int
	seq   uint64
}

// slot is one pending handshake.
type slot struct {
	conn    net.Conn
	source  string
	seq     uint64
	spoke   bool // it said its hello; guarded by handshakeSlots.mu
	evicted bool // guarded by handshakeSlots.mu
}

func newHandshakeSlots(perSource, perPeerSource, total int) *handshakeSlots {
	return &handshakeSlots{perSource: perSource, perPeerSource: perPeerSource, total: total,
		bySource: map[string][]*slot{}, peers: map[string]bool{}}
}

// take gives conn a slot, and returns the one it evicted, if any: the caller
// closes the evicted connection, which ends its handshake.
func (s *handshakeSlots) take(conn net.Conn) (taken, evicted *slot) {
	src := sourceOf(conn.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	share := s.perSource
	if s.peers[src] {
		share = s.perPeerSource
	}
	switch {
	case len(s.bySource[src]) >= share:
		evicted = s.evictLocked(s.bySource[src])
	case s.count >= s.total:
		var all []*slot
		for _, list := range s.bySource {
			all = append(all, list...)
		}
		evicted = s.evictLocked(all)
	}
	s.seq++
	taken = &slot{conn: conn, source: src, seq: s.seq}
	s.bySource[src] = append(s.bySource[src], taken)
	s.count++
	return taken, evicted
}

// heard records that sl's connection said its hello.
func (s *handshakeSlots) heard(sl *slot) {
	s.mu.Lock()
	sl.spoke = true
	s.mu.Unlock()
}

// proved records that sl's connection proved the secret: its source is a
// peer's.
func (s *handshakeSlots) proved(sl *slot) {
	s.mu.Lock()
	s.peers[sl.source] = true
	s.mu.Unlock()
}

// release frees a slot once its handshake is over, and reports whether it
// had been evicted meanwhile.
func (s *handshakeSlots) release(sl *slot) (evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sl.evicted {
		s.dropLocked(sl)
	}
	return sl.evicted
}

// evictLocked takes out the first of candidates to go: a silent one before
// one that spoke, then one of the source holding the most, then the oldest.
func (s *handshakeSlots) evictLocked(candidates []*slot) *slot {
	victim := candidates[0]
	for _, c := range candidates[1:] {
		if s.goesBeforeLocked(c, victim) {
			victim = c
		}
	}
	victim.evicted = true
	s.dropLocked(victim)
	return victim
}

func (s *handshakeSlots) goesBeforeLocked(a, b *slot) bool {
	if a.spoke != b.spoke {
		return !a.spoke
	}
	if la, lb := len(s.bySource[a.source]), len(s.bySource[b.source]); la != lb {
		return la > lb
	}
	return a.seq < b.seq
}

func (s *handshakeSlots) dropLocked(sl *slot) {
	list := s.bySource[sl.source]
	for i, other := range list {
		if other == sl {
			list = append(list[:i:i], list[i+1:]...)
			s.count--
			break
		}
	}
	if len(list) == 0 {
		delete(s.bySource, sl.source)
	} else {
		s.bySource[sl.source] = list
	}
}

// pending counts the slots held, by src or ("") by all.
func (s *handshakeSlots) pending(src string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if src == "" {
		return s.count
	}
	return len(s.bySource[src])
}

// sourceOf is the address a limit applies to: the IP of an IPv4 peer, the
// /64 of an IPv6 one (a host often has a whole /64 to pick addresses from).
func sourceOf(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if v4 := tcp.IP.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: tcp.IP.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}
