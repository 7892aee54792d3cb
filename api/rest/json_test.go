package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"testing"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// object decodes one JSON object.
func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", b, err)
	}
	return m
}

// ndjson decodes a stream of JSON objects.
func ndjson(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("bad ndjson %q: %v", b, err)
		}
		out = append(out, m)
	}
}

// wantKeys checks that obj has exactly these fields: the golden shape of
// ipfs-cluster's objects.
func wantKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s fields = %v, want %v", what, got, keys)
	}
}

var (
	pinKeys = []string{"replication_factor_min", "replication_factor_max", "name", "mode", "shard_size",
		"user_allocations", "expire_at", "metadata", "pin_update", "origins", "cid", "type",
		"allocations", "max_depth", "reference", "timestamp"}
	gpiKeys       = []string{"cid", "name", "allocations", "origins", "created", "metadata", "peer_map"}
	pinStatusKeys = []string{"peername", "ipfs_peer_id", "status", "timestamp", "error", "attempt_count", "priority_pin"}
	idKeys        = []string{"id", "addresses", "cluster_peers", "cluster_peers_addresses", "version", "commit",
		"rpc_protocol_version", "error", "ipfs", "peername", "raft", "role"}
)
