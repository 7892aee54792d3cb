package rest

import (
	"slices"
	"strconv"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/cidtext"
	"github.com/flotilla-ipfs/flotilla/internal/jsonappend"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// gpiEncoder writes the lines of a status listing: the bytes json.Encoder
// writes for types.NewGlobalPinInfo(p, pm), without reflection, a map per
// pin or a sort of fresh slices. A listing of a million pins spent most
// of its time encoding them with encoding/json. What repeats from line to
// line (a peer's ID and names, a timestamp shared by a page of statuses)
// is escaped or formatted once and copied after.
type gpiEncoder struct {
	line    []byte
	keys    []string
	created timeText
	peers   map[string]*peerText
}

// peerText is what the encoder keeps of one peer's last entry.
type peerText struct {
	name, ipfsPeer string
	// head is `"<id>":{"peername":..,["ipfs_peer_id":..,]"status":`.
	head      []byte
	timestamp timeText
}

// timeText is a time and its JSON text.
type timeText struct {
	t    time.Time
	text []byte
}

// append writes t, reusing the text of the last time it wrote when t is
// the same value (== on purpose: the same instant in another location is
// written differently).
func (tt *timeText) append(b []byte, t time.Time) ([]byte, error) {
	if tt.text == nil || t != tt.t {
		text, err := jsonappend.Time(tt.text[:0], t)
		if err != nil {
			return nil, err
		}
		tt.t, tt.text = t, text
	}
	return append(b, tt.text...), nil
}

// encode returns the line for p and pm, valid until the next call.
func (e *gpiEncoder) encode(p storage.Pin, pm types.PeerMap) ([]byte, error) {
	// A CID's text (base58, base32) never needs escaping.
	b := append(e.line[:0], `{"cid":"`...)
	b = cidtext.Append(b, p.Cid)
	b = append(b, `","name":`...)
	b = jsonappend.String(b, p.Name)
	b = append(b, `,"allocations":`...)
	b = appendList(b, p.Allocations)
	b = append(b, `,"origins":`...)
	b = appendList(b, p.Origins)
	b = append(b, `,"created":`...)
	b, err := e.created.append(b, p.Timestamp.UTC())
	if err != nil {
		return nil, err
	}
	b = append(b, `,"metadata":{`...)
	for i, k := range sortedKeys(&e.keys, p.Metadata) {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonappend.String(b, k)
		b = append(b, ':')
		b = jsonappend.String(b, p.Metadata[k])
	}
	b = append(b, `},"peer_map":{`...)
	for i, id := range sortedKeys(&e.keys, pm) {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = e.appendPinStatus(b, id, pm[id]); err != nil {
			return nil, err
		}
	}
	b = append(b, "}}\n"...)
	e.line = b
	return b, nil
}

// appendList writes a list that NewGlobalPinInfo makes [] when nil.
func appendList(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "[]"...)
	}
	return jsonappend.Strings(b, ss)
}

// sortedKeys lists m's keys in order, as encoding/json writes a map, in
// the scratch slice.
func sortedKeys[V any](scratch *[]string, m map[string]V) []string {
	keys := (*scratch)[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	*scratch = keys
	return keys
}

// appendPinStatus writes the peer_map entry of peer id.
func (e *gpiEncoder) appendPinStatus(b []byte, id string, st types.PinStatus) ([]byte, error) {
	if e.peers == nil {
		e.peers = map[string]*peerText{}
	}
	pt := e.peers[id]
	if pt == nil || pt.name != st.PeerName || pt.ipfsPeer != st.IPFSPeerID {
		pt = &peerText{name: st.PeerName, ipfsPeer: st.IPFSPeerID}
		h := jsonappend.String(nil, id)
		h = append(h, `:{"peername":`...)
		h = jsonappend.String(h, st.PeerName)
		if st.IPFSPeerID != "" {
			h = append(h, `,"ipfs_peer_id":`...)
			h = jsonappend.String(h, st.IPFSPeerID)
		}
		pt.head = append(h, `,"status":`...)
		e.peers[id] = pt
	}
	b = append(b, pt.head...)
	b = jsonappend.String(b, st.Status)
	b = append(b, `,"timestamp":`...)
	b, err := pt.timestamp.append(b, st.Timestamp)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"error":`...)
	b = jsonappend.String(b, st.Error)
	b = append(b, `,"attempt_count":`...)
	b = strconv.AppendInt(b, int64(st.AttemptCount), 10)
	b = append(b, `,"priority_pin":`...)
	b = strconv.AppendBool(b, st.PriorityPin)
	return append(b, '}'), nil
}
