package rest

import (
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestPinOptionsFromQuery(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	p1, p2 := newPeerID(t), newPeerID(t)
	prev := testCid(t, "previous")
	origin := "/ip4/1.2.3.4/tcp/4001/p2p/" + p1

	tests := []struct {
		name    string
		query   string
		want    storage.Pin
		wantErr string // substring; "" means success
	}{
		{name: "empty is all defaults", query: ""},
		{name: "name and direct mode", query: "name=foo&mode=direct",
			want: storage.Pin{Name: "foo", Mode: storage.Direct}},
		{name: "recursive mode", query: "mode=recursive", want: storage.Pin{Mode: storage.Recursive}},
		{name: "unknown mode", query: "mode=deep", wantErr: "parameter mode invalid"},
		{name: "name of 255 bytes", query: "name=" + strings.Repeat("a", 255), want: storage.Pin{Name: strings.Repeat("a", 255)}},
		{name: "name over 255 bytes", query: "name=" + strings.Repeat("a", 300), wantErr: "pin name is 300 bytes (max 255 bytes)"},
		{name: "replication sets both", query: "replication=3",
			want: storage.Pin{ReplicationFactorMin: 3, ReplicationFactorMax: 3}},
		{name: "replication wins over min and max", query: "replication=2&replication-min=1&replication-max=5",
			want: storage.Pin{ReplicationFactorMin: 2, ReplicationFactorMax: 2}},
		{name: "min and max", query: "replication-min=1&replication-max=4",
			want: storage.Pin{ReplicationFactorMin: 1, ReplicationFactorMax: 4}},
		{name: "everywhere", query: "replication=-1",
			want: storage.Pin{ReplicationFactorMin: -1, ReplicationFactorMax: -1}},
		{name: "finite min, every current peer max", query: "replication-min=2&replication-max=-1",
			want: storage.Pin{ReplicationFactorMin: 2, ReplicationFactorMax: -1}},
		{name: "zeros are defaults", query: "replication-min=0&replication-max=0"},
		{name: "min above max", query: "replication-min=3&replication-max=2", wantErr: "larger than replication-max"},
		{name: "everywhere min with finite max", query: "replication-min=-1&replication-max=2", wantErr: "replication-min -1"},
		{name: "not a number", query: "replication-min=two", wantErr: "parameter replication-min invalid"},
		{name: "below -1", query: "replication=-2", wantErr: "parameter replication invalid"},
		{name: "user allocations", query: "user-allocations=" + p1 + "," + p2,
			want: storage.Pin{UserAllocations: []string{p1, p2}}},
		{name: "empty user allocations", query: "user-allocations="},
		{name: "bad peer in user allocations", query: "user-allocations=" + p1 + ",nope", wantErr: "parameter user-allocations invalid"},
		{name: "expire-at", query: "expire-at=2030-01-03T00:00:00Z",
			want: storage.Pin{ExpireAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}},
		{name: "expire-at with offset", query: "expire-at=" + url.QueryEscape("2030-01-03T02:00:00+02:00"),
			want: storage.Pin{ExpireAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}},
		{name: "expire-at in the past", query: "expire-at=2029-01-01T00:00:00Z", wantErr: "not in the future"},
		{name: "expire-at not RFC 3339", query: "expire-at=tomorrow", wantErr: "parameter expire-at invalid"},
		{name: "expire-at past year 9999 in UTC", query: "expire-at=" + url.QueryEscape("9999-12-31T23:59:59-01:00"), wantErr: "parameter expire-at invalid"},
		{name: "expire-in", query: "expire-in=1h30m", want: storage.Pin{ExpireAt: now.Add(90 * time.Minute)}},
		{name: "expire-at wins over expire-in", query: "expire-at=2030-01-03T00:00:00Z&expire-in=1h",
			want: storage.Pin{ExpireAt: time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)}},
		{name: "expire-in too short", query: "expire-in=500ms", wantErr: "shorter than 1s"},
		{name: "expire-in not a duration", query: "expire-in=soon", wantErr: "parameter expire-in invalid"},
		{name: "metadata", query: "meta-k1=v1&meta-k2=&meta-=ignored&metax=ignored",
			want: storage.Pin{Metadata: map[string]string{"k1": "v1", "k2": ""}}},
		{name: "pin-update", query: "pin-update=" + prev.String(), want: storage.Pin{PinUpdate: prev}},
		{name: "bad pin-update", query: "pin-update=xyz", wantErr: "parameter pin-update invalid"},
		{name: "origins", query: "origins=" + url.QueryEscape(origin+","+origin), want: storage.Pin{Origins: []string{origin, origin}}},
		{name: "origin without peer ID", query: "origins=" + url.QueryEscape("/ip4/1.2.3.4/tcp/4001"), wantErr: "no /p2p/"},
		{name: "origin not a multiaddr", query: "origins=1.2.3.4", wantErr: "parameter origins invalid"},
		{name: "shard-size is accepted and ignored", query: "shard-size=104857600"},
		{name: "bad shard-size", query: "shard-size=big", wantErr: "parameter shard-size invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pinOptionsFromQuery(q, now)
			if tc.wantErr != "" {
				var bad *badRequest
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &bad) {
					t.Fatalf("error = %v, want a bad request containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !samePin(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func samePin(a, b storage.Pin) bool {
	return a.Cid.Equals(b.Cid) && a.Name == b.Name && a.Mode == b.Mode &&
		a.ReplicationFactorMin == b.ReplicationFactorMin && a.ReplicationFactorMax == b.ReplicationFactorMax &&
		slices.Equal(a.UserAllocations, b.UserAllocations) && slices.Equal(a.Origins, b.Origins) &&
		maps.Equal(a.Metadata, b.Metadata) && a.ExpireAt.Equal(b.ExpireAt) && a.PinUpdate.Equals(b.PinUpdate)
}

func TestAddParamsFromQuery(t *testing.T) {
	now := time.Now()
	tests := []struct {
		query   string
		want    url.Values // upstream query
		wrap    bool
		noPin   bool
		stream  bool
		wantErr string
	}{
		{query: "", want: url.Values{"pin": {"false"}, "stream-channels": {"true"}}, stream: true},
		{query: "layout=trickle&chunker=size-1024&hash=blake2b-256&cid-version=1&raw-leaves=true&progress=true&wrap-with-directory=true&nocopy=false",
			want: url.Values{"pin": {"false"}, "stream-channels": {"true"}, "trickle": {"true"}, "chunker": {"size-1024"},
				"hash": {"blake2b-256"}, "cid-version": {"1"}, "raw-leaves": {"true"}, "progress": {"true"},
				"wrap-with-directory": {"true"}, "nocopy": {"false"}},
			wrap: true, stream: true},
		{query: "no-pin=true&stream-channels=false&local=true&recursive=true&hidden=true&name=x",
			want: url.Values{"pin": {"false"}, "stream-channels": {"true"}}, noPin: true},
		{query: "layout=zigzag", wantErr: "layout parameter is invalid"},
		{query: "format=tar", wantErr: "format parameter is invalid"},
		{query: "format=car&chunker=size-1024", want: url.Values{"pin-roots": {"false"}, "stats": {"true"}}, stream: true},
		{query: "format=car&wrap-with-directory=true", wantErr: "cannot wrap a CAR file upload"},
		{query: "shard=true", wantErr: "sharding is not supported"},
		{query: "progress=maybe", wantErr: "parameter progress invalid"},
		{query: "cid-version=2", wantErr: "parameter cid-version invalid"},
		// Kubo's names and chunkers pass as they are; what its add would
		// refuse after the upload is refused before it.
		{query: "hash=SHA2-512&chunker=rabin-16-32-64", want: url.Values{"pin": {"false"}, "stream-channels": {"true"},
			"hash": {"SHA2-512"}, "chunker": {"rabin-16-32-64"}}, stream: true},
		{query: "chunker=buzhash", want: url.Values{"pin": {"false"}, "stream-channels": {"true"}, "chunker": {"buzhash"}}, stream: true},
		{query: "chunker=rabin-min:16-avg:32-max:64", want: url.Values{"pin": {"false"}, "stream-channels": {"true"},
			"chunker": {"rabin-min:16-avg:32-max:64"}}, stream: true},
		{query: "hash=bogus", wantErr: `parameter hash invalid: unrecognized hash function "bogus"`},
		{query: "hash=md5", wantErr: `parameter hash invalid: IPFS refuses the insecure hash function "md5"`},
		{query: "chunker=bogus", wantErr: `parameter chunker invalid: "bogus"`},
		{query: "chunker=size-0", wantErr: `parameter chunker invalid: "size-0"`},
		{query: "chunker=size-many", wantErr: `parameter chunker invalid: "size-many"`},
		{query: "chunker=rabin-64-32-128", wantErr: `parameter chunker invalid: "rabin-64-32-128"`},
		{query: "format=car&hash=bogus", wantErr: "parameter hash invalid"},
		{query: "replication=x", wantErr: "parameter replication invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := addParamsFromQuery(q, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.upstream.Encode() != tc.want.Encode() {
				t.Errorf("upstream query %s, want %s", got.upstream.Encode(), tc.want.Encode())
			}
			if got.wrap != tc.wrap || got.noPin != tc.noPin || got.streamChannels != tc.stream {
				t.Errorf("wrap %v noPin %v stream %v; want %v %v %v", got.wrap, got.noPin, got.streamChannels, tc.wrap, tc.noPin, tc.stream)
			}
			if got.pin.PinUpdate != cid.Undef {
				t.Error("pin-update must not apply to added content")
			}
		})
	}
}
