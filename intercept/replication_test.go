package intercept

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// Replication factors the cluster would refuse are the client's mistake:
// Kubo's 400 error object (Code 1, a ClientError) naming the option, and
// nothing committed, where they reached the cluster and came back a 500.
func TestPinAddRefusesBadReplicationFactors(t *testing.T) {
	a := testCid(1)
	cases := []struct{ query, message string }{
		{"replication-min=-5", `invalid value -5 for option \"-replication-min\": a replication factor is -1 (every peer), 0 (the cluster's default) or positive`},
		{"replication-max=-2", `invalid value -2 for option \"-replication-max\": a replication factor is -1 (every peer), 0 (the cluster's default) or positive`},
		{"replication=-5", `invalid value -5 for option \"-replication\": a replication factor is -1 (every peer), 0 (the cluster's default) or positive`},
		{"replication-min=3&replication-max=2", "replication-min 3 is larger than replication-max 2"},
		{"replication-min=-1&replication-max=2", "replication-min -1 (every peer) needs replication-max -1, got 2"},
	}
	for _, tc := range cases {
		f := newFakeCluster()
		h := newTestHandlers(t, f, nil, "", true)
		res := post(t, h, "/api/v0/pin/add?arg="+a.String()+"&"+tc.query, nil)
		checkGolden(t, res, 400, kuboHeaders(), `{"Message":"`+tc.message+`","Code":1,"Type":"error"}`+"\n")
		if calls := f.Calls(); len(calls) != 0 {
			t.Errorf("%s: cluster called: %v", tc.query, calls)
		}
	}
}

func TestImportRefusesBadReplicationFactors(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		kuboStream(w, fmt.Sprintf(`{"Key":"%s","Size":1}`, rawCid("x")))
	})
	for _, path := range []string{"/api/v0/add", "/api/v0/block/put", "/api/v0/dag/put", "/api/v0/dag/import"} {
		f := newFakeCluster()
		h := newTestHandlers(t, f, nil, up.srv.URL, false)
		body, ct := addBody(t)
		res := post(t, h, path+"?pin=true&replication-min=3&replication-max=2", bytes.NewReader(body), "Content-Type", ct)
		checkGolden(t, res, 400, kuboHeaders(),
			`{"Message":"replication-min 3 is larger than replication-max 2","Code":1,"Type":"error"}`+"\n")
		if calls := f.Calls(); len(calls) != 0 {
			t.Errorf("%s: cluster called: %v", path, calls)
		}
	}
	if n := up.callCount(); n != 0 {
		t.Errorf("upstream called %d times: nothing may be added for a refused pin", n)
	}
}

// "replication" sets both factors and wins over replication-min and
// replication-max, as in ipfs-cluster's PinOptions.FromQuery and the admin
// API.
func TestReplicationWinsOverMinAndMax(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/add?arg="+a.String()+"&replication=2&replication-min=1&replication-max=5", nil)
	if body := readBody(t, res); res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if p, _ := f.Stored(a); p.ReplicationFactorMin != 2 || p.ReplicationFactorMax != 2 {
		t.Errorf("replication %d/%d, want 2/2", p.ReplicationFactorMin, p.ReplicationFactorMax)
	}
}
