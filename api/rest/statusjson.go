package rest

import (
	"slices"
	"strconv"

	"github.com/flotilla-ipfs/flotilla/internal/cidtext"
	"github.com/flotilla-ipfs/flotilla/internal/jsonappend"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// gpiEncoder writes the lines of a status listing: the bytes json.Encoder
// writes for types.NewGlobalPinInfo(p, pm), without reflection, a map per
// pin or a sort of fresh slices. A listing of a million pins spent most
// of its time encoding them with encoding/json.
type gpiEncoder struct {
	line []byte
	keys []string
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
	b, err := jsonappend.Time(b, p.Timestamp.UTC())
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
		b = jsonappend.String(b, id)
		b = append(b, ':')
		if b, err = appendPinStatus(b, pm[id]); err != nil {
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

func appendPinStatus(b []byte, st types.PinStatus) ([]byte, error) {
	b = append(b, `{"peername":`...)
	b = jsonappend.String(b, st.PeerName)
	if st.IPFSPeerID != "" {
		b = append(b, `,"ipfs_peer_id":`...)
		b = jsonappend.String(b, st.IPFSPeerID)
	}
	b = append(b, `,"status":`...)
	b = jsonappend.String(b, st.Status)
	b = append(b, `,"timestamp":`...)
	b, err := jsonappend.Time(b, st.Timestamp)
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
