package intercept

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// indirectResolver is an upstream whose recursive pins have children.
type indirectResolver struct {
	fakeResolver
	children []cid.Cid
	root     cid.Cid
}

func (r *indirectResolver) PinLs(_ context.Context, typ string, fn func(cid.Cid, string) error) error {
	for _, c := range r.children {
		if err := fn(c, "indirect"); err != nil {
			return err
		}
	}
	return nil
}

func (r *indirectResolver) IndirectRoot(_ context.Context, c cid.Cid) (string, bool, error) {
	for _, ch := range r.children {
		if ch.Equals(c) {
			return "indirect through " + r.root.String(), true, nil
		}
	}
	return "", false, nil
}

func TestPinLsAddsTheNodesIndirectPinsOnce(t *testing.T) {
	root, kid, alsoRoot := testCid(1), testCid(2), testCid(3)
	f := newFakeCluster(recursivePin(root, "r"), directPin(alsoRoot, ""))
	r := &indirectResolver{children: []cid.Cid{kid, alsoRoot}, root: root}
	h := newTestHandlers(t, f, r, "", true)

	body := readBody(t, post(t, h, "/api/v0/pin/ls?stream=true", nil))
	want := `{"Cid":"` + root.String() + `","Type":"recursive"}` + "\n" +
		`{"Cid":"` + alsoRoot.String() + `","Type":"direct"}` + "\n" +
		`{"Cid":"` + kid.String() + `","Type":"indirect"}` + "\n"
	if body != want {
		t.Fatalf("pin ls:\n%s\nwant (a CID once, roots first):\n%s", body, want)
	}
	if body := readBody(t, post(t, h, "/api/v0/pin/ls?type=recursive&stream=true", nil)); strings.Contains(body, "indirect") {
		t.Fatalf("type=recursive listed indirect pins: %s", body)
	}
	body = readBody(t, post(t, h, "/api/v0/pin/ls?arg="+kid.String(), nil))
	if want := `{"Keys":{"` + kid.String() + `":{"Type":"indirect through ` + root.String() + `","Name":""}}}` + "\n"; body != want {
		t.Fatalf("pin ls of a child:\n%s\nwant:\n%s", body, want)
	}
	if res := post(t, h, "/api/v0/pin/ls?arg="+testCid(9).String(), nil); res.StatusCode != 500 || !strings.Contains(readBody(t, res), "is not pinned") {
		t.Fatal("a CID pinned nowhere must still be 'not pinned'")
	}
}

// blockingResolver holds its indirect listing until released.
type blockingResolver struct {
	fakeResolver
	release chan struct{}
}

func (r *blockingResolver) PinLs(ctx context.Context, _ string, _ func(cid.Cid, string) error) error {
	select {
	case <-r.release:
	case <-ctx.Done():
	}
	return nil
}

// The stream gathers lines into large writes, but the cluster's roots
// still reach the client while the node walks its DAGs for the indirect
// pins, as they do from Kubo.
func TestPinLsStreamSendsRootsBeforeTheNodesIndirectPins(t *testing.T) {
	root := testCid(1)
	r := &blockingResolver{release: make(chan struct{})}
	srv := httptest.NewServer(newTestHandlers(t, newFakeCluster(recursivePin(root, "")), r, "", true))
	defer srv.Close()
	defer close(r.release)

	res, err := http.Post(srv.URL+"/api/v0/pin/ls?stream=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Cid":"` + root.String() + `","Type":"recursive"}` + "\n"; line != want {
		t.Fatalf("first line %q, want %q", line, want)
	}
}

// pin ls shows the cluster's pins: a CID under a root that only the node's
// user pinned is not indirectly pinned through the proxy, as that root is
// not pinned through it either.
func TestPinLsOfAChildOfARootOutsideThePinsetIsNotPinned(t *testing.T) {
	userRoot, kid := testCid(1), testCid(2)
	r := &indirectResolver{children: []cid.Cid{kid}, root: userRoot}
	h := newTestHandlers(t, newFakeCluster(recursivePin(testCid(3), "")), r, "", true)

	for _, arg := range []string{userRoot.String(), kid.String()} {
		for _, typ := range []string{"all", "indirect"} {
			res := post(t, h, "/api/v0/pin/ls?type="+typ+"&arg="+arg, nil)
			want := `{"Message":"path '` + arg + `' is not pinned","Code":0,"Type":"error"}` + "\n"
			if body := readBody(t, res); res.StatusCode != 500 || body != want {
				t.Errorf("pin ls --type=%s %s: %d %s\nwant 500 %s", typ, arg, res.StatusCode, body, want)
			}
		}
	}
}
