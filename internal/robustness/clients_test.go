package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/harness"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// opTimeout bounds one client operation. A write on a minority gives up
// after the cluster's commit retry window (6s); a write through a peer
// killed under it waits for this.
const opTimeout = 8 * time.Second

// client pins, unpins and reads the keys through a random running peer at
// each step, and records what it saw.
type client struct {
	w    *world
	id   int // porcupine client ID, renewed after an unknown outcome
	rng  *rand.Rand
	name string
	seq  int
}

func (cl *client) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		alive := cl.w.c.Alive()
		if len(alive) == 0 {
			time.Sleep(10 * time.Millisecond) // pacing while every peer restarts
			continue
		}
		p := alive[cl.rng.IntN(len(alive))]
		key := cl.rng.IntN(len(cl.w.keys))
		switch r := cl.rng.Float64(); {
		case r < 0.35:
			cl.pin(p, key)
		case r < 0.55:
			cl.unpin(p, key)
		case r < 0.8:
			cl.read(p, key)
		default:
			cl.barrier(p)
			cl.read(p, key)
		}
		// Pacing: a few operations per second per client keeps the
		// history small enough to check, and the machine responsive.
		time.Sleep(time.Duration(cl.rng.IntN(40)) * time.Millisecond)
	}
}

func (cl *client) peerName(p *harness.Peer) string { return cl.w.names[p.ID] }

func (cl *client) pin(p *harness.Peer, key int) {
	cl.seq++
	name := fmt.Sprintf("%s-%d", cl.name, cl.seq)
	in := Input{Kind: Pin, Key: key, Value: name}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	call := cl.w.rec.Begin(cl.peerName(p))
	_, err := p.Node.Pin(ctx, cl.w.keyPin(key, name))
	if cl.w.rec.Write(call, cl.id, in, err) {
		cl.id = cl.w.rec.NewClient()
	}
}

func (cl *client) unpin(p *harness.Peer, key int) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	call := cl.w.rec.Begin(cl.peerName(p))
	_, err := p.Node.Unpin(ctx, cl.w.keys[key])
	if errors.Is(err, storage.ErrNotFound) {
		// The peer's own copy has no pin: nothing was written, and that
		// copy was read.
		cl.w.rec.Read(call, cl.id, key, "")
		return
	}
	if cl.w.rec.Write(call, cl.id, Input{Kind: Unpin, Key: key}, err) {
		cl.id = cl.w.rec.NewClient()
	}
}

func (cl *client) read(p *harness.Peer, key int) {
	call := cl.w.rec.Begin(cl.peerName(p))
	got, err := read(p, cl.w.keys[key])
	if err != nil {
		return // a read that failed tells nothing and changed nothing
	}
	cl.w.rec.Read(call, cl.id, key, got)
}

// barrier writes through p so that its next read is fresh (model.go).
func (cl *client) barrier(p *harness.Peer) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	call := cl.w.rec.Begin(cl.peerName(p))
	_, err := p.Node.Pin(ctx, cl.w.barrierPin(cl.id))
	cl.w.rec.Barrier(call, err)
}

// read returns the name of c's pin in p's copy of the pinset, "" when there
// is none.
func read(p *harness.Peer, c cid.Cid) (string, error) {
	pin, err := p.Node.Get(context.Background(), c)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	return pin.Name, err
}

// keyPin is the pin a client writes: even keys on every peer, odd keys on
// one to two peers (two to three of five), so that allocations move.
func (w *world) keyPin(key int, name string) storage.Pin {
	p := storage.Pin{Cid: w.keys[key], Name: name, Mode: storage.Recursive, ReplicationFactorMin: -1, ReplicationFactorMax: -1}
	if key%2 == 1 {
		p.ReplicationFactorMin, p.ReplicationFactorMax = w.cfg.peers/2, w.cfg.peers/2+1
	}
	return p
}

func (w *world) barrierPin(client int) storage.Pin {
	return storage.Pin{Cid: w.barrier, Name: fmt.Sprintf("barrier-%d", client), Mode: storage.Recursive,
		ReplicationFactorMin: -1, ReplicationFactorMax: -1}
}
