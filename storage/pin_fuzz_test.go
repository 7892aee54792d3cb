package storage

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// FuzzPinJSON feeds any bytes to Pin.UnmarshalJSON, which state import and
// the CLI use: no panic, and a pin that decodes marshals, and decodes
// again to the same pin, whose JSON is then stable.
func FuzzPinJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	pins := []Pin{fullPin(1), smallPin(2), {Cid: testCidV0(3)}}
	for range 8 {
		pins = append(pins, randPin(r))
	}
	for _, p := range pins {
		// randPin draws times JSON cannot hold (years before 0): skip those.
		if b, err := json.Marshal(p); err == nil {
			f.Add(b)
		}
	}
	c := testCid(1).String()
	for _, s := range []string{
		`{"cid":"` + c + `","max_depth":0}`,
		`{"cid":"` + c + `","mode":"direct","max_depth":-1,"allocations":[],"metadata":{}}`,
		`{"cid":"` + c + `","pin_update":"","expire_at":"2030-01-01T00:00:00+05:00"}`,
		`{"cid":"` + c + `","timestamp":"9999-12-31T23:59:59-01:00"}`,
		`{"cid":"` + c + `","name":"\ud800\u00ff"}`,
		`{"cid":""}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Pin
		if err := p.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("decoded pin %#v does not marshal: %v", p, err)
		}
		var q Pin
		if err := json.Unmarshal(out, &q); err != nil {
			t.Fatalf("decoded pin marshals to %s, which does not decode: %v", out, err)
		}
		// JSON keeps the instant, not the zone: compare in UTC.
		want := p
		want.ExpireAt, want.Timestamp = p.ExpireAt.UTC(), p.Timestamp.UTC()
		if !reflect.DeepEqual(q, want) {
			t.Fatalf("pin changed through JSON:\n got %#v\nwant %#v\n via %s", q, want, out)
		}
		if again, err := json.Marshal(q); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("JSON not stable: %s then %s (%v)", out, again, err)
		}
	})
}
