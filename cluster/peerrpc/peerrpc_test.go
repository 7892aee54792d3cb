package peerrpc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// fakeLocal records what the service asked of it and answers with err.
type fakeLocal struct {
	mu        sync.Mutex
	err       error
	ops       []storage.Op
	joined    []storage.Peer
	statusOf  [][]cid.Cid
	recovered []cid.Cid

	recoverPages [][]cid.Cid
	metrics      []health.Metric
	// members are the full members FullMember knows.
	members []string
	// streamed is what LocalStatuses hands out, before it fails with err.
	streamed []streamedStatus
	// waitedFor are the indexes WaitApplied was asked for; it fails with
	// notApplied.
	waitedFor  []uint64
	notApplied error
	// status, when set, is every status Statuses answers. WaitSettled
	// tells settling that it waits, then waits for settle to close.
	status   string
	settling chan struct{}
	settle   chan struct{}
	// passedOn counts the calls of PassCommitOn.
	passedOn int
}

type streamedStatus struct {
	c  cid.Cid
	st types.PinStatus
}

func (f *fakeLocal) Apply(_ context.Context, ops []storage.Op) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, ops...)
	return 42, f.err
}

func (f *fakeLocal) Join(_ context.Context, p storage.Peer, _ *JoinProof) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.joined = append(f.joined, p)
	return f.err
}

func (f *fakeLocal) Remove(context.Context, string) error { return f.err }
func (f *fakeLocal) PassCommitOn() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.passedOn++
}
func (f *fakeLocal) WaitApplied(_ context.Context, index uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waitedFor = append(f.waitedFor, index)
	return f.notApplied
}
func (f *fakeLocal) AcceptMetrics(ms []health.Metric) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.metrics = append(f.metrics, ms...)
	return f.err
}
func (f *fakeLocal) FullMember(id string) bool   { return slices.Contains(f.members, id) }
func (f *fakeLocal) ID(context.Context) types.ID { return types.ID{ID: "peer-a", Peername: "a"} }
func (f *fakeLocal) Recover(_ context.Context, c cid.Cid) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recovered = append(f.recovered, c)
}

// RecoverAll hands on recoverPages, then fails with err, if set.
func (f *fakeLocal) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	for _, page := range f.recoverPages {
		if err := fn(page); err != nil {
			return err
		}
	}
	return f.err
}
func (f *fakeLocal) RepoStat(context.Context) (types.RepoStat, error) {
	return types.RepoStat{RepoSize: 7, NumObjects: 3}, f.err
}
func (f *fakeLocal) RepoGC(context.Context) types.RepoGC { return types.RepoGC{Peer: "peer-a"} }
func (f *fakeLocal) CheckedStatuses(_ context.Context, cids []cid.Cid) []types.PinStatus {
	out := f.Statuses(cids)
	for i := range out {
		out[i].Status = types.StatusUnexpectedlyUnpinned
	}
	return out
}

func (f *fakeLocal) Statuses(cids []cid.Cid) []types.PinStatus {
	f.mu.Lock()
	f.statusOf = append(f.statusOf, cids)
	f.mu.Unlock()
	out := make([]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = types.PinStatus{Status: cmp.Or(f.statusNow(), "pinned"), Error: c.String()}
	}
	return out
}

func (f *fakeLocal) statusNow() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeLocal) setStatus(st string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = st
}

func (f *fakeLocal) WaitSettled(ctx context.Context, _ cid.Cid) {
	select {
	case f.settling <- struct{}{}:
	default:
	}
	select {
	case <-f.settle:
	case <-ctx.Done():
	}
}

func (f *fakeLocal) LocalStatuses(ctx context.Context, fn func(cid.Cid, types.PinStatus) error) error {
	for _, s := range f.streamed {
		if err := fn(s.c, s.st); err != nil {
			return err
		}
	}
	return f.err
}

var _ Local = (*fakeLocal)(nil)

func testCid(i int) cid.Cid {
	h, _ := multihash.Sum([]byte(fmt.Sprint(i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, h)
}

// serve serves local to members: callers that proved the cluster secret.
func serve(t *testing.T, local Local) (*Client, string) {
	t.Helper()
	return serveTo(t, local, CallerMember)
}

// serveTo serves local to callers of the given kind.
func serveTo(t *testing.T, local Local, caller Caller) (*Client, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(NewService(local))
	srv.Config.ConnContext = ConnContext(func(net.Conn) bool { return caller == CallerMember })
	srv.Start()
	t.Cleanup(srv.Close)
	var d net.Dialer
	client := NewClient(func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	})
	return client, strings.TrimPrefix(srv.URL, "http://")
}

func TestApplyCarriesTheOpsAndReturnsTheIndex(t *testing.T) {
	local := &fakeLocal{}
	client, addr := serve(t, local)
	ops := []storage.Op{{Kind: storage.OpPin, Pin: storage.Pin{Cid: testCid(1), Name: "one"}}, {Kind: storage.OpUnpin, Pin: storage.Pin{Cid: testCid(2)}}}
	idx, err := client.Apply(context.Background(), addr, ops)
	if err != nil || idx != 42 {
		t.Fatalf("Apply = %d, %v; want 42, nil", idx, err)
	}
	if len(local.ops) != 2 || !local.ops[0].Pin.Cid.Equals(testCid(1)) || local.ops[0].Pin.Name != "one" || local.ops[1].Kind != storage.OpUnpin {
		t.Fatalf("the leader got %+v", local.ops)
	}
}

func TestSentinelErrorsKeepTheirIdentityAcrossTheWire(t *testing.T) {
	for _, want := range []error{raft.ErrNotLeader, types.ErrRemoved, types.ErrNoLeader, types.ErrUnknownPeer, storage.ErrNotFound, types.ErrReadOnlyFollower, types.ErrOnlyVoter} {
		local := &fakeLocal{err: fmt.Errorf("wrapped: %w", want)}
		client, addr := serve(t, local)
		err := client.Join(context.Background(), addr, storage.Peer{ID: "p", ClusterAddr: "127.0.0.1:1"}, nil)
		if !errors.Is(err, want) {
			t.Errorf("Join failing with %q came back as %v, which is not the sentinel", want, err)
		}
		if err != nil && !strings.Contains(err.Error(), "wrapped") {
			t.Errorf("the remote message was lost: %v", err)
		}
	}
	local := &fakeLocal{err: errors.New("disk full")}
	client, addr := serve(t, local)
	if _, err := client.RepoStat(context.Background(), addr); err == nil || err.Error() != "disk full" {
		t.Fatalf("a plain error came back as %v", err)
	}
}

func TestAnUnreachablePeerIsReportedAsSuch(t *testing.T) {
	client, addr := serve(t, &fakeLocal{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	if err := client.Metrics(context.Background(), dead, nil); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("a call to a closed port = %v, want ErrUnreachable", err)
	}
	if err := client.Metrics(context.Background(), addr, nil); err != nil {
		t.Fatal(err)
	}
}

func TestStatusesAreAskedInBoundedBatchesAndComeBackInOrder(t *testing.T) {
	local := &fakeLocal{}
	client, addr := serve(t, local)
	cids := make([]cid.Cid, MaxStatusBatch+5)
	for i := range cids {
		cids[i] = testCid(i)
	}
	sts, err := client.Statuses(context.Background(), addr, 0, cids)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != len(cids) {
		t.Fatalf("%d statuses for %d CIDs", len(sts), len(cids))
	}
	for i, st := range sts {
		if st.Error != cids[i].String() {
			t.Fatalf("status %d is of %s, want %s", i, st.Error, cids[i])
		}
	}
	if len(local.statusOf) != 2 || len(local.statusOf[0]) != MaxStatusBatch || len(local.statusOf[1]) != 5 {
		t.Fatalf("batches asked: %d", len(local.statusOf))
	}
}

func TestRecoverAndIDRoundTrip(t *testing.T) {
	local := &fakeLocal{}
	client, addr := serve(t, local)
	if err := client.Recover(context.Background(), addr, testCid(9)); err != nil {
		t.Fatal(err)
	}
	if len(local.recovered) != 1 || !local.recovered[0].Equals(testCid(9)) {
		t.Fatalf("recovered %v", local.recovered)
	}
	id, err := client.ID(context.Background(), addr)
	if err != nil || id.ID != "peer-a" || id.Peername != "a" {
		t.Fatalf("ID = %+v, %v", id, err)
	}
}

func TestBadRequestsAreRefused(t *testing.T) {
	local := &fakeLocal{}
	client, addr := serve(t, local)
	if err := client.Join(context.Background(), addr, storage.Peer{}, nil); err == nil {
		t.Fatal("a join without a peer ID was accepted")
	}
	if len(local.joined) != 0 {
		t.Fatal("a bad join reached the peer")
	}
	if err := client.call(context.Background(), "POST", addr, "/v1/apply", []byte("garbage"), nil); err == nil {
		t.Fatal("a garbage command was accepted")
	}
	if len(local.ops) != 0 {
		t.Fatal("a garbage command reached the leader")
	}
}

func TestAStatusAskedAfterAWaitsForThatIndex(t *testing.T) {
	local := &fakeLocal{streamed: []streamedStatus{{testCid(1), types.PinStatus{Status: types.StatusRemote}}}}
	client, addr := serve(t, local)
	ctx := context.Background()
	if _, err := client.Statuses(ctx, addr, 0, []cid.Cid{testCid(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Statuses(ctx, addr, 17, []cid.Cid{testCid(1)}); err != nil {
		t.Fatal(err)
	}
	if err := client.StatusStream(ctx, addr, 18, func([]StatusEntry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(local.waitedFor, []uint64{17, 18}) {
		t.Fatalf("the peer waited for %v, want [17 18] (nothing for a status asked after no write)", local.waitedFor)
	}
	local.notApplied = errors.New("behind its leader")
	if _, err := client.Statuses(ctx, addr, 19, []cid.Cid{testCid(1)}); err == nil || !strings.Contains(err.Error(), "behind its leader") {
		t.Fatalf("a peer that cannot reach the index answered %v, want its error", err)
	}
	if err := client.StatusStream(ctx, addr, 19, func([]StatusEntry) error { return nil }); err == nil {
		t.Fatal("a status stream from a peer that cannot reach the index succeeded")
	}
}

// A status asked to wait for its pin to settle is answered once it has,
// not with what the peer knew when asked; one that never settles, once the
// wait has passed.
func TestAStatusAskedToSettleIsAnsweredOnceItSettled(t *testing.T) {
	local := &fakeLocal{status: "pinning", settling: make(chan struct{}, 1), settle: make(chan struct{})}
	client, addr := serve(t, local)
	answer := make(chan types.PinStatus, 1)
	go func() {
		st, err := client.SettledStatus(context.Background(), addr, 0, testCid(1), time.Minute)
		if err != nil {
			st.Status = err.Error()
		}
		answer <- st
	}()
	select {
	case st := <-answer:
		t.Fatalf("answered %q before the pin settled", st.Status)
	case <-local.settling:
	}
	local.setStatus("pinned")
	close(local.settle)
	if st := <-answer; st.Status != "pinned" {
		t.Fatalf("answered %q once the pin settled, want pinned", st.Status)
	}

	unsettled := &fakeLocal{status: "pinning"}
	client, addr = serve(t, unsettled)
	st, err := client.SettledStatus(context.Background(), addr, 0, testCid(1), 50*time.Millisecond)
	if err != nil || st.Status != "pinning" {
		t.Fatalf("a status that never settled: %+v, %v; want pinning once the wait passed", st, err)
	}
}

// A status call whose index or wait is not a number is refused as a bad
// request, before it waits for anything.
func TestAStatusCallWithAMalformedHeaderIsABadRequest(t *testing.T) {
	_, addr := serve(t, &fakeLocal{})
	for _, header := range []string{readAfterHeader, waitSettledHeader} {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/statuses", strings.NewReader(`["`+testCid(1).String()+`"]`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(header, "soon")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: soon answered %d, want 400", header, res.StatusCode)
		}
	}
}
