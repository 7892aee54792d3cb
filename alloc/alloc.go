// Package alloc chooses the peers that hold a pin. It is pure: the same
// request always gives the same answer, so the leader can decide before a
// commit and every peer applies the same allocation.
package alloc

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// Candidate is a healthy peer and its latest metrics.
type Candidate struct {
	ID        string
	FreeSpace uint64
	PinCount  uint64
	Tags      map[string]string
}

// Request describes one pin to place.
type Request struct {
	// Min and Max are the replication factors. -1/-1 means every peer and
	// allocates nobody by name.
	Min, Max int
	// Current are the peers that hold the pin now; the healthy ones stay.
	Current []string
	// Priority are user allocations: chosen before any ranked candidate.
	Priority []string
	// Candidates are the healthy peers, with metrics.
	Candidates []Candidate
	// Key names the pin (its CID). Candidates that tie on every metric are
	// ordered by a hash of the key and their ID, so that pins spread over
	// equal peers instead of piling on the lowest ID.
	Key string
	// AllocateBy orders the ranking: "tag:<name>" spreads replicas across
	// distinct values of the tag, "freespace" prefers the most free space,
	// "pincount" the fewest pins. Free space breaks remaining ties.
	AllocateBy []string
}

// NotEnoughPeersError says how far the healthy peers fall short of the
// minimum, with ipfs-cluster's wording so that its users recognise it.
type NotEnoughPeersError struct {
	Needed, Wanted, Available int
}

func (e *NotEnoughPeersError) Error() string {
	return fmt.Sprintf("not enough peers to allocate CID. Needed at least: %d. Wanted at most: %d. Available candidates: %d",
		e.Needed, e.Wanted, e.Available)
}

// Allocate returns the peers to hold the pin: the healthy current holders
// first, then the user's priority peers, then the best-ranked candidates, up
// to Max. Fewer than Min healthy peers is a *NotEnoughPeersError. Between
// Min and Max it succeeds with what there is, so that a later call (a
// top-up) can add peers as they join.
func Allocate(r Request) ([]string, error) {
	if r.Min == -1 && r.Max == -1 {
		return nil, nil
	}
	healthy := make(map[string]Candidate, len(r.Candidates))
	for _, c := range r.Candidates {
		healthy[c.ID] = c
	}
	var chosen []Candidate
	take := func(id string) {
		if c, ok := healthy[id]; ok && len(chosen) < r.Max {
			chosen = append(chosen, c)
			delete(healthy, id)
		}
	}
	for _, id := range r.Current {
		take(id)
	}
	for _, id := range r.Priority {
		take(id)
	}
	rest := make([]Candidate, 0, len(healthy))
	for _, c := range healthy {
		rest = append(rest, c)
	}
	rankByMetrics(rest, r.AllocateBy, r.Key)
	tags := tagNames(r.AllocateBy)
	for len(chosen) < r.Max && len(rest) > 0 {
		i := pickSpreading(rest, chosen, tags)
		chosen = append(chosen, rest[i])
		rest = slices.Delete(rest, i, i+1)
	}
	if len(chosen) < r.Min {
		return nil, &NotEnoughPeersError{Needed: r.Min, Wanted: r.Max, Available: len(chosen)}
	}
	ids := make([]string, len(chosen))
	for i, c := range chosen {
		ids[i] = c.ID
	}
	return ids, nil
}

// metric is a numeric criterion of AllocateBy: compare is negative when
// a ranks before b.
type metric struct {
	name    string
	compare func(a, b Candidate) int
}

// metrics are the numeric criteria AllocateBy may name, in the order that
// breaks the ties the operator's order leaves. Ranking and CheckAllocateBy
// both read this one list, so that a name is accepted exactly when it ranks.
func metrics() []metric {
	return []metric{
		{"freespace", func(a, b Candidate) int { return cmp.Compare(spaceBucket(b.FreeSpace), spaceBucket(a.FreeSpace)) }},
		{"pincount", func(a, b Candidate) int { return cmp.Compare(a.PinCount, b.PinCount) }},
	}
}

// tagPrefix starts a criterion that spreads replicas across the values of
// a tag: "tag:region".
const tagPrefix = "tag:"

// CheckAllocateBy refuses a criterion that the ranking does not know,
// which it would otherwise skip in silence, dropping a placement rule.
func CheckAllocateBy(allocateBy []string) error {
	known := metrics()
	for _, m := range allocateBy {
		if name, ok := strings.CutPrefix(m, tagPrefix); ok && name != "" {
			continue
		}
		if slices.ContainsFunc(known, func(k metric) bool { return k.name == m }) {
			continue
		}
		forms := make([]string, 0, len(known)+1)
		for _, k := range known {
			forms = append(forms, k.name)
		}
		return fmt.Errorf("%q is not a criterion: use %s or %s<name>", m, strings.Join(forms, ", "), tagPrefix)
	}
	return nil
}

// rankByMetrics sorts best first by the numeric metrics, in the order the
// operator listed them, then free space and pin count, then a hash of the
// pin's key and the peer's ID: the order is total, the result deterministic,
// and pins spread evenly over peers that tie (rendezvous hashing).
func rankByMetrics(cs []Candidate, allocateBy []string, key string) {
	known := metrics()
	var order []func(a, b Candidate) int
	for _, name := range allocateBy {
		if i := slices.IndexFunc(known, func(k metric) bool { return k.name == name }); i >= 0 {
			order = append(order, known[i].compare)
		}
	}
	for _, k := range known {
		order = append(order, k.compare)
	}
	tie := make(map[string]uint64, len(cs))
	for _, c := range cs {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(c.ID))
		tie[c.ID] = mix(h.Sum64())
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		for _, compare := range order {
			if c := compare(a, b); c != 0 {
				return c < 0
			}
		}
		if tie[a.ID] != tie[b.ID] {
			return tie[a.ID] > tie[b.ID]
		}
		return a.ID < b.ID
	})
}

// mix is splitmix64's finalizer: FNV alone orders IDs that differ in their
// last byte almost the same way for every key.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// spaceBucket groups free space in steps of about 6% (16 per doubling), so
// that disks of the same size, which differ by a few bytes as pins land, rank
// as equal and let the next criteria spread the pins.
func spaceBucket(free uint64) uint64 {
	n := bits.Len64(free)
	if n <= 5 {
		return free
	}
	return uint64(n)<<4 | (free>>(n-5))&0xF
}

func tagNames(allocateBy []string) []string {
	var out []string
	for _, m := range allocateBy {
		if name, ok := strings.CutPrefix(m, tagPrefix); ok {
			out = append(out, name)
		}
	}
	return out
}

// pickSpreading returns the index of the ranked candidate whose tag values
// are least represented among the chosen peers, earlier tags weighing more;
// with no tags it is the best-ranked candidate.
func pickSpreading(ranked, chosen []Candidate, tags []string) int {
	if len(tags) == 0 {
		return 0
	}
	best, bestScore := 0, []int(nil)
	for i, c := range ranked {
		score := make([]int, len(tags))
		for t, tag := range tags {
			for _, h := range chosen {
				if h.Tags[tag] == c.Tags[tag] {
					score[t]++
				}
			}
		}
		if bestScore == nil || slices.Compare(score, bestScore) < 0 {
			best, bestScore = i, score
		}
	}
	return best
}

// CheckFactors applies ipfs-cluster's rules: both -1 (every peer), or
// 1 <= min <= max. Zero is "use the default" in requests and is resolved
// before this check.
func CheckFactors(min, max int) error {
	switch {
	case min == -1 && max == -1:
		return nil
	case min == -1 || max == -1:
		return fmt.Errorf("replication factors must both be -1 (every peer) or both positive, got min %d and max %d", min, max)
	case min < 1 || max < 1:
		return fmt.Errorf("replication factors must be positive or -1, got min %d and max %d", min, max)
	case min > max:
		return fmt.Errorf("replication factor min %d is larger than max %d", min, max)
	}
	return nil
}

// CheckRequested refuses the replication factors of a request that no
// default can repair, before the cluster fills in its defaults: both APIs
// answer them as the client's mistake. A zero is the configured default,
// and a finite minimum with -1 as maximum means "every current peer", so
// both pass; each factor is at least -1, which the caller checks, naming
// its own parameter.
func CheckRequested(min, max int) error {
	switch {
	case min == -1 && max > 0:
		return fmt.Errorf("replication-min -1 (every peer) needs replication-max -1, got %d", max)
	case min > 0 && max > 0 && min > max:
		return fmt.Errorf("replication-min %d is larger than replication-max %d", min, max)
	}
	return nil
}
