// Package health keeps what each peer last said about itself: heartbeats
// carrying metrics with a time to live. From them it tells which peers are
// healthy, raises an alert when a peer's heartbeat expires, and says how
// long a peer has been gone, so that the leader can move its pins.
package health

import (
	"strconv"
	"time"
)

// PingMetric is the heartbeat itself: a peer whose ping has expired is down.
const PingMetric = "ping"

// Metric names the informers produce.
const (
	FreeSpace = "freespace"
	PinCount  = "pincount"
	PinQueue  = "pinqueue"
)

// TagPrefix starts the name of a tag metric: "tag:region".
const TagPrefix = "tag:"

// Metric is ipfs-cluster's Metric object.
type Metric struct {
	Name          string `json:"name"`
	Peer          string `json:"peer"`
	Value         string `json:"value"`
	Expire        int64  `json:"expire"` // unix nanoseconds
	Valid         bool   `json:"valid"`
	Weight        int64  `json:"weight"`
	Partitionable bool   `json:"partitionable"`
	ReceivedAt    int64  `json:"received_at"` // unix nanoseconds
}

// Expired reports whether the metric is out of date at now.
func (m Metric) Expired(now time.Time) bool { return now.UnixNano() > m.Expire }

// Uint parses the value as an unsigned number (free space, counts).
func (m Metric) Uint() uint64 {
	v, _ := strconv.ParseUint(m.Value, 10, 64)
	return v
}

// Alert is ipfs-cluster's Alert: the metric that expired, and when. Active,
// ClearedAt and Peername are Flotilla's own, since ipfs-cluster never says
// whether an alert still holds: an alert is active until its peer's
// heartbeat comes back or the peer leaves the cluster.
type Alert struct {
	Metric
	TriggeredAt time.Time  `json:"triggered_at"`
	Active      bool       `json:"active"`
	ClearedAt   *time.Time `json:"cleared_at,omitempty"`
	// Peername is the peer's name while it is a member.
	Peername string `json:"peername,omitempty"`
}

// Sample is what one peer reports about itself in one heartbeat.
type Sample struct {
	FreeSpace uint64
	PinCount  uint64
	PinQueue  uint64
	Tags      map[string]string
	// IPFSOK is false when the peer's IPFS node does not answer; the peer is
	// then alive but not a place to put pins.
	IPFSOK bool
}

// Metrics turns a sample into the metrics a heartbeat carries.
func (s Sample) Metrics(peer string, now time.Time, ttl time.Duration) []Metric {
	exp := now.Add(ttl).UnixNano()
	mk := func(name, value string, weight int64, valid, part bool) Metric {
		return Metric{Name: name, Peer: peer, Value: value, Expire: exp, Valid: valid, Weight: weight, Partitionable: part}
	}
	out := []Metric{
		mk(PingMetric, "", 0, true, false),
		mk(FreeSpace, strconv.FormatUint(s.FreeSpace, 10), int64(min(s.FreeSpace, 1<<62)), s.IPFSOK, false),
		mk(PinCount, strconv.FormatUint(s.PinCount, 10), -int64(min(s.PinCount, 1<<62)), s.IPFSOK, false),
		mk(PinQueue, strconv.FormatUint(s.PinQueue, 10), -int64(min(s.PinQueue, 1<<62)), true, false),
	}
	for k, v := range s.Tags {
		out = append(out, mk(TagPrefix+k, v, 0, true, true))
	}
	return out
}
