package storage

import (
	"testing"

	"github.com/ipfs/go-cid"
)

// What AllocationsFrom reads in place is what the decoded pin says.
func TestAllocationsFromAgreesWithTheDecodedPins(t *testing.T) {
	s := openTestState(t)
	const self = "12D3KooWSelf"
	var pins []Pin
	for i := range 50 {
		p := benchPin(i)
		switch i % 5 {
		case 0:
			p.Allocations = append(p.Allocations, self)
		case 1:
			p.ReplicationFactorMin, p.ReplicationFactorMax, p.Allocations = -1, -1, nil
		case 2:
			p.Allocations = nil
		case 3:
			p.ReplicationFactorMin, p.ReplicationFactorMax = -1, 3
		}
		pins = append(pins, p)
	}
	if _, err := s.Apply(1, pinCmd(pins...)); err != nil {
		t.Fatal(err)
	}
	want := map[cid.Cid]bool{}
	for _, p := range pins {
		want[p.Cid] = p.AllocatedTo(self)
	}
	seen, after := 0, cid.Undef
	for {
		last, err := s.AllocationsFrom(after, 7, self, func(a PinAllocation) error {
			seen++
			if w, ok := want[a.Cid]; !ok || w != a.Allocated {
				t.Errorf("%s: allocated %v, the pin says %v", a.Cid, a.Allocated, w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !last.Defined() {
			break
		}
		after = last
	}
	if seen != len(pins) {
		t.Fatalf("read %d pins of %d", seen, len(pins))
	}
}
