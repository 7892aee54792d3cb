package pinsvc

import (
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multibase"

	"github.com/flotilla-ipfs/flotilla/storage"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// ts is pin i's created time, with nanoseconds so that precision is tested.
func ts(i int) time.Time { return base.Add(time.Duration(i)*time.Second + 500) }

// seeded is an API over six pins, created in index order.
func seeded(t *testing.T) *api {
	a := newAPI(t)
	for i, p := range []struct {
		name, status string
		meta         map[string]string
	}{
		{"Alpha", "pinned", map[string]string{"app": "x"}},
		{"alpha", "pinned", map[string]string{"app": "y"}},
		{"beta alpha", "pin_queued", nil},
		{"gamma", "pinning", nil},
		{"", "pin_error", nil},
		{"Alpha", "pinned", map[string]string{"app": "x", "v": "1"}},
	} {
		a.fake.put(storage.Pin{Cid: testCid(i), Name: p.name, Metadata: p.meta, Timestamp: ts(i)}, p.status)
	}
	return a
}

// ls sends a GET /pins encoded as Kubo does (url.Values: commas as %2C).
func (a *api) ls(q url.Values) response {
	a.t.Helper()
	return a.do("GET", "/pins?"+q.Encode(), nil)
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

const all = "queued,pinning,pinned,failed"

func TestListFilters(t *testing.T) {
	a := seeded(t)
	b36, _ := testCid(0).StringOfBase(multibase.Base36)
	plus2 := ts(3).In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []int
		count int
	}{
		{"default is pinned only", q(), []int{5, 1, 0}, 3},
		{"status list", q("status", "queued,pinning"), []int{3, 2}, 2},
		{"status repeated", q("status", "queued", "status", "failed"), []int{4, 2}, 2},
		{"every status", q("status", all), []int{5, 4, 3, 2, 1, 0}, 6},
		{"limit keeps the newest, count all", q("limit", "2"), []int{5, 1}, 3},
		{"limit 1 as --stat", q("limit", "1", "status", "queued"), []int{2}, 1},
		{"name exact", q("name", "Alpha"), []int{5, 0}, 2},
		{"name exact explicit", q("name", "Alpha", "match", "exact"), []int{5, 0}, 2},
		{"name iexact", q("name", "ALPHA", "match", "iexact"), []int{5, 1, 0}, 3},
		{"name partial", q("name", "alpha", "match", "partial", "status", all), []int{2, 1}, 2},
		{"name ipartial", q("name", "ALPHA", "match", "ipartial", "status", all), []int{5, 2, 1, 0}, 4},
		{"cids, one absent", q("cid", testCid(0).String()+","+testCid(3).String()+","+testCid(99).String(), "status", all), []int{3, 0}, 2},
		{"cid with the status filter", q("cid", testCid(0).String()+","+testCid(3).String()), []int{0}, 1},
		{"cid in another base, repeated", q("cid", b36, "cid", testCid(0).String()), []int{0}, 1},
		{"before is strict", q("before", ts(3).Format(time.RFC3339Nano), "status", all), []int{2, 1, 0}, 3},
		{"before with an offset", q("before", plus2, "status", all), []int{2, 1, 0}, 3},
		{"after is strict", q("after", ts(3).Format(time.RFC3339Nano), "status", all), []int{5, 4}, 2},
		{"between", q("after", ts(1).Format(time.RFC3339Nano), "before", ts(4).Format(time.RFC3339Nano), "status", all), []int{3, 2}, 2},
		{"count includes before", q("before", ts(5).Format(time.RFC3339Nano), "limit", "1"), []int{1}, 2},
		{"meta", q("meta", `{"app":"x"}`), []int{5, 0}, 2},
		{"meta all pairs", q("meta", `{"app":"x","v":"1"}`), []int{5}, 1},
		{"meta empty", q("meta", `{}`), []int{5, 1, 0}, 3},
		{"nothing matches", q("name", "delta"), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.ls(tc.query)
			res := r.results(t)
			var got []int
			for _, ps := range res.Results {
				got = append(got, indexOf(t, ps.Pin.Cid))
				if ps.RequestID != ps.Pin.Cid {
					t.Fatalf("requestid %s for cid %s", ps.RequestID, ps.Pin.Cid)
				}
			}
			if !slices.Equal(got, tc.want) || int(res.Count) != tc.count {
				t.Fatalf("got %v count %d, want %v count %d", got, res.Count, tc.want, tc.count)
			}
			if tc.want == nil && !strings.Contains(string(r.body), `"results":[]`) {
				t.Fatalf("empty result must be an array: %s", r.body)
			}
		})
	}
}

func indexOf(t *testing.T, s string) int {
	t.Helper()
	for i := range 100 {
		if testCid(i).String() == s {
			return i
		}
	}
	t.Fatalf("unknown cid %s", s)
	return -1
}

func TestListStatusesComeFromPeers(t *testing.T) {
	a := seeded(t)
	for _, ps := range a.ls(q("status", all)).results(t).Results {
		want := map[int]string{0: pinned, 1: pinned, 2: queued, 3: pinning, 4: failed, 5: pinned}[indexOf(t, ps.Pin.Cid)]
		if ps.Status != want {
			t.Fatalf("%s is %s, want %s", ps.Pin.Cid, ps.Status, want)
		}
		if !ps.Created.Equal(ts(indexOf(t, ps.Pin.Cid))) {
			t.Fatalf("created %s lost precision", ps.Created)
		}
	}
}

func TestListRefusesBadFilters(t *testing.T) {
	a := seeded(t)
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, testCid(i).String())
	}
	for _, tc := range []struct {
		query   url.Values
		details string
	}{
		{q("status", "done"), `"done" is not one of`},
		{q("status", ""), "no status given"},
		{q("limit", "0"), "from 1 to 1000"},
		{q("limit", "1001"), "from 1 to 1000"},
		{q("limit", "ten"), "from 1 to 1000"},
		{q("before", "yesterday"), "before: \"yesterday\" is not an RFC 3339"},
		{q("after", "2024-05-01"), "after:"},
		{q("match", "fuzzy"), "match:"},
		{q("meta", "app=x"), "meta filter"},
		{q("meta", `{"n":1}`), "meta filter"},
		{q("meta", `null`), "meta filter"},
		{q("cid", "nope"), `invalid cid "nope"`},
		{q("cid", ""), "no CID given"},
		{q("cid", strings.Join(eleven, ",")), "11 CIDs, more than the 10"},
		{q("name", strings.Repeat("n", 256)), "256 characters"},
	} {
		details := a.ls(tc.query).failure(t, http.StatusBadRequest, "BAD_REQUEST")
		if !strings.Contains(details, tc.details) {
			t.Errorf("%s: details %q lack %q", tc.query.Encode(), details, tc.details)
		}
	}
}

// kuboLs pages through GET /pins exactly as Kubo's client does: it stops
// when count equals the page length, and otherwise asks again with before
// set to the last result's created, parsed and re-formatted.
func (a *api) kuboLs(filters url.Values) []kuboPinStatus {
	a.t.Helper()
	var out []kuboPinStatus
	query := filters
	for range 100 {
		res := a.ls(query).results(a.t)
		out = append(out, res.Results...)
		if int(res.Count) == len(res.Results) {
			return out
		}
		if len(res.Results) == 0 {
			a.t.Fatalf("invalid pinning service response: PinResults.count=%d but no PinResults.results", res.Count)
		}
		query = url.Values{}
		for k, v := range filters {
			query[k] = v
		}
		query.Set("before", res.Results[len(res.Results)-1].Created.Format(time.RFC3339Nano))
	}
	a.t.Fatal("pagination did not end")
	return nil
}

func TestKuboPaginationListsEveryPinOnce(t *testing.T) {
	a := newAPI(t)
	var want []storage.Pin
	for i := range 25 {
		p := storage.Pin{Cid: testCid(i), Timestamp: ts(i)}
		// Equal timestamps straddling the first page boundary, as pins
		// imported with second precision have: a strict `before` cursor
		// must not skip the rest of the run.
		if i >= 12 && i <= 16 {
			p.Timestamp = ts(14)
		}
		a.fake.put(p, "pinned")
		want = append(want, p)
	}
	sort.Slice(want, func(i, j int) bool {
		return newer(&entry{pin: want[i]}, &entry{pin: want[j]})
	})
	got := a.kuboLs(q("limit", "10", "status", all))
	if len(got) != len(want) {
		t.Fatalf("listed %d pins, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Pin.Cid != want[i].Cid.String() {
			t.Fatalf("item %d is %s, want %s", i, got[i].Pin.Cid, want[i].Cid)
		}
	}
	// `ipfs pin remote service ls --stat` reads count alone.
	if c := a.ls(q("limit", "1", "status", "pinned")).results(t).Count; c != 25 {
		t.Fatalf("--stat count %d, want 25", c)
	}
}

func TestAPageIsCutOnlyInsideAnUnsplittableRun(t *testing.T) {
	e := func(sec int) entry {
		return entry{pin: storage.Pin{Timestamp: base.Add(time.Duration(sec) * time.Second)}}
	}
	// Sorted newest first, one past a page of 3.
	if got := pageOf([]entry{e(9), e(8), e(7), e(7)}, 3); len(got) != 2 {
		t.Fatalf("page of %d, want the run of 7s left for the next page", len(got))
	}
	if got := pageOf([]entry{e(9), e(8), e(7), e(6)}, 3); len(got) != 3 {
		t.Fatalf("page of %d, want 3", len(got))
	}
	if got := pageOf([]entry{e(7), e(7), e(7), e(7)}, 3); len(got) != 3 {
		t.Fatalf("page of %d: a run longer than the page must still fill it", len(got))
	}
}

// TestListStreamsALargePinset lists 50k pins whose order in List has
// nothing to do with their age, each carrying 1 KiB, and checks the live
// heap while they stream: holding them would take over 50 MiB.
func TestListStreamsALargePinset(t *testing.T) {
	if testing.Short() {
		t.Skip("50k pins")
	}
	const n = 50000
	age := func(i int) int { return (i * 7919) % n } // a permutation: 7919 is prime
	var newest []int
	for i := range n {
		if age(i) >= n-10 {
			newest = append(newest, i)
		}
	}
	sort.Slice(newest, func(i, j int) bool { return age(newest[i]) > age(newest[j]) })
	var want []string
	for _, i := range newest {
		want = append(want, testCid(i).String())
	}

	a := newAPI(t)
	var peak, start uint64
	a.fake.GenerateList(func(fn func(storage.Pin) error) error {
		start, peak = liveHeap(), 0
		for i := range n {
			if i%10000 == 9999 {
				peak = max(peak, liveHeap())
			}
			p := storage.Pin{
				Cid:       testCid(i),
				Timestamp: base.Add(time.Duration(age(i)) * time.Millisecond),
				Metadata:  map[string]string{"pad": strings.Repeat("x", 1024)},
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	})
	for _, status := range []string{all, queued} {
		a.fake.ResetPeerMapCalls()
		res := a.ls(q("limit", "10", "status", status)).results(t)
		if res.Count != n || len(res.Results) != 10 {
			t.Fatalf("status %s: count %d, %d results; want %d, 10", status, res.Count, len(res.Results), n)
		}
		for i, ps := range res.Results {
			if ps.Pin.Cid != want[i] {
				t.Fatalf("status %s: result %d is %s, want %s", status, i, ps.Pin.Cid, want[i])
			}
		}
		if grew := int64(peak) - int64(start); grew > 16<<20 {
			t.Fatalf("status %s: live heap grew by %d MiB while listing: pins are being held", status, grew>>20)
		}
		// Without a status filter to apply, only the page's pins need their peers asked.
		if calls := a.fake.PeerMapCalls(); status == all && calls != 10 {
			t.Fatalf("%d peer map queries for a page of 10", calls)
		}
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
