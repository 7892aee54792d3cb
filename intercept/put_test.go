package intercept

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestBlockAndDagPut(t *testing.T) {
	k1, k2 := rawCid("x"), rawCid("y")
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/api/v0/block/put":
			kuboStream(w, fmt.Sprintf(`{"Key":"%s","Size":1}`, k1), fmt.Sprintf(`{"Key":"%s","Size":1}`, k2))
		case "/api/v0/dag/put":
			kuboStream(w, fmt.Sprintf(`{"Cid":{"/":"%s"}}`, k1))
		}
	})
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, false)
	body, ct := addBody(t)

	res := post(t, h, "/api/v0/block/put?cid-codec=raw&pin=true&replication=-1", bytes.NewReader(body), "Content-Type", ct)
	readBody(t, res)
	if q := up.lastCall(t).query; q != "cid-codec=raw&pin=false" {
		t.Errorf("block/put query %q", q)
	}
	for _, c := range []cid.Cid{k1, k2} {
		if p, ok := f.Stored(c); !ok || p.ReplicationFactorMin != -1 || p.ReplicationFactorMax != -1 {
			t.Errorf("%s: %+v %v", c, p, ok)
		}
	}

	f2 := newFakeCluster()
	h = newTestHandlers(t, f2, nil, up.srv.URL, false)
	res = post(t, h, "/api/v0/dag/put?pin=1", bytes.NewReader(body), "Content-Type", ct)
	readBody(t, res)
	if q := up.lastCall(t).query; q != "pin=false" {
		t.Errorf("dag/put query %q", q)
	}
	if _, ok := f2.Stored(k1); !ok {
		t.Error("dag/put not pinned")
	}
	// block/put pins nothing by default: forwarded unchanged.
	res = post(t, h, "/api/v0/block/put", bytes.NewReader(body), "Content-Type", ct)
	readBody(t, res)
	if q := up.lastCall(t).query; q != "" || len(f2.Calls()) != 1 {
		t.Errorf("plain block/put: query %q calls %v", q, f2.Calls())
	}
}

func TestDagImportEmitsRootLines(t *testing.T) {
	r1, r2, r3 := rawCid("a"), rawCid("b"), rawCid("c")
	upload, ct := carUpload(t, carV1(t, []cid.Cid{r1, r2}, "a", "b"), carV2(carV1(t, []cid.Cid{r3}, "c"), 7))
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Query().Get("stats") == "true" {
			kuboStream(w, `{"Stats":{"BlockCount":3,"BlockBytesCount":3}}`)
			return
		}
		kuboStream(w)
	})
	f := newFakeCluster()
	f.OnPin(func(p storage.Pin) {
		if p.Cid == r2 {
			f.FailPin(errNoLeader)
		}
	})
	h := newTestHandlers(t, f, nil, up.srv.URL, true)
	srv := serveThrough(t, h)
	res, got := postReal(t, srv.URL+"/api/v0/dag/import?stats=true&pin-roots=true", ct, upload)
	want := fmt.Sprintf(`{"Root":{"Cid":{"/":"%s"},"PinErrorMsg":""}}`+"\n", r1) +
		fmt.Sprintf(`{"Root":{"Cid":{"/":"%s"},"PinErrorMsg":"no leader"}}`+"\n", r2) +
		fmt.Sprintf(`{"Root":{"Cid":{"/":"%s"},"PinErrorMsg":"no leader"}}`+"\n", r3) +
		`{"Stats":{"BlockCount":3,"BlockBytesCount":3}}` + "\n"
	if res.StatusCode != 200 || got != want {
		t.Errorf("client got %d\n%s\nwant\n%s", res.StatusCode, got, want)
	}
	call := up.lastCall(t)
	if call.query != "stats=true&pin-roots=false" || !bytes.Equal(call.body, upload) {
		t.Errorf("upstream query %q, body intact %v", call.query, bytes.Equal(call.body, upload))
	}
	if tr := res.Trailer.Get("X-Stream-Error"); tr != "" {
		t.Errorf("trailer %q", tr)
	}
	if p, ok := f.Stored(r1); !ok || p.Mode != storage.Recursive {
		t.Errorf("root 1: %+v", p)
	}

	// pin-roots=false and local-only are forwarded unchanged.
	f3 := newFakeCluster()
	h = newTestHandlers(t, f3, nil, up.srv.URL, true)
	for _, q := range []string{"pin-roots=false", "local-only=true"} {
		res := post(t, h, "/api/v0/dag/import?"+q, bytes.NewReader(upload), "Content-Type", ct)
		if got := readBody(t, res); got != "" || up.lastCall(t).query != q {
			t.Errorf("%s: body %q query %q", q, got, up.lastCall(t).query)
		}
	}
	if len(f3.Calls()) != 0 {
		t.Errorf("cluster called: %v", f3.Calls())
	}
}
