package rest

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
)

const metaPrefix = "meta-"

// pinOptionsFromQuery reads ipfs-cluster's pin options (PinOptions.FromQuery)
// into a pin without a CID. Unlike ipfs-cluster it refuses what it cannot
// honour (an unknown mode, a past expiry, a malformed peer ID) instead of
// falling back to a default, and every route honours the mode.
func pinOptionsFromQuery(q url.Values, now time.Time) (storage.Pin, error) {
	var p storage.Pin
	p.Name = q.Get("name")
	if err := storage.ValidatePinName(p.Name); err != nil {
		return p, errBadRequest(err.Error())
	}

	mode, err := storage.ParseMode(q.Get("mode"))
	if err != nil {
		return p, paramError("mode", err)
	}
	p.Mode = mode

	minKey, maxKey := "replication-min", "replication-max"
	if q.Get("replication") != "" {
		// "replication" sets both and wins, as in ipfs-cluster.
		minKey, maxKey = "replication", "replication"
	}
	if p.ReplicationFactorMin, err = factorParam(q, minKey); err != nil {
		return p, err
	}
	if p.ReplicationFactorMax, err = factorParam(q, maxKey); err != nil {
		return p, err
	}
	if err := alloc.CheckRequested(p.ReplicationFactorMin, p.ReplicationFactorMax); err != nil {
		return p, errBadRequest(err.Error())
	}

	// Sharding does not exist in Flotilla; ipfs-cluster's clients send
	// shard-size on every pin, so it is checked and ignored.
	if v := q.Get("shard-size"); v != "" {
		if _, err := strconv.ParseUint(v, 10, 64); err != nil {
			return p, paramError("shard-size", err)
		}
	}

	if p.UserAllocations, err = peerListParam(q, "user-allocations"); err != nil {
		return p, err
	}
	if p.ExpireAt, err = expiryParams(q, now); err != nil {
		return p, err
	}

	for k, vs := range q {
		key, ok := strings.CutPrefix(k, metaPrefix)
		if !ok || key == "" || len(vs) == 0 {
			continue
		}
		if p.Metadata == nil {
			p.Metadata = map[string]string{}
		}
		p.Metadata[key] = vs[0]
	}

	if v := q.Get("pin-update"); v != "" {
		if p.PinUpdate, err = cid.Decode(v); err != nil {
			return p, paramError("pin-update", err)
		}
	}

	if p.Origins, err = originsParam(q); err != nil {
		return p, err
	}
	return p, nil
}

func paramError(name string, err error) error {
	return errBadRequest(fmt.Sprintf("parameter %s invalid: %v", name, err))
}

// factorParam reads a replication factor: 0 (or absent) means the cluster
// default, -1 every peer. Factors are 32-bit, as the proxy's are (Kubo's
// int options): one beyond is no cluster's, and would otherwise reach the
// allocator and come back as a 500.
func factorParam(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		return 0, paramError(name, fmt.Errorf("%s is out of range: a factor is -1 (every peer) or 1 to %d", v, math.MaxInt32))
	}
	if err != nil {
		return 0, paramError(name, err)
	}
	if n < -1 {
		return 0, paramError(name, fmt.Errorf("%d is below -1", n))
	}
	return int(n), nil
}

func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func peerListParam(q url.Values, name string) ([]string, error) {
	ids := splitList(q.Get(name))
	for i, s := range ids {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, paramError(name, fmt.Errorf("%q: %w", s, err))
		}
		ids[i] = id.String()
	}
	return ids, nil
}

// expiryParams reads expire-at (RFC 3339), or else expire-in (a Go
// duration of at least a second). An expiry already past is refused: the
// pin would be removed as soon as it is made.
func expiryParams(q url.Values, now time.Time) (time.Time, error) {
	if v := q.Get("expire-at"); v != "" {
		var t time.Time
		if err := t.UnmarshalText([]byte(v)); err != nil {
			return time.Time{}, paramError("expire-at", err)
		}
		if !t.After(now) {
			return time.Time{}, paramError("expire-at", fmt.Errorf("%s is not in the future", v))
		}
		// A zone offset can carry year 9999 into 10000 in UTC, which no
		// JSON listing of the pin could then write.
		if _, err := t.UTC().MarshalText(); err != nil {
			return time.Time{}, paramError("expire-at", err)
		}
		return t.UTC(), nil
	}
	v := q.Get("expire-in")
	if v == "" {
		return time.Time{}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return time.Time{}, paramError("expire-in", err)
	}
	if d < time.Second {
		return time.Time{}, paramError("expire-in", fmt.Errorf("%s is shorter than 1s", v))
	}
	return now.Add(d).UTC(), nil
}

func originsParam(q url.Values) ([]string, error) {
	list := splitList(q.Get("origins"))
	for i, s := range list {
		m, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, paramError("origins", fmt.Errorf("%q: %w", s, err))
		}
		if _, err := m.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, paramError("origins", fmt.Errorf("%q has no /p2p/ peer ID", s))
		}
		list[i] = m.String()
	}
	return list, nil
}
