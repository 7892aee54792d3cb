// Package offlinetest holds the helpers that the offline package's own tests
// and the cluster's tests of a peer restarted over an export or import share:
// pins with every field set, ndjson, and comparisons that name what differs.
package offlinetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// CID is a CIDv1 (dag-pb) derived from i: the same CIDs the cluster's own
// tests make, so that pins from either side can meet.
func CID(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprintf("content %d", i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.DagProtobuf, mh)
}

// FullPins sets every field a Pin has, with values that differ from pin to
// pin, so that a field lost or crossed between pins shows.
func FullPins(n int) []storage.Pin {
	var out []storage.Pin
	for i := range n {
		out = append(out, storage.Pin{
			Cid:                  CID(1000 + i),
			Name:                 fmt.Sprintf("pin %d <&>", i),
			Mode:                 storage.Mode(i % 2),
			ReplicationFactorMin: 1 + i,
			ReplicationFactorMax: 2 + i,
			Allocations:          []string{fmt.Sprintf("peer-a%d", i), "peer-b"},
			UserAllocations:      []string{fmt.Sprintf("peer-u%d", i)},
			Origins:              []string{fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001/p2p/12D3KooWorigin", i)},
			Metadata:             map[string]string{"k": fmt.Sprint(i), "team": "ops"},
			ExpireAt:             time.Date(2031, 1, 2, 3, 4, 5, 600+i, time.UTC),
			Timestamp:            time.Date(2026, 5, 6, 7, 8, 9, 123456789-i, time.UTC),
			PinUpdate:            CID(2000 + i),
		})
	}
	return out
}

// NDJSON is pins in the format that export writes and import reads.
func NDJSON(t testing.TB, pins []storage.Pin) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, p := range pins {
		if err := enc.Encode(p); err != nil {
			t.Fatal(err)
		}
	}
	return &b
}

// Export is the pinset that offline.Export writes for dataDir, after checking
// that the count it returns is the number of pins it wrote.
func Export(t testing.TB, dataDir string) []storage.Pin {
	t.Helper()
	var b bytes.Buffer
	n, err := offline.Export(dataDir, &b)
	if err != nil {
		t.Fatal(err)
	}
	var out []storage.Pin
	dec := json.NewDecoder(&b)
	for {
		var p storage.Pin
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if n != len(out) {
		t.Fatalf("Export counted %d pins but wrote %d", n, len(out))
	}
	return out
}

func sortPins(ps []storage.Pin) {
	slices.SortFunc(ps, func(a, b storage.Pin) int { return strings.Compare(a.Cid.KeyString(), b.Cid.KeyString()) })
}

// SamePins compares two pinsets in any order, field by field, so that a
// failure names the field. It sorts both.
func SamePins(t testing.TB, got, want []storage.Pin) {
	t.Helper()
	sortPins(got)
	sortPins(want)
	if len(got) != len(want) {
		t.Fatalf("%d pins, want %d: %v", len(got), len(want), CIDs(got))
	}
	for i := range want {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := range g.NumField() {
			name := g.Type().Field(f).Name
			gv, wv := g.Field(f).Interface(), w.Field(f).Interface()
			if gt, ok := gv.(time.Time); ok {
				if !gt.Equal(wv.(time.Time)) {
					t.Errorf("pin %s: %s = %v, want %v", want[i].Cid, name, gv, wv)
				}
				continue
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("pin %s: %s = %#v, want %#v", want[i].Cid, name, gv, wv)
			}
		}
	}
}

// CIDs are the pins' CIDs as strings, in the pins' order.
func CIDs(ps []storage.Pin) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Cid.String())
	}
	return out
}

// PeerID is a new, valid peer ID.
func PeerID(t testing.TB) string {
	t.Helper()
	ident, err := config.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return ident.ID
}

// StateSummary is a state file's applied index and pinset. Opening a file
// rewrites its meta page, so bytes cannot be compared.
func StateSummary(t testing.TB, path string) string {
	t.Helper()
	st, err := storage.OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	idx, err := st.AppliedIndex()
	if err != nil {
		t.Fatal(err)
	}
	var pins []storage.Pin
	if err := st.ForEach(func(p storage.Pin) error { pins = append(pins, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("index %d, pins %v", idx, CIDs(pins))
}
