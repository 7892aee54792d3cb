package fakekubo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"maps"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Pin modes, as Kubo names them on the wire.
const (
	Recursive = "recursive"
	Direct    = "direct"
)

// Fake is one fake Kubo daemon listening on loopback. All methods are safe
// for concurrent use.
type Fake struct {
	t      testing.TB
	srv    *httptest.Server
	ln     *switchListener
	id     peer.ID
	pubKey string // base64 of the protobuf public key, as `id` reports it

	// ctx ends at cleanup so that requests waiting for content return and
	// the server can close.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever content appears: wakes waiters
	blocks   map[string]*block
	links    map[string][]cid.Cid
	pins     map[cid.Cid]pinInfo
	resolve  map[string]cid.Cid
	fetching map[cid.Cid]int
	addrs    []string
	offline  bool
	down     bool
	progress time.Duration
	repoStat *repoStat
	calls    map[string]int
	fail     map[string]*failure
	delay    map[string]time.Duration
	pause    map[string]*gate
}

// block is content the fake has. Blocks are keyed by multihash, like Kubo's
// blockstore, so CIDv0 and CIDv1 of the same bytes are the same block.
type block struct {
	data  []byte
	size  uint64
	isDir bool
}

type pinInfo struct {
	mode string
	name string
}

type repoStat struct{ size, max uint64 }

type failure struct {
	n   int
	msg string
}

// gate holds a streaming response after a number of values until released.
type gate struct {
	after int
	ch    chan struct{}
}

// New starts a fake Kubo on 127.0.0.1 with an empty repo and a fresh peer
// identity. It is closed when the test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatalf("fakekubo: generating a key: %v", err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatalf("fakekubo: peer id: %v", err)
	}
	pubBytes, err := crypto.MarshalPublicKey(pub)
	if err != nil {
		t.Fatalf("fakekubo: marshal key: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fake{
		t:        t,
		id:       id,
		pubKey:   base64.StdEncoding.EncodeToString(pubBytes),
		ctx:      ctx,
		cancel:   cancel,
		changed:  make(chan struct{}),
		blocks:   map[string]*block{},
		links:    map[string][]cid.Cid{},
		pins:     map[cid.Cid]pinInfo{},
		resolve:  map[string]cid.Cid{},
		fetching: map[cid.Cid]int{},
		addrs:    []string{"/ip4/127.0.0.1/tcp/4001/p2p/" + id.String()},
		progress: 500 * time.Millisecond, // Kubo's pin/add progress tick
		calls:    map[string]int{},
		fail:     map[string]*failure{},
		delay:    map[string]time.Duration{},
		pause:    map[string]*gate{},
	}
	f.srv = httptest.NewUnstartedServer(f)
	f.ln = newSwitchListener(f.srv.Listener)
	f.srv.Listener = f.ln
	f.srv.Start()
	t.Cleanup(f.close)
	return f
}

func (f *Fake) close() {
	f.cancel()
	f.ln.Close()
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// URL is the base URL for Kubo clients, without /api/v0.
func (f *Fake) URL() string { return f.srv.URL }

// ID is the fake's peer ID (12D3KooW...), stable for its lifetime.
func (f *Fake) ID() string { return f.id.String() }

// SetAddresses sets the multiaddrs that `id` reports.
func (f *Fake) SetAddresses(addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs = append([]string(nil), addrs...)
}

// Pins returns a snapshot of the pinset: CID string to "recursive" or
// "direct". Indirect pins are implied by SetLinks and not listed.
func (f *Fake) Pins() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.pins))
	for c, p := range f.pins {
		out[c.String()] = p.mode
	}
	return out
}

// PinName returns the name of a recursive or direct pin.
func (f *Fake) PinName(c cid.Cid) (name string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	return p.name, ok
}

// IsPinned reports whether c is pinned recursively or directly.
func (f *Fake) IsPinned(c cid.Cid) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.pins[c]
	return ok
}

// PinDirect pins c with mode "recursive" or "direct" as a user would on Kubo
// itself, behind Flotilla's back. The content becomes available, since Kubo
// only holds a pin on content it has.
func (f *Fake) PinDirect(c cid.Cid, mode string) {
	if mode != Recursive && mode != Direct {
		f.t.Errorf("fakekubo: PinDirect mode %q, want %q or %q", mode, Recursive, Direct)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(c, nil, false)
	if mode == Recursive {
		for _, d := range f.descendantsLocked(c) {
			f.putLocked(d, nil, false)
		}
	}
	f.pins[c] = pinInfo{mode: mode}
}

// Unpin removes any pin on c behind Flotilla's back.
func (f *Fake) Unpin(c cid.Cid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.pins, c)
}

// AddBlock makes c available, as if it had been fetched. Requests waiting
// for it proceed.
func (f *Fake) AddBlock(c cid.Cid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(c, nil, false)
}

// AddData stores data under the CIDv0 of its sha256 (what the fake's `add`
// gives a file) and returns that CID, so that cat and block/get serve it.
func (f *Fake) AddData(data []byte) cid.Cid {
	c := fileCid(data, 0)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(c, data, false)
	return c
}

// HasBlock reports whether the fake has c.
func (f *Fake) HasBlock(c cid.Cid) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.blocks[string(c.Hash())]
	return ok
}

// SetLinks declares the children of parent, which makes a DAG: a recursive
// pin of parent fetches (waits for) every descendant and pins them
// indirectly. Links are known before the blocks are available.
func (f *Fake) SetLinks(parent cid.Cid, children ...cid.Cid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links[string(parent.Hash())] = append([]cid.Cid(nil), children...)
}

// SetResolve makes `resolve` and the pin commands resolve p (an /ipfs/ path
// with segments, or an /ipns/ name) to c.
func (f *Fake) SetResolve(p string, c cid.Cid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resolve[strings.TrimSuffix(p, "/")] = c
}

// SetOffline makes requests for content the fake lacks fail at once with
// Kubo's offline error instead of waiting for it.
func (f *Fake) SetOffline(offline bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offline = offline
	f.notifyLocked()
}

// SetProgressInterval sets how often pin/add?progress=true reports progress
// (Kubo: 500ms). Tests shorten it.
func (f *Fake) SetProgressInterval(d time.Duration) {
	d = max(d, time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.progress = d
}

// Fetching reports how many requests are waiting for c to become available.
// Tests wait on it to know a pin is in flight.
func (f *Fake) Fetching(c cid.Cid) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetching[c]
}

// SetRepoStat fixes what repo/stat reports as RepoSize and StorageMax.
// Until it is called, RepoSize is the bytes stored and StorageMax 10 GB,
// Kubo's default Datastore.StorageMax.
func (f *Fake) SetRepoStat(size, max uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repoStat = &repoStat{size: size, max: max}
}

// FailNext makes the next n calls to endpoint ("pin/add" or
// "/api/v0/pin/add") fail with Kubo's error JSON carrying msg (HTTP 500).
func (f *Fake) FailNext(endpoint string, n int, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[normEndpoint(endpoint)] = &failure{n: n, msg: msg}
}

// SetDelay delays every call to endpoint by d before it is handled, or until
// the request ends. Zero removes the delay.
func (f *Fake) SetDelay(endpoint string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d <= 0 {
		delete(f.delay, normEndpoint(endpoint))
		return
	}
	f.delay[normEndpoint(endpoint)] = d
}

// PauseAfter makes NDJSON responses of endpoint stop after n values (flushed
// to the client) until resume is called or the request ends. Tests use it
// to prove a client consumes a stream before it ends.
func (f *Fake) PauseAfter(endpoint string, n int) (resume func()) {
	g := &gate{after: n, ch: make(chan struct{})}
	ep := normEndpoint(endpoint)
	f.mu.Lock()
	f.pause[ep] = g
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			if f.pause[ep] == g {
				delete(f.pause, ep)
			}
			f.mu.Unlock()
			close(g.ch)
		})
	}
}

// Calls reports how many requests reached endpoint, failed ones included.
func (f *Fake) Calls(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[normEndpoint(endpoint)]
}

// AllCalls returns a snapshot of the per-endpoint call counts.
func (f *Fake) AllCalls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// SetDown simulates a dead daemon: new connections are refused and open
// ones are closed, in-flight requests included. SetDown(false) listens again
// on the same address.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	if f.down == down {
		f.mu.Unlock()
		return
	}
	f.down = down
	f.mu.Unlock()
	if down {
		f.ln.takeDown()
		f.srv.CloseClientConnections()
		return
	}
	if err := f.ln.bringUp(); err != nil {
		f.t.Errorf("fakekubo: listening again on %s: %v", f.ln.Addr(), err)
	}
}

func (f *Fake) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

func normEndpoint(e string) string {
	e = strings.TrimPrefix(e, apiPrefix)
	return strings.Trim(e, "/")
}
