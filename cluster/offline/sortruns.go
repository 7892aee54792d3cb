package offline

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// An import writes the pins into bbolt in CID order, whatever the order of
// the file: inserts at the end of the tree write each page once, where
// inserts all over it rewrite most of the tree every batch (10M pins took
// 7 minutes). The file is cut into runs of runPins pins, each sorted and
// kept on disk, and the runs are merged.
var (
	// runPins bounds the pins decoded in memory at once. A variable, so
	// that tests cover several runs with few pins.
	runPins = 1 << 18
	// runFrame is how many pins one frame of a run file holds.
	runFrame = 4096
)

// sortedRuns gathers pins into sorted runs.
type sortedRuns struct {
	dir   string
	ops   []storage.Op
	files []string
}

func (s *sortedRuns) add(p storage.Pin) error {
	s.ops = append(s.ops, storage.Op{Kind: storage.OpPin, Pin: p})
	if len(s.ops) < runPins {
		return nil
	}
	return s.spill()
}

// spill writes the pins gathered so far as a sorted run file.
func (s *sortedRuns) spill() error {
	path := filepath.Join(s.dir, fmt.Sprintf("run-%d", len(s.files)))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	ops := inKeyOrder(s.ops)
	for len(ops) > 0 {
		frame := ops[:min(len(ops), runFrame)]
		ops = ops[len(frame):]
		data, err := storage.EncodeCommand(storage.Command{Type: storage.CmdPinBatch, Ops: frame})
		if err != nil {
			f.Close()
			return err
		}
		w.Write(binary.AppendUvarint(nil, uint64(len(data))))
		w.Write(data)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	s.ops = s.ops[:0]
	s.files = append(s.files, path)
	return err
}

// merge hands apply the pins of every run in CID order, batch pins at a
// time. The same CID in two runs comes from the earlier run first, and
// within a run in the file's order: the later line wins, as it would
// unsorted.
func (s *sortedRuns) merge(batch int, apply func([]storage.Op) error) error {
	var runs runHeap
	for i, path := range s.files {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		runs = append(runs, &run{order: i, r: bufio.NewReaderSize(f, 1<<20)})
	}
	// The last run needs no trip to disk.
	runs = append(runs, &run{order: len(s.files), ops: inKeyOrder(s.ops)})
	for i := 0; i < len(runs); {
		if err := runs[i].fill(); err != nil {
			return err
		}
		if len(runs[i].ops) == 0 {
			runs = slices.Delete(runs, i, i+1)
			continue
		}
		i++
	}
	heap.Init(&runs)
	out := make([]storage.Op, 0, batch)
	for len(runs) > 0 {
		r := runs[0]
		out = append(out, r.ops[0])
		r.ops = r.ops[1:]
		if err := r.fill(); err != nil {
			return err
		}
		if len(r.ops) == 0 {
			heap.Pop(&runs)
		} else {
			heap.Fix(&runs, 0)
		}
		if len(out) == batch {
			if err := apply(out); err != nil {
				return err
			}
			out = make([]storage.Op, 0, batch)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return apply(out)
}

// run is a sorted run being merged: its next pins in memory, the rest in
// its file (r is nil for the run kept in memory).
type run struct {
	order int
	r     *bufio.Reader
	ops   []storage.Op
}

// fill reads the next frame once the pins in memory are used up.
func (r *run) fill() error {
	if len(r.ops) > 0 || r.r == nil {
		return nil
	}
	n, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r.r, data); err != nil {
		return err
	}
	cmd, err := storage.DecodeCommand(data)
	if err != nil {
		return err
	}
	r.ops = cmd.Ops
	return nil
}

type runHeap []*run

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := strings.Compare(h[i].ops[0].Pin.Cid.KeyString(), h[j].ops[0].Pin.Cid.KeyString()); c != 0 {
		return c < 0
	}
	return h[i].order < h[j].order
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// inKeyOrder sorts pins by CID bytes. The same CID twice keeps its order.
func inKeyOrder(ops []storage.Op) []storage.Op {
	order := make([]int, len(ops))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := strings.Compare(ops[a].Pin.Cid.KeyString(), ops[b].Pin.Cid.KeyString()); c != 0 {
			return c
		}
		return a - b
	})
	sorted := make([]storage.Op, len(ops))
	for i, j := range order {
		sorted[i] = ops[j]
	}
	return sorted
}
