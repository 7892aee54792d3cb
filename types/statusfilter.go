package types

import (
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// statusFilterNames are the names an ipfs-cluster status filter may list
// (its TrackerStatus strings), each with the statuses it passes. Flotilla
// never reports sharded, but a filter naming it is valid there, so it is
// here; unexpectedly_unpinned only a status of one CID reports. undefined is a name that passes nothing:
// ipfs-cluster's filter for it alone is empty, and refused.
var statusFilterNames = map[string][]string{
	"undefined":                       nil,
	StatusClusterError:                {StatusClusterError},
	string(storage.StatusPinError):    {string(storage.StatusPinError)},
	string(storage.StatusUnpinError):  {string(storage.StatusUnpinError)},
	"error":                           {StatusClusterError, string(storage.StatusPinError), string(storage.StatusUnpinError)},
	string(storage.StatusPinned):      {string(storage.StatusPinned)},
	string(storage.StatusPinning):     {string(storage.StatusPinning)},
	string(storage.StatusUnpinning):   {string(storage.StatusUnpinning)},
	StatusUnpinned:                    {StatusUnpinned},
	StatusRemote:                      {StatusRemote},
	string(storage.StatusPinQueued):   {string(storage.StatusPinQueued)},
	string(storage.StatusUnpinQueued): {string(storage.StatusUnpinQueued)},
	"queued":                          {string(storage.StatusPinQueued), string(storage.StatusUnpinQueued)},
	"sharded":                         {"sharded"},
	StatusUnexpectedlyUnpinned:        {StatusUnexpectedlyUnpinned},
}

// StatusFilterNames lists, sorted, the names a status filter may use, as
// help, errors and completion offer them: undefined, which passes nothing,
// is taken beside others but offered nowhere.
func StatusFilterNames() []string {
	names := make([]string, 0, len(statusFilterNames))
	for n := range statusFilterNames {
		if n != "undefined" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// StatusFilter is a set of statuses, as GET /pins?filter= and `flotilla
// status --filter` take them; nil passes everything.
type StatusFilter map[string]bool

// ParseStatusFilter reads ipfs-cluster's comma-separated filter: "" is nil,
// and the names it does not know are returned apart, for the caller to
// skip (the REST API, as ipfs-cluster's does) or refuse (the CLI). A
// filter that passes nothing is empty, not nil.
func ParseStatusFilter(s string) (f StatusFilter, unknown []string) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	f = StatusFilter{}
	for name := range strings.SplitSeq(strings.ReplaceAll(s, " ", ""), ",") {
		members, ok := statusFilterNames[name]
		if !ok {
			unknown = append(unknown, name)
		}
		for _, m := range members {
			f[m] = true
		}
	}
	return f, unknown
}

// Apply keeps the peers whose status passes, and says whether any did.
func (f StatusFilter) Apply(pm PeerMap) (PeerMap, bool) {
	if f == nil {
		return pm, true
	}
	out := make(PeerMap, len(pm))
	for id, st := range pm {
		if f[st.Status] {
			out[id] = st
		}
	}
	return out, len(out) > 0
}
