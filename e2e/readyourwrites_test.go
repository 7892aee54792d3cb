package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A write through any peer's proxy answers at its commit, before that peer
// (or any other) applied it; every read through the same peer must still
// see it: its pin ls, and the status every peer reports on its admin API.
func TestReadYourWritesThroughEveryPeer(t *testing.T) {
	kubos, peers := threePeersWith(t, "info", append(fastHealth, "FLOTILLA_PROXY_PIN_WAIT=committed")...)
	for i, p := range peers {
		for j := range 10 {
			c := addEverywhere(t, kubos[:1], fmt.Sprintf("read your writes %d %d", i, j))
			proxyPin(t, p, c, "")
			if code, body := post(t, p.proxyURL()+"/api/v0/pin/ls?arg="+c, "", nil); code != http.StatusOK || !strings.Contains(body, c) {
				t.Fatalf("pin ls through peer %d right after its pin add: %d %s", i, code, body)
			}
			var st struct {
				PeerMap map[string]struct{ Status, Error string } `json:"peer_map"`
			}
			getJSON(t, "http://"+p.api+"/pins/"+c, &st)
			if len(st.PeerMap) != len(peers) {
				t.Fatalf("status through peer %d has %d peers, want %d", i, len(st.PeerMap), len(peers))
			}
			for id, ps := range st.PeerMap {
				if ps.Status == "unpinned" || ps.Status == "cluster_error" {
					t.Fatalf("peer %s reports %s (%s) for a pin just acknowledged through peer %d", id, ps.Status, ps.Error, i)
				}
			}
		}
	}
}
