package pinsvc

import (
	"context"
	"sort"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// The spec's four statuses: the only strings Kubo's client decodes.
const (
	queued  = "queued"
	pinning = "pinning"
	pinned  = "pinned"
	failed  = "failed"
)

// pinObject is the spec's Pin.
type pinObject struct {
	Cid     string            `json:"cid"`
	Name    string            `json:"name,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// pinStatus is the spec's PinStatus.
type pinStatus struct {
	RequestID string    `json:"requestid"`
	Status    string    `json:"status"`
	Created   string    `json:"created"`
	Pin       pinObject `json:"pin"`
	Delegates []string  `json:"delegates"`
	// Info values must be strings: Kubo fails to decode anything else.
	Info map[string]string `json:"info,omitempty"`
}

// pinResults is the spec's PinResults.
type pinResults struct {
	Count   int         `json:"count"`
	Results []pinStatus `json:"results"`
}

// formatCreated keeps every nanosecond: clients paginate by sending the
// oldest created back as `before`, so a truncated value would drop pins.
func formatCreated(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// peerStatus derives the spec's status from the peers that must hold the
// pin: any pinned is pinned (what Flotilla's pin add promises too), then any
// pinning is pinning. Failed is terminal for Kubo, so it needs every such
// peer to have failed; an unreachable peer (cluster_error) may still succeed
// and so counts as queued. The details name each peer's error.
func peerStatus(p storage.Pin, peers map[string]types.PinStatus) (status, details string) {
	var held, errs int
	var sawPinned, sawPinning bool
	var msgs []string
	for id, st := range peers {
		if st.Status == types.StatusRemote || (len(p.Allocations) > 0 && !p.AllocatedTo(id)) {
			continue
		}
		held++
		switch st.Status {
		case string(storage.StatusPinned):
			sawPinned = true
		case string(storage.StatusPinning):
			sawPinning = true
		case string(storage.StatusPinError):
			errs++
		}
		if st.Error != "" {
			msgs = append(msgs, id+": "+st.Error)
		}
	}
	sort.Strings(msgs)
	details = strings.Join(msgs, "; ")
	switch {
	case sawPinned:
		return pinned, details
	case sawPinning:
		return pinning, details
	case held > 0 && errs == held:
		return failed, details
	}
	return queued, details
}

// maxDelegates is the spec's limit.
const maxDelegates = 20

// p2pAddrs keeps the unique multiaddrs that name their peer, at most limit.
// Kubo aborts `pin remote add` on a delegate without /p2p/<id>, even after
// the pin was made, and cannot dial such an origin either.
func p2pAddrs(in []string, limit int) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range in {
		if len(out) == limit {
			break
		}
		if seen[a] || !isP2PAddr(a) {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

// isP2PAddr reports whether s is a multiaddr that names its peer.
func isP2PAddr(s string) bool {
	m, err := ma.NewMultiaddr(s)
	if err != nil {
		return false
	}
	_, err = m.ValueForProtocol(ma.P_P2P)
	return err == nil
}

// statusOf builds the PinStatus of p. A status already derived (while
// filtering a list) is passed in to save a second round of peer queries.
func (s *server) statusOf(ctx context.Context, p storage.Pin, status, details string) pinStatus {
	if status == "" {
		status, details = peerStatus(p, s.cluster.PeerMap(ctx, p.Cid))
	}
	ps := pinStatus{
		RequestID: requestID(p.Cid),
		Status:    status,
		Created:   formatCreated(p.Timestamp),
		Pin: pinObject{
			Cid:     p.Cid.String(),
			Name:    p.Name,
			Origins: p.Origins,
			Meta:    p.Metadata,
		},
		// Required by the spec: an empty array, never null.
		Delegates: append([]string{}, p2pAddrs(s.cluster.Delegates(ctx, p.Cid), maxDelegates)...),
	}
	if details != "" {
		ps.Info = map[string]string{"status_details": details}
	}
	return ps
}
