package types

import (
	"maps"
	"slices"
	"testing"
)

func TestParseStatusFilter(t *testing.T) {
	for _, tc := range []struct {
		in      string
		pass    []string // nil: the filter is nil, everything passes
		unknown []string
	}{
		{"", nil, nil},
		{"pinned", []string{"pinned"}, nil},
		{"error, queued", []string{"cluster_error", "pin_error", "pin_queued", "unpin_error", "unpin_queued"}, nil},
		{"pinned,pined", []string{"pinned"}, []string{"pined"}},
		{"undefined", []string{}, nil},
		{"bogus", []string{}, []string{"bogus"}},
	} {
		f, unknown := ParseStatusFilter(tc.in)
		if (f == nil) != (tc.pass == nil) || !slices.Equal(slices.Sorted(maps.Keys(f)), tc.pass) ||
			!slices.Equal(unknown, tc.unknown) {
			t.Errorf("ParseStatusFilter(%q) = %v, unknown %v; want %v, unknown %v", tc.in, f, unknown, tc.pass, tc.unknown)
		}
	}
	pm := PeerMap{"a": {Status: "pinned"}, "b": {Status: "pin_error"}}
	f, _ := ParseStatusFilter("error")
	if kept, ok := f.Apply(pm); !ok || len(kept) != 1 || kept["b"].Status != "pin_error" {
		t.Errorf("error filter kept %v", kept)
	}
	f, _ = ParseStatusFilter("remote")
	if _, ok := f.Apply(pm); ok {
		t.Error("remote filter kept a peer")
	}
}
