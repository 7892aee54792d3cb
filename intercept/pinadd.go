package intercept

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"golang.org/x/sync/errgroup"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// addPinOutput is Kubo's AddPinOutput. All fields are omitempty, so a
// progress tick with nothing fetched yet is the line {}.
type addPinOutput struct {
	Pins     []string `json:",omitempty"`
	Progress uint64   `json:",omitempty"`
	Bytes    uint64   `json:",omitempty"`
}

func textPinAdd(o options, w io.Writer, v any) error {
	how := "recursively"
	if !o.flag("recursive", true) {
		how = "directly"
	}
	for _, k := range v.(addPinOutput).Pins {
		if _, err := fmt.Fprintf(w, "pinned %s %s\n", k, how); err != nil {
			return err
		}
	}
	return nil
}

// runPinAdd commits one cluster pin per argument, in order, then waits
// until each is pinned somewhere (unless the operator chose "committed"),
// because Kubo's promise is that content is pinned when pin add returns.
func runPinAdd(c *call) error {
	name := c.opts.str("name")
	if err := storage.ValidatePinName(name); err != nil {
		return err
	}
	tmpl := storage.Pin{Name: name, Mode: storage.Recursive}
	if !c.opts.flag("recursive", true) {
		tmpl.Mode = storage.Direct
	}
	if err := replicationFromQuery(&tmpl, c.opts); err != nil {
		return err
	}

	if !c.opts.flag("progress", false) {
		pins, err := c.pinMany(c.ctx, tmpl, nil)
		if err != nil {
			return err
		}
		return c.out.once(addPinOutput{Pins: pins})
	}

	// Kubo streams a tick every 500 ms while the pin runs, then the result.
	var prog progressSum
	type result struct {
		pins []string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		pins, err := c.pinMany(c.ctx, tmpl, &prog)
		done <- result{pins, err}
	}()
	t := time.NewTicker(c.h.tick)
	defer t.Stop()
	for {
		select {
		case res := <-done:
			if res.err != nil {
				return res.err
			}
			if n, b := prog.total(); n != 0 {
				if err := c.out.emit(addPinOutput{Progress: n, Bytes: b}); err != nil {
					return err
				}
			}
			return c.out.emit(addPinOutput{Pins: res.pins})
		case <-t.C:
			n, b := prog.total()
			if err := c.out.emit(addPinOutput{Progress: n, Bytes: b}); err != nil {
				return err
			}
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
	}
}

// replicationFromQuery reads ipfs-cluster's replication query options into
// p: "replication" sets both factors and wins over replication-min and
// replication-max, as in ipfs-cluster's PinOptions.FromQuery; zero leaves the
// cluster's defaults. Factors no default can repair are the client's
// mistake, refused as a 400 before anything is committed.
func replicationFromQuery(p *storage.Pin, o options) error {
	minKey, maxKey := "replication-min", "replication-max"
	if o.isSet("replication") {
		minKey, maxKey = "replication", "replication"
	}
	for _, f := range []struct {
		key string
		to  *int
	}{{minKey, &p.ReplicationFactorMin}, {maxKey, &p.ReplicationFactorMax}} {
		n, ok := o.num(f.key)
		if !ok {
			continue
		}
		if n < -1 {
			return clientError(fmt.Sprintf("invalid value %d for option %q: a replication factor is -1 (every peer), 0 (the cluster's default) or positive", n, "-"+f.key))
		}
		*f.to = n
	}
	if err := alloc.CheckRequested(p.ReplicationFactorMin, p.ReplicationFactorMax); err != nil {
		return clientError(err.Error())
	}
	return nil
}

// pinMany resolves each argument in order, then commits them all at once,
// so that the node's group commit takes them into few log entries instead
// of one round through Raft each. As in Kubo, the first argument that fails
// to resolve aborts and the ones before it are pinned; a commit that fails
// (no leader, too few peers: the same for every argument) may leave the
// others committed, where Kubo, pinning one by one, would stop.
func (c *call) pinMany(ctx context.Context, tmpl storage.Pin, prog *progressSum) ([]string, error) {
	cids, stop := c.resolveInOrder(func(arg string) (cid.Cid, error) { return c.resolveForPin(ctx, arg, tmpl.Mode) })
	uniq, argOf := distinct(cids, c.args)
	err := commitEach(ctx, uniq, func(ctx context.Context, _ int, ci cid.Cid) error {
		p := tmpl
		p.Cid = ci
		if _, err := c.h.cluster.Pin(ctx, p); err != nil {
			return kuboErr(opPin, argOf[ci], err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if stop != nil {
		return nil, stop
	}
	if err := c.h.waitPinned(ctx, cids, prog); err != nil {
		return nil, err
	}
	out := make([]string, len(cids))
	for i, ci := range cids {
		out[i] = c.enc.Encode(ci)
	}
	return out, nil
}

// resolveInOrder resolves the arguments in order until one fails, as Kubo
// goes through them: the CIDs of those before it, and its error.
func (c *call) resolveInOrder(resolve func(arg string) (cid.Cid, error)) ([]cid.Cid, error) {
	cids := make([]cid.Cid, 0, len(c.args))
	for _, arg := range c.args {
		ci, err := resolve(arg)
		if err != nil {
			return cids, err
		}
		cids = append(cids, ci)
	}
	return cids, nil
}

// resolveForPin resolves arg, refusing a direct pin of what the cluster
// pins recursively, as Kubo does.
func (c *call) resolveForPin(ctx context.Context, arg string, mode storage.Mode) (cid.Cid, error) {
	ci, err := c.h.resolve(ctx, arg)
	if err != nil || mode != storage.Direct {
		return ci, err
	}
	cur, err := c.h.cluster.Get(ctx, ci)
	switch {
	case err == nil && cur.Mode == storage.Recursive:
		return cid.Undef, errAlreadyRecursive(ci)
	case err != nil && !isNotFound(err):
		return cid.Undef, kuboErr(opPin, arg, err)
	}
	return ci, nil
}

// commitEach runs commit for every CID at once, at most maxWaits at a time
// (the node's group commit gathers concurrent writes into one entry), and
// returns the error of the first CID, in order, whose commit failed.
func commitEach(ctx context.Context, cids []cid.Cid, commit func(ctx context.Context, i int, ci cid.Cid) error) error {
	errs := make([]error, len(cids))
	var g errgroup.Group
	g.SetLimit(maxWaits)
	for i, ci := range cids {
		g.Go(func() error {
			errs[i] = commit(ctx, i, ci)
			return nil
		})
	}
	_ = g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// distinct is cids without repeats, in order (one commit each), and the
// argument that first named each, args being what cids were resolved from.
func distinct(cids []cid.Cid, args []string) ([]cid.Cid, map[cid.Cid]string) {
	argOf := make(map[cid.Cid]string, len(cids))
	out := make([]cid.Cid, 0, len(cids))
	for i, ci := range cids {
		if _, seen := argOf[ci]; !seen {
			argOf[ci] = args[i]
			out = append(out, ci)
		}
	}
	return out, argOf
}

// maxWaits bounds concurrent WaitPinned calls for long argument lists.
const maxWaits = 64

// waitPinned waits for every distinct CID concurrently, when the operator
// asked for "pinned" semantics, and returns the first failure.
func (h *Handlers) waitPinned(ctx context.Context, cids []cid.Cid, prog *progressSum) error {
	if !h.opts.WaitPinned {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxWaits)
	seen := make(map[cid.Cid]bool, len(cids))
	for _, ci := range cids {
		if seen[ci] {
			continue
		}
		seen[ci] = true
		var report func(nodes, bytes uint64)
		if prog != nil {
			report = prog.slot()
		}
		g.Go(func() error {
			if err := h.cluster.WaitPinned(gctx, ci, report); err != nil {
				return kuboErr(opPin, ci.String(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// progressSum adds up the fetch progress of concurrent waits.
type progressSum struct {
	mu    sync.Mutex
	nodes []uint64
	bytes []uint64
}

// slot returns a progress callback for one more wait.
func (p *progressSum) slot() func(nodes, bytes uint64) {
	p.mu.Lock()
	i := len(p.nodes)
	p.nodes = append(p.nodes, 0)
	p.bytes = append(p.bytes, 0)
	p.mu.Unlock()
	return func(n, b uint64) {
		p.mu.Lock()
		p.nodes[i], p.bytes[i] = n, b
		p.mu.Unlock()
	}
}

func (p *progressSum) total() (nodes, bytes uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.nodes {
		nodes += p.nodes[i]
		bytes += p.bytes[i]
	}
	return nodes, bytes
}
