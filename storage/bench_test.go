package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"
)

// benchPin is a typical replicated pin: three allocations, a name, one
// metadata entry, a timestamp.
func benchPin(i int) Pin {
	return Pin{
		Cid:                  testCid(i),
		Name:                 fmt.Sprintf("dataset/%08d", i),
		ReplicationFactorMin: 2,
		ReplicationFactorMax: 3,
		Allocations: []string{
			"12D3KooWLZd6sBHWoTWeGeTr36rUT6Tz8A9vJXN1TVDvDLfEsGJ3",
			"12D3KooWHnnC8Hk7XKEgoFQEMeR2W6mPUE7drWGUZsdNvEUuGZ9P",
			"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
		},
		Metadata:  map[string]string{"source": "ingest"},
		Timestamp: time.Unix(1700000000, int64(i)).UTC(),
	}
}

func benchPins(first, n int) []Pin {
	ps := make([]Pin, n)
	for i := range ps {
		ps[i] = benchPin(first + i)
	}
	return ps
}

func perPin(b *testing.B, pinsPerOp int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pinsPerOp), "ns/pin")
}

// BenchmarkApply compares one 100-pin batch per transaction with 100
// single-pin transactions: the fsync per transaction is what group commit
// saves. Compare their ns/pin.
func BenchmarkApply(b *testing.B) {
	const pins = 100
	b.Run("batch100", func(b *testing.B) {
		s := openTestState(b)
		cmds := make([]Command, b.N)
		for i := range cmds {
			cmds[i] = pinCmd(benchPins(i*pins, pins)...)
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := s.Apply(uint64(i+1), cmds[i]); err != nil {
				b.Fatal(err)
			}
		}
		perPin(b, pins)
	})
	b.Run("single100", func(b *testing.B) {
		s := openTestState(b)
		cmds := make([]Command, b.N*pins)
		for i := range cmds {
			cmds[i] = pinCmd(benchPin(i))
		}
		b.ResetTimer()
		for i := range cmds {
			if _, err := s.Apply(uint64(i+1), cmds[i]); err != nil {
				b.Fatal(err)
			}
		}
		perPin(b, pins)
	})
}

func BenchmarkCodec(b *testing.B) {
	const pins = 100
	c := pinCmd(benchPins(0, pins)...)
	enc, err := EncodeCommand(c)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeCommand(c); err != nil {
				b.Fatal(err)
			}
		}
		perPin(b, pins)
		b.ReportMetric(float64(len(enc))/pins, "bytes/pin")
	})
	b.Run("decode100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeCommand(enc); err != nil {
				b.Fatal(err)
			}
		}
		perPin(b, pins)
	})
}

func BenchmarkForEach(b *testing.B) {
	const total = 20_000
	s := openTestState(b)
	for i := 0; i < total; i += 1000 {
		if _, err := s.Apply(uint64(i/1000+1), pinCmd(benchPins(i, 1000)...)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ForEach", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			s.ForEach(func(Pin) error { n++; return nil })
			if n != total {
				b.Fatal(n)
			}
		}
		perPin(b, total)
	})
	b.Run("ForEachFrom1000", func(b *testing.B) {
		for b.Loop() {
			n, after := 0, cid.Undef
			for {
				last, err := s.ForEachFrom(after, 1000, func(Pin) error { n++; return nil })
				if err != nil {
					b.Fatal(err)
				}
				if !last.Defined() {
					break
				}
				after = last
			}
			if n != total {
				b.Fatal(n)
			}
		}
		perPin(b, total)
	})
}

// BenchmarkFSMApplyBatch feeds Raft-sized batches (64 entries of 100 pins)
// through the FSM: one transaction per batch.
func BenchmarkFSMApplyBatch(b *testing.B) {
	const entries, pins = 64, 100
	s := openTestState(b)
	f := NewFSM(s, zerolog.Nop(), nil)
	batches := make([][]*raft.Log, b.N)
	for i := range batches {
		for j := range entries {
			first := (i*entries + j) * pins
			batches[i] = append(batches[i], cmdLog(b, uint64(i*entries+j+1), pinCmd(benchPins(first, pins)...)))
		}
	}
	b.ResetTimer()
	for i := range b.N {
		for j, r := range f.ApplyBatch(batches[i]) {
			if r != nil {
				b.Fatalf("entry %d of batch %d: %v", j, i, r)
			}
		}
	}
	perPin(b, entries*pins)
}

// BenchmarkStatusQueueScan finds the few queued records among many pinned
// ones: its cost must not depend on the pinned count.
func BenchmarkStatusQueueScan(b *testing.B) {
	for _, pinned := range []int{1_000, 50_000} {
		b.Run(fmt.Sprint("pinned", pinned), func(b *testing.B) {
			s := openTestStatus(b)
			for i := 0; i < pinned; i += 1000 {
				var batch []LocalStatus
				for j := i; j < i+1000; j++ {
					batch = append(batch, LocalStatus{Cid: testCid(j), Status: StatusPinned})
				}
				if err := s.PutMany(batch); err != nil {
					b.Fatal(err)
				}
			}
			for j := range 3 {
				s.Put(LocalStatus{Cid: testCid(pinned + j), Status: StatusPinQueued})
			}
			want := []TrackerStatus{StatusPinQueued, StatusPinError}
			for b.Loop() {
				n := 0
				s.ForEachWithStatus(want, cid.Undef, 100, func(LocalStatus) error { n++; return nil })
				if n != 3 {
					b.Fatal(n)
				}
			}
		})
	}
}
