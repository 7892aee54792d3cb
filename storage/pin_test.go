package storage

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestPinJSONMatchesIPFSCluster(t *testing.T) {
	p := fullPin(1)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"cid":                    p.Cid.String(),
		"name":                   "pin-1",
		"mode":                   "direct",
		"max_depth":              float64(0),
		"type":                   "pin",
		"replication_factor_min": float64(2),
		"replication_factor_max": float64(3),
		"shard_size":             float64(0),
		"allocations":            []any{"12D3KooWA", "12D3KooWB"},
		"user_allocations":       []any{"12D3KooWC"},
		"origins":                []any{"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWD"},
		"metadata":               map[string]any{"k": "v", "empty": ""},
		"expire_at":              "2030-03-17T17:46:40.123456789Z",
		"timestamp":              "2023-11-14T22:13:20.987654321Z",
		"pin_update":             p.PinUpdate.String(),
		"reference":              nil,
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("json:\n got %v\nwant %v", m, want)
	}
}

func TestPinJSONNilAndEmpty(t *testing.T) {
	p := Pin{Cid: testCid(1)}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, frag := range []string{
		`"allocations":[]`, `"origins":[]`, // ipfs-cluster clients index these
		`"user_allocations":null`, `"metadata":null`, `"pin_update":null`,
		`"mode":"recursive"`, `"max_depth":-1`,
	} {
		if !strings.Contains(s, frag) {
			t.Errorf("%s lacks %s", s, frag)
		}
	}
}

func TestPinJSONRoundTrip(t *testing.T) {
	for _, p := range []Pin{fullPin(1), smallPin(2), {Cid: testCidV0(3)}} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var got Pin
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
		}
	}
}

func TestPinJSONMaxDepthOnly(t *testing.T) {
	c := testCid(1).String()
	var p Pin
	if err := json.Unmarshal([]byte(`{"cid":"`+c+`","max_depth":0}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Mode != Direct {
		t.Errorf("max_depth 0 without mode: got %v, want direct", p.Mode)
	}
	if err := json.Unmarshal([]byte(`{"cid":"`+c+`","max_depth":-1}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Mode != Recursive {
		t.Errorf("max_depth -1 without mode: got %v, want recursive", p.Mode)
	}
	if err := json.Unmarshal([]byte(`{"cid":"`+c+`","mode":"sideways"}`), &p); err == nil {
		t.Error("bad mode accepted")
	}
	if err := json.Unmarshal([]byte(`{"cid":"nope"}`), &p); err == nil {
		t.Error("bad cid accepted")
	}
}

func TestPinAllocatedTo(t *testing.T) {
	p := fullPin(1)
	if !p.AllocatedTo("12D3KooWB") || p.AllocatedTo("12D3KooWC") {
		t.Error("AllocatedTo must follow Allocations")
	}
	e := smallPin(1)
	if !e.Everywhere() || !e.AllocatedTo("anyone") {
		t.Error("a -1/-1 pin is allocated to every peer")
	}
}
