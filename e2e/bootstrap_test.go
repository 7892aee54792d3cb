package e2e

import (
	"encoding/json"
	"net"
	"slices"
	"testing"
	"time"
)

// A peer joins through the multiaddr that ipfs-cluster's users pass to
// --bootstrap (/ip4/<host>/tcp/<port>/p2p/<id>), not only through
// HOST:PORT. (It used to retry "http:///ip4/...: no Host in request URL"
// until it gave up.)
func TestJoinThroughAnIPFSClusterStyleMultiaddr(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	secret := "FLOTILLA_CLUSTER_SECRET=" + randomSecret()
	first := newPeer(t, flotillaBin, startKubo(t, ipfsBin), secret)
	first.start()
	resp, err := first.client().Get("http://" + first.api + "/id")
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&id)
	resp.Body.Close()
	if err != nil || id.ID == "" {
		t.Fatalf("the first peer's /id: %v %+v", err, id)
	}
	host, port, err := net.SplitHostPort(first.clust)
	if err != nil {
		t.Fatal(err)
	}
	joiner := newPeer(t, flotillaBin, startKubo(t, ipfsBin), secret)
	joiner.start("--bootstrap", "/ip4/"+host+"/tcp/"+port+"/p2p/"+id.ID)
	waitFor(t, "the joiner in the first peer's peer set", 60*time.Second, func() bool {
		return len(peerIDs(t, first)) == 2
	})
	if ids := peerIDs(t, joiner); !slices.Contains(ids, id.ID) {
		t.Fatalf("the joiner's peers %v lack the first peer %s", ids, id.ID)
	}
}
