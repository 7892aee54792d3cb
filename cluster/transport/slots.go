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
)

// handshakeSlots holds the connections whose handshake is under way. A flood
// of idle connections must neither grow it without bound nor keep peers
// out, so a new connection always gets a slot, and a bound evicts an older
// one instead of refusing it:
//   - a source (an IPv4 address, or an IPv6 /64) holds at most perSource
//     slots: past that its own oldest pending handshake is evicted;
//   - all sources hold at most total: past that the oldest pending handshake
//     of the source that holds the most is evicted.
//
// A peer dials one or a few connections at a time, so its handshake is
// evicted only by a flood from its own address, or when every slot is held
// by a different address (total of them). Every slot is freed by the
// handshake deadline anyway.
type handshakeSlots struct {
	perSource, total int

	mu       sync.Mutex
	bySource map[string][]*slot // oldest first
	count    int
	seq      uint64
}

// slot is one pending handshake.
type slot struct {
	conn    net.Conn
	source  string
	seq     uint64
	evicted bool // guarded by handshakeSlots.mu
}

func newHandshakeSlots(perSource, total int) *handshakeSlots {
	return &handshakeSlots{perSource: perSource, total: total, bySource: map[string][]*slot{}}
}

// take gives conn a slot, and returns the one it evicted, if any: the caller
// closes the evicted connection, which ends its handshake.
func (s *handshakeSlots) take(conn net.Conn) (taken, evicted *slot) {
	src := sourceOf(conn.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(s.bySource[src]) >= s.perSource:
		evicted = s.evictLocked(src)
	case s.count >= s.total:
		evicted = s.evictLocked(s.heaviestLocked())
	}
	s.seq++
	taken = &slot{conn: conn, source: src, seq: s.seq}
	s.bySource[src] = append(s.bySource[src], taken)
	s.count++
	return taken, evicted
}

// release frees a slot once its handshake is over, and reports whether it
// had been evicted meanwhile.
func (s *handshakeSlots) release(sl *slot) (evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.evicted {
		return true
	}
	list := s.bySource[sl.source]
	for i, other := range list {
		if other == sl {
			s.dropLocked(sl.source, i)
			break
		}
	}
	return false
}

// evictLocked takes the oldest slot of src out.
func (s *handshakeSlots) evictLocked(src string) *slot {
	victim := s.bySource[src][0]
	victim.evicted = true
	s.dropLocked(src, 0)
	return victim
}

func (s *handshakeSlots) dropLocked(src string, i int) {
	list := s.bySource[src]
	if len(list) == 1 {
		delete(s.bySource, src)
	} else {
		s.bySource[src] = append(list[:i:i], list[i+1:]...)
	}
	s.count--
}

// heaviestLocked is the source holding the most slots; of equals, the one
// with the oldest.
func (s *handshakeSlots) heaviestLocked() string {
	var best string
	var bestList []*slot
	for src, list := range s.bySource {
		if bestList == nil || len(list) > len(bestList) || len(list) == len(bestList) && list[0].seq < bestList[0].seq {
			best, bestList = src, list
		}
	}
	return best
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
