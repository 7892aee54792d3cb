package pinsvc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// The spec's limits on GET /pins.
const (
	defaultLimit = 10
	maxLimit     = 1000
	maxCidFilter = 10
)

// filter is a parsed GET /pins query.
type filter struct {
	cids     []cid.Cid // nil: any CID
	name     string    // "": any name
	folded   string    // name in lower case, for ipartial
	match    string
	statuses map[string]bool
	before   time.Time // zero: no bound
	after    time.Time
	limit    int
	meta     map[string]string
}

// parseFilter reads the query. cid and status come comma-separated in one
// value (the spec's form,explode=false), which is also split when repeated.
func parseFilter(q url.Values) (filter, error) {
	f := filter{match: "exact", limit: defaultLimit}
	if vs, ok := q["cid"]; ok {
		seen := map[cid.Cid]bool{}
		for _, s := range list(vs) {
			c, err := cid.Decode(s)
			if err != nil {
				return f, errBadRequest(fmt.Sprintf("cid filter: invalid cid %s: %v", quote(s), err))
			}
			if !seen[c] {
				seen[c] = true
				f.cids = append(f.cids, c)
			}
		}
		if len(f.cids) == 0 {
			return f, errBadRequest("cid filter: no CID given")
		}
		if len(f.cids) > maxCidFilter {
			return f, errBadRequest(fmt.Sprintf("cid filter: %d CIDs, more than the %d allowed per request", len(f.cids), maxCidFilter))
		}
	}
	f.statuses = map[string]bool{pinned: true}
	if vs, ok := q["status"]; ok {
		f.statuses = map[string]bool{}
		for _, s := range list(vs) {
			switch s {
			case queued, pinning, pinned, failed:
				f.statuses[s] = true
			default:
				return f, errBadRequest(fmt.Sprintf("status filter: %s is not one of queued, pinning, pinned, failed", quote(s)))
			}
		}
		if len(f.statuses) == 0 {
			return f, errBadRequest("status filter: no status given")
		}
	}
	f.name = q.Get("name")
	f.folded = strings.ToLower(f.name)
	if n := utf8.RuneCountInString(f.name); n > maxName {
		return f, errBadRequest(fmt.Sprintf("name filter is %d characters long, more than the %d allowed", n, maxName))
	}
	if m := q.Get("match"); m != "" {
		switch m {
		case "exact", "iexact", "partial", "ipartial":
			f.match = m
		default:
			return f, errBadRequest(fmt.Sprintf("match: %s is not one of exact, iexact, partial, ipartial", quote(m)))
		}
	}
	var err error
	if f.before, err = parseTime(q, "before"); err != nil {
		return f, err
	}
	if f.after, err = parseTime(q, "after"); err != nil {
		return f, err
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return f, errBadRequest(fmt.Sprintf("limit: %s is not an integer from 1 to %d", quote(s), maxLimit))
		}
		f.limit = n
	}
	if s := q.Get("meta"); s != "" {
		if err := json.Unmarshal([]byte(s), &f.meta); err != nil || f.meta == nil {
			return f, errBadRequest("meta filter: must be a JSON object of strings, e.g. {\"app\":\"x\"}")
		}
	}
	return f, nil
}

// list splits comma-separated values, dropping empty items.
func list(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// parseTime accepts RFC 3339 with any fraction and any offset, as clients
// echo back whatever created values they were given.
func parseTime(q url.Values, key string) (time.Time, error) {
	s := q.Get(key)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errBadRequest(fmt.Sprintf("%s: %s is not an RFC 3339 date-time", key, quote(s)))
	}
	return t, nil
}

// allStatuses reports whether the status filter lets everything through,
// so that no peer need be asked about pins that do not reach the page.
func (f *filter) allStatuses() bool { return len(f.statuses) == 4 }

// matches applies every filter that needs no peer status. Cheap tests first:
// it runs on every pin of the pinset.
func (f *filter) matches(p storage.Pin) bool {
	if !f.before.IsZero() && !p.Timestamp.Before(f.before) {
		return false
	}
	if !f.after.IsZero() && !p.Timestamp.After(f.after) {
		return false
	}
	if f.name != "" && !f.matchName(p.Name) {
		return false
	}
	for k, v := range f.meta {
		if got, ok := p.Metadata[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (f *filter) matchName(name string) bool {
	switch f.match {
	case "iexact":
		return strings.EqualFold(name, f.name)
	case "partial":
		return strings.Contains(name, f.name)
	case "ipartial":
		return strings.Contains(strings.ToLower(name), f.folded)
	}
	return name == f.name
}
