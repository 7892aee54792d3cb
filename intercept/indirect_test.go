package intercept

import (
	"context"
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
