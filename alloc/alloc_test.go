package alloc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestAllocate(t *testing.T) {
	p := func(id string, free, pins uint64, tags ...string) Candidate {
		c := Candidate{ID: id, FreeSpace: free, PinCount: pins, Tags: map[string]string{}}
		for i := 0; i+1 < len(tags); i += 2 {
			c.Tags[tags[i]] = tags[i+1]
		}
		return c
	}
	five := []Candidate{p("a", 10, 5), p("b", 50, 1), p("c", 30, 0), p("d", 40, 9), p("e", 20, 3)}
	cases := []struct {
		name    string
		req     Request
		want    []string
		wantErr *NotEnoughPeersError
	}{
		{name: "everywhere allocates nobody by name", req: Request{Min: -1, Max: -1, Candidates: five}, want: nil},
		{name: "most free space first", req: Request{Min: 2, Max: 2, Candidates: five}, want: []string{"b", "d"}},
		{name: "fewest pins when asked", req: Request{Min: 2, Max: 2, Candidates: five, AllocateBy: []string{"pincount"}}, want: []string{"c", "b"}},
		{name: "healthy current holders stay", req: Request{Min: 2, Max: 2, Current: []string{"a", "gone"}, Candidates: five}, want: []string{"a", "b"}},
		{name: "current beyond max is trimmed", req: Request{Min: 1, Max: 2, Current: []string{"e", "a", "c"}, Candidates: five}, want: []string{"e", "a"}},
		{name: "user allocations before ranking", req: Request{Min: 2, Max: 3, Priority: []string{"a"}, Candidates: five}, want: []string{"a", "b", "d"}},
		{name: "between min and max takes what there is", req: Request{Min: 2, Max: 4, Candidates: five[:3]}, want: []string{"b", "c", "a"}},
		{name: "top up keeps holders and adds the best", req: Request{Min: 1, Max: 3, Current: []string{"a"}, Candidates: five}, want: []string{"a", "b", "d"}},
		{name: "fewer than min fails with the numbers", req: Request{Min: 3, Max: 4, Candidates: five[:2]}, wantErr: &NotEnoughPeersError{Needed: 3, Wanted: 4, Available: 2}},
		{name: "no candidates", req: Request{Min: 1, Max: 1}, wantErr: &NotEnoughPeersError{Needed: 1, Wanted: 1, Available: 0}},
		{
			name: "tags spread replicas across regions before free space",
			req: Request{Min: 3, Max: 3, AllocateBy: []string{"tag:region", "freespace"}, Candidates: []Candidate{
				p("eu1", 100, 0, "region", "eu"), p("eu2", 90, 0, "region", "eu"), p("us1", 10, 0, "region", "us"),
				p("ap1", 5, 0, "region", "ap"), p("us2", 80, 0, "region", "us"),
			}},
			want: []string{"eu1", "us2", "ap1"},
		},
		{
			name: "tags repeat a value only when every value is used",
			req: Request{Min: 3, Max: 3, AllocateBy: []string{"tag:region"}, Candidates: []Candidate{
				p("eu1", 100, 0, "region", "eu"), p("eu2", 90, 0, "region", "eu"), p("us1", 10, 0, "region", "us"),
			}},
			want: []string{"eu1", "us1", "eu2"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Allocate(tc.req)
			if tc.wantErr != nil {
				var ne *NotEnoughPeersError
				if !errors.As(err, &ne) || *ne != *tc.wantErr {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNotEnoughPeersMessageNamesNumbers(t *testing.T) {
	err := &NotEnoughPeersError{Needed: 2, Wanted: 3, Available: 1}
	want := "not enough peers to allocate CID. Needed at least: 2. Wanted at most: 3. Available candidates: 1"
	if err.Error() != want {
		t.Fatalf("%q", err.Error())
	}
}

func TestDeterministic(t *testing.T) {
	cs := []Candidate{{ID: "x", FreeSpace: 1}, {ID: "y", FreeSpace: 1}, {ID: "z", FreeSpace: 1}}
	first, err := Allocate(Request{Min: 2, Max: 2, Candidates: cs, Key: "bafy-a"})
	if err != nil || len(first) != 2 {
		t.Fatalf("allocate = %v, %v; want two peers", first, err)
	}
	for i := 0; i < 20; i++ {
		slices.Reverse(cs)
		got, err := Allocate(Request{Min: 2, Max: 2, Candidates: cs, Key: "bafy-a"})
		if err != nil || !slices.Equal(got, first) {
			t.Fatalf("allocation depends on input order: %v (%v) vs %v", got, err, first)
		}
	}
}

func TestPinsSpreadOverPeersThatTie(t *testing.T) {
	for _, free := range []uint64{0, 500 << 30} {
		cands := make([]Candidate, 5)
		for i := range cands {
			// Equal disks differ by a few bytes as pins land; an IPFS node
			// that reports nothing reports 0 everywhere.
			cands[i] = Candidate{ID: fmt.Sprintf("peer-%d", i), FreeSpace: free}
			if free > 0 {
				cands[i].FreeSpace += uint64(i) * 4096
			}
		}
		held := map[string]int{}
		for p := range 3000 {
			ids, err := Allocate(Request{Min: 2, Max: 2, Candidates: cands, AllocateBy: []string{"freespace"}, Key: fmt.Sprintf("bafy-pin-%d", p)})
			if err != nil || len(ids) != 2 {
				t.Fatalf("allocate = %v, %v", ids, err)
			}
			for _, id := range ids {
				held[id]++
			}
		}
		least, most := 1<<31, 0
		for _, c := range cands {
			least, most = min(least, held[c.ID]), max(most, held[c.ID])
		}
		if least == 0 || float64(most) > 1.2*float64(least) {
			t.Errorf("free space %d: pins per peer %v: the most loaded holds more than 1.2x the least", free, held)
		}
	}
}

func TestTiesAreBrokenTheSameWayEveryTime(t *testing.T) {
	cands := []Candidate{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}
	first, err := Allocate(Request{Min: 1, Max: 2, Candidates: cands, Key: "bafy-x"})
	if err != nil || len(first) != 2 {
		t.Fatalf("allocate = %v, %v", first, err)
	}
	for range 20 {
		shuffled := slices.Clone(cands)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, err := Allocate(Request{Min: 1, Max: 2, Candidates: shuffled, Key: "bafy-x"})
		if err != nil || !slices.Equal(got, first) {
			t.Fatalf("allocation changed with the candidates' order: %v, then %v (%v)", first, got, err)
		}
	}
}

func TestMoreFreeSpaceStillWinsOverATie(t *testing.T) {
	cands := []Candidate{{ID: "a", FreeSpace: 100 << 30}, {ID: "b", FreeSpace: 200 << 30}, {ID: "c", FreeSpace: 100 << 30}}
	for p := range 50 {
		ids, err := Allocate(Request{Min: 1, Max: 1, Candidates: cands, Key: fmt.Sprint(p)})
		if err != nil || len(ids) != 1 || ids[0] != "b" {
			t.Fatalf("pin %d went to %v (%v), want the peer with twice the space", p, ids, err)
		}
	}
}

// CheckAllocateBy accepts what the ranking acts on and refuses the rest,
// which the ranking would skip: a misspelt rule must not vanish in silence.
func TestCheckAllocateByAcceptsWhatRanks(t *testing.T) {
	for _, m := range metrics() {
		if err := CheckAllocateBy([]string{m.name}); err != nil {
			t.Errorf("the ranking's own %q refused: %v", m.name, err)
		}
	}
	if err := CheckAllocateBy([]string{"tag:region", "pincount", "freespace"}); err != nil {
		t.Errorf("tag:region refused: %v", err)
	}
	for _, bad := range []string{"bogus", "tags:region", "tag:", "FreeSpace", ""} {
		err := CheckAllocateBy([]string{"freespace", bad})
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if want := fmt.Sprintf("%q is not a criterion: use freespace, pincount or tag:<name>", bad); err.Error() != want {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
}
