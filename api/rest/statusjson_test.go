package rest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// GET /pins writes its lines by hand: they must be the bytes json.Encoder
// writes for the GlobalPinInfo, which ipfs-cluster's clients read.
func TestStatusLinesAreWhatEncodingJSONWrites(t *testing.T) {
	east := time.FixedZone("east", 2*3600)
	pins := []storage.Pin{
		{Cid: testCid(t, "bare")},
		{
			Cid: testCid(t, "full"), Name: `<b>"name"</b> & \ ` + "\n\xff\u2028",
			Allocations: []string{"12D3KooWB", "12D3KooWA"}, Origins: []string{},
			Metadata:  map[string]string{"z": "last", "a": "<first>", "m": ""},
			Timestamp: time.Date(2031, 5, 6, 7, 8, 9, 120000, east),
		},
		{Cid: testCid(t, "v1"), Origins: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWO"}, Metadata: map[string]string{}},
	}
	pms := []types.PeerMap{
		nil,
		{},
		{
			"12D3KooWB": {PeerName: "b", Status: "pin_error", Error: "failed: <timeout>", AttemptCount: 7, Timestamp: time.Unix(1700000000, 5).In(east)},
			"12D3KooWA": {PeerName: "a", IPFSPeerID: "12D3KooWipfs", Status: "pinned", PriorityPin: true, Timestamp: time.Unix(1700000000, 0).UTC()},
			"12D3KooWC": {PeerName: "", Status: "cluster_error", Error: "the peer did not answer"},
		},
		// What the encoder keeps of a peer's last entry must not leak
		// into the next: a new name, the same instant in another zone.
		{
			"12D3KooWA": {PeerName: "a, renamed", Status: "pinned", Timestamp: time.Unix(1700000000, 0).In(east)},
		},
	}
	var enc gpiEncoder
	for _, p := range pins {
		for _, pm := range pms {
			var want strings.Builder
			if err := json.NewEncoder(&want).Encode(types.NewGlobalPinInfo(p, pm)); err != nil {
				t.Fatal(err)
			}
			got, err := enc.encode(p, pm)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want.String() {
				t.Errorf("line\n got %s\nwant %s", got, want.String())
			}
		}
	}
	if _, err := enc.encode(storage.Pin{Cid: testCid(t, "far"), Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, nil); err == nil {
		t.Error("a year encoding/json refuses was written")
	}
}
