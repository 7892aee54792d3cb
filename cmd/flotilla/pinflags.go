package main

import (
	"flag"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// pinOptionFlags are the flags named after the API's pin option query
// parameters (features doc §2.2): a flag the user sets is sent as is, and
// the server checks it, so that the CLI and the API cannot disagree.
var pinOptionFlags = []string{
	"name", "mode", "replication", "replication-min", "replication-max",
	"user-allocations", "expire-in", "expire-at", "origins",
}

// metaFlag collects repeated --meta k=v.
type metaFlag map[string]string

func (m metaFlag) String() string { return formatMetadata(m) }

func (m metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[k] = v
	return nil
}

type pinFlags struct {
	fs   *flag.FlagSet
	meta metaFlag
}

func addPinFlags(fs *flag.FlagSet) *pinFlags {
	pf := &pinFlags{fs: fs, meta: metaFlag{}}
	fs.String("name", "", "pin name")
	fs.String("mode", "", "recursive (default) or direct")
	fs.Int("replication", 0, "sets both replication factors (-1: every peer)")
	fs.Int("replication-min", 0, "fewest peers that must hold the pin (-1: every peer; 0: cluster default)")
	fs.Int("replication-max", 0, "most peers that may hold the pin (-1: every peer; 0: cluster default)")
	fs.String("user-allocations", "", "peer IDs to allocate first, comma-separated")
	fs.Duration("expire-in", 0, "unpin after this long, such as 24h")
	fs.String("expire-at", "", "unpin at this RFC3339 time")
	fs.Var(pf.meta, "meta", "metadata key=value (repeatable)")
	fs.String("origins", "", "multiaddrs (with /p2p/) of nodes that have the content, comma-separated")
	return pf
}

// query is the options the user set, as the API's query parameters.
func (pf *pinFlags) query() url.Values {
	q := url.Values{}
	pf.fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "meta":
			for k, v := range pf.meta {
				q.Set("meta-"+k, v)
			}
		case slices.Contains(pinOptionFlags, f.Name):
			q.Set(f.Name, f.Value.String())
		}
	})
	return q
}

// optionsQuery gives a pin's options as query parameters, for pin update
// to carry them over to the new CID.
func optionsQuery(p storage.Pin, now time.Time) url.Values {
	q := url.Values{}
	if p.Name != "" {
		q.Set("name", p.Name)
	}
	if p.Mode == storage.Direct {
		q.Set("mode", "direct")
	}
	if p.ReplicationFactorMin != 0 {
		q.Set("replication-min", strconv.Itoa(p.ReplicationFactorMin))
	}
	if p.ReplicationFactorMax != 0 {
		q.Set("replication-max", strconv.Itoa(p.ReplicationFactorMax))
	}
	if len(p.UserAllocations) > 0 {
		q.Set("user-allocations", strings.Join(p.UserAllocations, ","))
	}
	// A past expiry is refused by the API: the old pin is about to go
	// anyway, and the new one should not inherit a date it cannot have.
	if p.ExpireAt.After(now) {
		q.Set("expire-at", p.ExpireAt.UTC().Format(time.RFC3339Nano))
	}
	for k, v := range p.Metadata {
		q.Set("meta-"+k, v)
	}
	if len(p.Origins) > 0 {
		q.Set("origins", strings.Join(p.Origins, ","))
	}
	return q
}

// override lays the options the user set over inherited ones. Options that
// come in pairs replace each other: --meta replaces all metadata,
// --replication both factors, --expire-in the inherited expiry.
func override(base, set url.Values) url.Values {
	out := maps.Clone(base)
	drop := func(keep func(string) bool) {
		for k := range out {
			if !keep(k) {
				delete(out, k)
			}
		}
	}
	for k := range set {
		switch {
		case strings.HasPrefix(k, "meta-"):
			drop(func(k string) bool { return !strings.HasPrefix(k, "meta-") || set.Has(k) })
		case k == "replication":
			drop(func(k string) bool { return k != "replication-min" && k != "replication-max" })
		case k == "expire-in":
			drop(func(k string) bool { return k != "expire-at" })
		}
	}
	maps.Copy(out, set)
	return out
}
