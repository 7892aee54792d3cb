package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/storage"
)

type testPinPage struct {
	Total int `json:"total"`
	Pins  []struct {
		Cid                  string                    `json:"cid"`
		Name                 string                    `json:"name"`
		Allocations          []string                  `json:"allocations"`
		ReplicationFactorMin int                       `json:"replication_factor_min"`
		ReplicationFactorMax int                       `json:"replication_factor_max"`
		PeerMap              map[string]map[string]any `json:"peer_map"`
	} `json:"pins"`
	Next    string `json:"next"`
	Scanned int    `json:"scanned"`
}

func (e *testEnv) pinPage(t *testing.T, query url.Values) testPinPage {
	t.Helper()
	var page testPinPage
	if err := json.Unmarshal(e.get("/ui/pins?"+query.Encode()).wantStatus(t, http.StatusOK).body, &page); err != nil {
		t.Fatal(err)
	}
	return page
}

// putPins adds n pins named name-i, replicated twice on the first peers.
func putPins(e *testEnv, name string, from, n int) []cid.Cid {
	var cids []cid.Cid
	for i := from; i < from+n; i++ {
		c := fakecluster.Cid(i)
		e.fc.add(storage.Pin{Cid: c, Name: fmt.Sprintf("%s-%d", name, i), ReplicationFactorMin: 2, ReplicationFactorMax: 2,
			Allocations: e.fc.PeerIDs()[:2]})
		cids = append(cids, c)
	}
	slices.SortFunc(cids, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
	return cids
}

// Following `next` visits every pin once, in CID order, a page at a time,
// each with every peer's status; the last page says it is the last.
func TestPinPagesWalkThePinset(t *testing.T) {
	e := newEnv(t, Config{})
	want := putPins(e, "photo", 0, 100)
	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page := e.pinPage(t, url.Values{"limit": {"40"}, "after": {after}})
		if page.Total != 100 {
			t.Fatalf("total %d", page.Total)
		}
		sizes = append(sizes, len(page.Pins))
		for _, p := range page.Pins {
			got = append(got, p.Cid)
			if len(p.PeerMap) != 3 || p.PeerMap[e.fc.PeerIDs()[0]]["status"] != "pinned" || p.ReplicationFactorMax != 2 || len(p.Allocations) != 2 {
				t.Fatalf("pin %+v", p)
			}
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if !slices.Equal(sizes, []int{40, 40, 20}) {
		t.Errorf("page sizes %v, want 40 40 20", sizes)
	}
	wantStr := make([]string, len(want))
	for i, c := range want {
		wantStr[i] = c.String()
	}
	if !slices.Equal(got, wantStr) {
		t.Errorf("the pages listed %d pins, not the pinset's 100 in CID order", len(got))
	}

	// A last page that is exactly full still says it is the last.
	page := e.pinPage(t, url.Values{"limit": {"20"}, "after": {wantStr[79]}})
	if len(page.Pins) != 20 || page.Next != "" {
		t.Errorf("the last 20 pins: %d pins, next %q", len(page.Pins), page.Next)
	}
}

func TestPinPageSearch(t *testing.T) {
	e := newEnv(t, Config{})
	photos := putPins(e, "Holiday-Photos", 0, 5)
	putPins(e, "docs", 5, 5)

	page := e.pinPage(t, url.Values{"q": {"holiday-photos"}})
	if len(page.Pins) != 5 || page.Next != "" || page.Scanned != 10 {
		t.Errorf("a name in another case: %d pins, next %q, scanned %d", len(page.Pins), page.Next, page.Scanned)
	}
	for _, p := range page.Pins {
		if !slices.ContainsFunc(photos, func(c cid.Cid) bool { return c.String() == p.Cid }) {
			t.Errorf("search for photos found %s (%s)", p.Cid, p.Name)
		}
	}
	// A CID is looked up, whatever the cursor.
	page = e.pinPage(t, url.Values{"q": {photos[3].String()}, "after": {photos[4].String()}})
	if len(page.Pins) != 1 || page.Pins[0].Cid != photos[3].String() || page.Next != "" {
		t.Errorf("lookup of a CID: %+v", page)
	}
	if page = e.pinPage(t, url.Values{"q": {testCid(t, "not pinned").String()}}); len(page.Pins) != 0 {
		t.Errorf("lookup of an unknown CID: %+v", page)
	}
	// Part of a CID matches too.
	part := photos[2].String()[20:32]
	if page = e.pinPage(t, url.Values{"q": {part}}); len(page.Pins) != 1 || page.Pins[0].Cid != photos[2].String() {
		t.Errorf("search for %q: %+v", part, page)
	}
}

// A search that matches little reads a bounded part of the pinset per
// request and says where to go on, so that no request scans a huge pinset
// whole.
func TestPinSearchReadsABoundedPartPerRequest(t *testing.T) {
	e := newEnv(t, Config{})
	cids := putPins(e, "filler", 0, searchBudget+10)
	needle := cids[len(cids)-1]
	e.fc.add(storage.Pin{Cid: needle, Name: "the needle", ReplicationFactorMin: -1, ReplicationFactorMax: -1})

	first := e.pinPage(t, url.Values{"q": {"needle"}})
	if len(first.Pins) != 0 || first.Scanned != searchBudget || first.Next == "" {
		t.Fatalf("first request: %d pins, scanned %d, next %q", len(first.Pins), first.Scanned, first.Next)
	}
	rest := e.pinPage(t, url.Values{"q": {"needle"}, "after": {first.Next}})
	if len(rest.Pins) != 1 || rest.Pins[0].Name != "the needle" || rest.Next != "" || rest.Scanned != 10 {
		t.Fatalf("second request: %+v", rest)
	}
}

func TestPinPageRefusesBadInput(t *testing.T) {
	e := newEnv(t, Config{})
	for _, q := range []string{"limit=0", "limit=501", "limit=ten"} {
		e.get("/ui/pins?"+q).wantError(t, http.StatusBadRequest, "limit must be a number from 1 to 500")
	}
	e.get("/ui/pins?after=nope").wantError(t, http.StatusBadRequest, "error decoding Cid")
	e.fc.FailList(errors.New("disk on fire"), 0)
	e.get("/ui/pins").wantError(t, http.StatusInternalServerError, "disk on fire")
}
