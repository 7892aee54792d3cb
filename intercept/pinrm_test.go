package intercept

import (
	"fmt"
	"slices"
	"testing"
)

func TestPinRm(t *testing.T) {
	a, b, c := testCid(1), testCid(2), testCid(3)
	f := newFakeCluster(recursivePin(a, ""), directPin(b, ""), recursivePin(c, ""))
	h := newTestHandlers(t, f, nil, "", true)

	res := post(t, h, "/api/v0/pin/rm?arg=/ipfs/"+a.String(), nil)
	checkGolden(t, res, 200, kuboHeaders(), fmt.Sprintf(`{"Pins":["%s"]}`+"\n", a))

	// Absent: boxo's ErrNotPinned text, which clients match.
	res = post(t, h, "/api/v0/pin/rm?arg="+a.String(), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"not pinned or pinned indirectly","Code":0,"Type":"error"}`+"\n")

	// recursive=false removes direct pins only.
	res = post(t, h, "/api/v0/pin/rm/"+c.String()+"?recursive=false", nil)
	checkGolden(t, res, 500, kuboHeaders(),
		fmt.Sprintf(`{"Message":"%s is pinned recursively","Code":0,"Type":"error"}`+"\n", c))
	res = post(t, h, "/api/v0/pin/rm/"+b.String()+"?r=false&encoding=text", nil)
	if body := readBody(t, res); body != fmt.Sprintf("unpinned %s\n", b) {
		t.Errorf("text body %q", body)
	}
	if _, ok := f.Stored(c); !ok {
		t.Error("recursive pin removed by recursive=false")
	}
	res = post(t, h, "/api/v0/pin/rm?r=false&arg="+testCid(7).String(), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"not pinned or pinned indirectly","Code":0,"Type":"error"}`+"\n")
}

func TestPinRmStopsAtFirstFailure(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, ""))
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/rm?arg="+a.String()+"&arg="+b.String()+"&arg="+a.String(), nil)
	if res.StatusCode != 500 {
		t.Fatalf("status %d", res.StatusCode)
	}
	// b, not pinned, stops the command before anything is removed after
	// it: the third argument, a again, is not removed twice.
	want := []string{"unpin " + a.String()}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	c := testCid(3)
	f.Put(recursivePin(a, ""), recursivePin(c, ""))
	post(t, h, "/api/v0/pin/rm?arg="+a.String()+"&arg="+b.String()+"&arg="+c.String(), nil)
	if _, ok := f.Stored(c); !ok {
		t.Error("an argument after one not pinned was unpinned; Kubo stops at the first failure")
	}
	res = post(t, h, "/api/v0/pin/rm", nil)
	if body := readBody(t, res); res.StatusCode != 400 || body != "argument \"ipfs-path\" is required\n" {
		t.Errorf("no arg: %d %q", res.StatusCode, body)
	}
}

func TestPinRmCidBaseAndClusterErrors(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster(recursivePin(a, ""))
	h := newTestHandlers(t, f, nil, "", true)
	f.FailUnpin(errNoLeader)
	res := post(t, h, "/api/v0/pin/rm?arg="+a.String(), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"no leader","Code":0,"Type":"error"}`+"\n")
	f.FailUnpin(nil)
	res = post(t, h, "/api/v0/pin/rm?cid-base=base32&arg="+a.String(), nil)
	want := fmt.Sprintf(`{"Pins":["%s"]}`+"\n", mustV1(a))
	if body := readBody(t, res); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}
