package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// testCid is a CIDv1 (raw, sha2-256) derived from i, built by hand so that
// tests need no multihash import and cost one hash.
func testCid(i int) cid.Cid {
	return cidFromDigest(0x01, 0x55, digest(i))
}

// testCidV0 is a CIDv0 (a bare sha2-256 multihash) derived from i.
func testCidV0(i int) cid.Cid {
	d := digest(i)
	c, err := cid.Cast(append([]byte{0x12, 0x20}, d[:]...))
	if err != nil {
		panic(err)
	}
	return c
}

func cidFromDigest(version, codec byte, d [32]byte) cid.Cid {
	c, err := cid.Cast(append([]byte{version, codec, 0x12, 0x20}, d[:]...))
	if err != nil {
		panic(err)
	}
	return c
}

func digest(i int) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
}

// fullPin sets every field, with values chosen to catch swapped fields.
func fullPin(i int) Pin {
	return Pin{
		Cid:                  testCid(i),
		Name:                 fmt.Sprintf("pin-%d", i),
		Mode:                 Direct,
		ReplicationFactorMin: 2,
		ReplicationFactorMax: 3,
		Allocations:          []string{"12D3KooWA", "12D3KooWB"},
		UserAllocations:      []string{"12D3KooWC"},
		Origins:              []string{"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD"},
		Metadata:             map[string]string{"k": "v", "empty": ""},
		ExpireAt:             time.Unix(1900000000, 123456789).UTC(),
		Timestamp:            time.Unix(1700000000, 987654321).UTC(),
		PinUpdate:            testCidV0(i + 1),
	}
}

// smallPin is what most pins look like: replication everywhere, a timestamp.
func smallPin(i int) Pin {
	return Pin{
		Cid:                  testCid(i),
		ReplicationFactorMin: -1,
		ReplicationFactorMax: -1,
		Timestamp:            time.Unix(1700000000+int64(i), int64(i)).UTC(),
	}
}

// randPin draws every field independently, including nil versus empty for
// each slice and map, zero versus set times, and both CID versions.
func randPin(r *rand.Rand) Pin {
	p := Pin{
		Cid:                  randCid(r),
		Name:                 randString(r),
		Mode:                 Mode(r.IntN(2)),
		ReplicationFactorMin: r.IntN(7) - 1,
		ReplicationFactorMax: r.IntN(7) - 1,
		Allocations:          randStrings(r),
		UserAllocations:      randStrings(r),
		Origins:              randStrings(r),
		Metadata:             randMap(r),
		ExpireAt:             randTime(r),
		Timestamp:            randTime(r),
	}
	if r.IntN(2) == 0 {
		p.PinUpdate = randCid(r)
	}
	return p
}

func randCid(r *rand.Rand) cid.Cid {
	if r.IntN(3) == 0 {
		return testCidV0(r.Int())
	}
	return testCid(r.Int())
}

func randString(r *rand.Rand) string {
	b := make([]byte, r.IntN(20))
	for i := range b {
		b[i] = byte(r.IntN(256)) // any bytes, not only valid UTF-8
	}
	return string(b)
}

func randStrings(r *rand.Rand) []string {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	ss := make([]string, 1+r.IntN(4))
	for i := range ss {
		ss[i] = randString(r)
	}
	return ss
}

func randMap(r *rand.Rand) map[string]string {
	switch r.IntN(3) {
	case 0:
		return nil
	case 1:
		return map[string]string{}
	}
	m := make(map[string]string)
	for range 1 + r.IntN(4) {
		m[randString(r)] = randString(r)
	}
	return m
}

func randTime(r *rand.Rand) time.Time {
	switch r.IntN(4) {
	case 0:
		return time.Time{}
	case 1: // before 1970: negative seconds
		return time.Unix(-r.Int64N(1<<40), r.Int64N(1e9)).UTC()
	}
	return time.Unix(r.Int64N(1<<36), r.Int64N(1e9)).UTC()
}

func randPeer(r *rand.Rand) Peer {
	return Peer{
		ID:          "12D3KooW" + randString(r),
		Name:        randString(r),
		ClusterAddr: randString(r),
		AdminAddr:   randString(r),
		ProxyAddr:   randString(r),
		IPFSID:      randString(r),
		Tags:        randMap(r),
		Follower:    r.IntN(2) == 0,
	}
}

func pinCmd(pins ...Pin) Command {
	c := Command{Type: CmdPinBatch}
	for _, p := range pins {
		c.Ops = append(c.Ops, Op{Kind: OpPin, Pin: p})
	}
	return c
}

func unpinCmd(cids ...cid.Cid) Command {
	c := Command{Type: CmdPinBatch}
	for _, k := range cids {
		c.Ops = append(c.Ops, Op{Kind: OpUnpin, Pin: Pin{Cid: k}})
	}
	return c
}

func openTestState(t testing.TB) *State {
	t.Helper()
	s, err := OpenState(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustApply(t testing.TB, s *State, index uint64, c Command) []Change {
	t.Helper()
	ch, err := s.Apply(index, c)
	if err != nil {
		t.Fatalf("apply %d: %v", index, err)
	}
	return ch
}

// allPins reads the pinset back through ForEach.
func allPins(t testing.TB, s *State) []Pin {
	t.Helper()
	var ps []Pin
	if err := s.ForEach(func(p Pin) error { ps = append(ps, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return ps
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
	failWrite         bool
}

func (m *memSink) Write(p []byte) (int, error) {
	if m.failWrite {
		return 0, errors.New("sink broken")
	}
	return m.Buffer.Write(p)
}
func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Close() error  { m.closed = true; return nil }
func (m *memSink) Cancel() error { m.cancelled = true; return nil }
