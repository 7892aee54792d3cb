package intercept

import (
	"fmt"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// twoPeerCluster is an inner cluster of two peers holding failed (pinned
// on no node) and held (pinned on one of the two) recursive pins.
func twoPeerCluster(failed, held storage.Pin) *fakecluster.Cluster {
	f := newFakeCluster(failed, held)
	f.SetPeers(types.ID{ID: "a"}, types.ID{ID: "b"})
	for _, peer := range []string{"a", "b"} {
		f.SetStatus(failed.Cid, peer, string(storage.StatusPinError))
	}
	f.SetStatus(held.Cid, "a", string(storage.StatusPinned))
	f.SetStatus(held.Cid, "b", string(storage.StatusPinError))
	return f
}

// A Kubo user's pin ls answers from the pinset, as pin add promised; the
// tracker of an outer cluster (whose IPFS node this proxy is) asks what is
// held, and a pin that failed on every peer is not.
func TestPinLsAnswersWhatIsHeldToACallerThatAsks(t *testing.T) {
	failed, held := recursivePin(testCid(1), ""), recursivePin(testCid(2), "")
	h := newTestHandlers(t, twoPeerCluster(failed, held), &fakeResolver{}, "", true)
	asksHeld := []string{ipfs.HeldHeader, "true"}

	for _, typ := range []string{"recursive", "all"} {
		target := fmt.Sprintf("/api/v0/pin/ls?type=%s&arg=%s", typ, failed.Cid)
		if body := readBody(t, post(t, h, target, nil)); body != keysAnswer(failed, "recursive") {
			t.Errorf("a Kubo user's pin ls (type=%s) of a committed pin: %s", typ, body)
		}
		res := post(t, h, target, nil, asksHeld...)
		want := fmt.Sprintf(`{"Message":"path '%s' is not pinned","Code":0,"Type":"error"}`+"\n", failed.Cid)
		if body := readBody(t, res); res.StatusCode != 500 || body != want {
			t.Errorf("pin ls (type=%s) of a pin no node holds, asking what is held: %d %s", typ, res.StatusCode, body)
		}
		target = fmt.Sprintf("/api/v0/pin/ls?type=%s&arg=%s", typ, held.Cid)
		if body := readBody(t, post(t, h, target, nil, asksHeld...)); body != keysAnswer(held, "recursive") {
			t.Errorf("pin ls (type=%s) of a pin one node holds, asking what is held: %s", typ, body)
		}
	}

	listing := readBody(t, post(t, h, "/api/v0/pin/ls?type=recursive&stream=true", nil, asksHeld...))
	if want := `{"Cid":"` + held.Cid.String() + `","Type":"recursive"}` + "\n"; listing != want {
		t.Errorf("listing of what is held:\n%s\nwant:\n%s", listing, want)
	}
	listing = readBody(t, post(t, h, "/api/v0/pin/ls?type=recursive&stream=true", nil))
	if want := `{"Cid":"` + failed.Cid.String() + `","Type":"recursive"}` + "\n" +
		`{"Cid":"` + held.Cid.String() + `","Type":"recursive"}` + "\n"; listing != want {
		t.Errorf("a Kubo user's listing:\n%s\nwant:\n%s", listing, want)
	}
}

func keysAnswer(p storage.Pin, typ string) string {
	return `{"Keys":{"` + p.Cid.String() + `":{"Type":"` + typ + `","Name":""}}}` + "\n"
}
