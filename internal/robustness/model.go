// Package robustness checks a history of pin, unpin and read operations
// against the cluster pinset's sequential specification, with porcupine, the
// linearizability checker that etcd's robustness tests use. The nemesis and
// the clients that make the history live in this package's tests, against
// the in-process harness.
//
// # The model
//
// The pinset is a map from key (a CID of the test's small key space) to the
// name of the pin that holds it, "" when the key is not pinned. Every pin the
// clients write carries a name no other write uses, so a read tells exactly
// which write it sees: an old write coming back from the dead, or a read that
// misses an acknowledged write, cannot hide behind an equal value. Keys are
// independent, so the history is checked one key at a time (porcupine's
// partitions).
//
// # What a history may claim, and why it is sound
//
//   - A write (pin or unpin) that returned success took effect once, between
//     its call and its return: its Raft entry was committed in that window.
//   - A write that failed took effect at some time after its call, or never:
//     a forwarded write may have been committed although its answer was
//     lost. It is recorded as pending (its return is after the end of the
//     history), so the checker may place it anywhere after its call,
//     including after everything, where it changes nothing observed.
//   - A read is Node.Get on one peer: that peer's applied copy of the pinset,
//     which can lag the leader. It is NOT linearizable by itself, so its
//     interval does not start at its call. It starts at the peer's floor: the
//     latest call time of any write that had returned success through that
//     peer before the read began. Such a write is applied on that peer
//     before it returns, and the peer applies the log in order, so the read
//     sees the state at some log index at or after that write's entry: a
//     state that was current at some moment between the floor and the read's
//     return. A client that wants a fresh read first writes a barrier
//     through the peer (a pin of a sentinel key, outside the history), which
//     lifts the floor to just before the read: such a read is linearizable,
//     and must see every write that returned before the barrier was called.
//   - An unpin that answers "not found" wrote nothing: the peer found no pin
//     in its own copy. It is recorded as a read that saw "not pinned".
//
// What this proves, and what it does not: the pinset, as seen through
// Node.Pin, Node.Unpin and Node.Get, behaves as one register per key in which
// every acknowledged write takes effect once, inside its call, in one order
// that every reader agrees with. A read may be stale, but never older than
// its peer's floor: after a barrier, it sees every write that returned
// before the barrier began (read-your-writes across peers). So nothing
// acknowledged is lost, nothing removed comes back, and a retried write
// cannot take effect a second time around another client's write while a
// reader watches. Plain reads do not prove monotonic reads: two reads on one
// peer with the same floor may be placed in either order. A violation that
// no read observes is not seen either. And the check says nothing about
// what the IPFS nodes hold: the invariants after a run check that.
package robustness

import (
	"fmt"
	"hash/fnv"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does.
type Kind uint8

const (
	Pin   Kind = iota + 1 // pin the key under a new name
	Unpin                 // remove the key's pin
	Read                  // read the key's pin name ("" when not pinned)
)

func (k Kind) String() string {
	switch k {
	case Pin:
		return "pin"
	case Unpin:
		return "unpin"
	case Read:
		return "read"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Input is an operation as called.
type Input struct {
	Kind  Kind
	Key   int
	Value string // the name a Pin writes
}

// Output is what came back.
type Output struct {
	Value   string // the name a Read saw, "" for not pinned
	Unknown bool   // a write whose outcome is unknown: it failed
}

// Model is the pinset's sequential specification, partitioned by key.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		var keys []int
		for _, op := range history {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(Input), output.(Output)
		switch in.Kind {
		case Pin:
			return true, in.Value
		case Unpin:
			return true, ""
		case Read:
			return out.Value == state.(string), state
		}
		return false, state
	},
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		var s string
		switch in.Kind {
		case Pin:
			s = fmt.Sprintf("pin(k%d, %s)", in.Key, in.Value)
		case Unpin:
			s = fmt.Sprintf("unpin(k%d)", in.Key)
		default:
			s = fmt.Sprintf("read(k%d) -> %s", in.Key, describeValue(out.Value))
		}
		if out.Unknown {
			s += " ?"
		}
		return s
	},
	DescribeState: func(state any) string { return describeValue(state.(string)) },
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return fmt.Sprint(info)
	},
}

func describeValue(v string) string {
	if v == "" {
		return "not pinned"
	}
	return v
}
