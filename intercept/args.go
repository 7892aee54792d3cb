package intercept

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// maxStdinArgs bounds the memory that reading the multipart argument list
// allocates: its bytes, and argOverhead for each argument (a million CIDs
// fit). TestStdinArgsAtTheLimitAllocateAboutTheLimit holds it to that.
const maxStdinArgs = 96 << 20

// positionalArgs gathers arguments as go-ipfs-cmds does: the trailing path
// segment first, then the arg query keys, then, for stdin-enabled commands
// with a multipart body, the newline-separated lines of its first part.
// That last form is how `echo CID | ipfs pin add` arrives.
func positionalArgs(r *http.Request, pathArg *string, queryArgs []string, stdin bool) ([]string, error) {
	var args []string
	if pathArg != nil {
		args = append(args, *pathArg)
	}
	args = append(args, queryArgs...)
	if !stdin {
		return args, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return args, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, usageError(err.Error())
	}
	part, err := mr.NextPart()
	if errors.Is(err, io.EOF) {
		return args, nil
	}
	if err != nil {
		return nil, usageError(err.Error())
	}
	defer part.Close()
	return readArgLines(io.LimitReader(part, maxStdinArgs+1), args)
}

// argOverhead is what one argument costs in memory besides its bytes: its
// string header in the block it is gathered in, and again in the list
// returned. Reading a line at a time cost about 100 bytes per argument
// (a string each, and a list copied at each growth), so that a body within
// the old count of 16 held five times the bound.
const argOverhead = 32

const (
	// argChunk is how much of the body is read at once; its lines become
	// substrings of one string, not a string each.
	argChunk = 64 << 10
	// argBlock is how many arguments are gathered per block: blocks never
	// grow, so the list is copied once, at the end, at its exact size.
	argBlock = 4096
)

// readArgLines mirrors go-ipfs-cmds' stdin argument scanner: one argument
// per line, CRLF tolerated, a last line without newline still counts. It
// returns head followed by the arguments read from r.
func readArgLines(r io.Reader, head []string) ([]string, error) {
	var g argGatherer
	buf := make([]byte, 0, argChunk)
	for {
		if len(buf) == cap(buf) {
			// A line longer than the buffer so far: the total bounds it.
			buf = slices.Grow(buf, cap(buf))
		}
		k, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return nil, err
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if eof {
			end = len(buf)
		}
		if err := g.add(buf[:end], eof); err != nil {
			return nil, err
		}
		if g.total+len(buf)-end > maxStdinArgs {
			return nil, errStdinTooLong()
		}
		buf = buf[:copy(buf, buf[end:])]
		if eof {
			return g.list(head), nil
		}
	}
}

// argGatherer holds the arguments read so far, within maxStdinArgs.
type argGatherer struct {
	blocks [][]string
	n      int
	total  int // bytes and argOverhead per argument
}

// add takes the lines of text, which ends with a newline unless last, the
// end of the body, where a last line without newline counts if not empty.
// It counts their cost before it allocates it.
func (g *argGatherer) add(text []byte, last bool) error {
	lines := bytes.Count(text, []byte{'\n'})
	if last && len(text) > 0 && text[len(text)-1] != '\n' {
		lines++
	}
	g.total += len(text) + lines*argOverhead
	if g.total > maxStdinArgs {
		return errStdinTooLong()
	}
	if lines == 0 {
		return nil
	}
	rest := string(text)
	for rest != "" {
		line, after, terminated := strings.Cut(rest, "\n")
		if terminated {
			line = strings.TrimSuffix(line, "\r")
		}
		g.append(line)
		rest = after
	}
	return nil
}

func (g *argGatherer) append(s string) {
	if g.n%argBlock == 0 {
		g.blocks = append(g.blocks, make([]string, 0, argBlock))
	}
	b := &g.blocks[len(g.blocks)-1]
	*b = append(*b, s)
	g.n++
}

// list is head and the arguments, in one list of the exact size.
func (g *argGatherer) list(head []string) []string {
	out := make([]string, 0, len(head)+g.n)
	out = append(out, head...)
	for _, b := range g.blocks {
		out = append(out, b...)
	}
	return out
}

// requireArgs fails like go-ipfs-cmds' CheckArguments when fewer arguments
// than the command's required ones were given.
func requireArgs(args []string, names ...string) error {
	for i, n := range names {
		if i >= len(args) {
			return errArgRequired(n)
		}
	}
	return nil
}

// resolve turns a Kubo path argument into the CID it names. A bare CID and
// /ipfs/<cid> are decoded here; sub-paths and /ipns/ names need the upstream
// node's resolver.
func (h *Handlers) resolve(ctx context.Context, arg string) (cid.Cid, error) {
	s := arg
	// URL forms, accepted by Kubo since v0.43.
	if rest, ok := strings.CutPrefix(s, "ipfs://"); ok {
		s = "/ipfs/" + rest
	} else if rest, ok := strings.CutPrefix(s, "ipns://"); ok {
		s = "/ipns/" + rest
	}
	p, err := pathOrCidPath(s)
	if err != nil {
		return cid.Undef, err
	}
	if ip, ok := p.(path.ImmutablePath); ok && len(ip.Segments()) == 2 {
		return ip.RootCid(), nil
	}
	if h.resolver == nil {
		return cid.Undef, errNoResolver(arg)
	}
	c, err := h.resolver.Resolve(ctx, p.String())
	if err != nil {
		return cid.Undef, kuboErr(opResolve, arg, err)
	}
	return c, nil
}

// pathOrCidPath is Kubo's cmdutils.PathOrCidPath: a path, or a CID taken as
// /ipfs/<cid>, with the path's own error when neither parses.
func pathOrCidPath(s string) (path.Path, error) {
	p, err := path.NewPath(s)
	if err == nil {
		return p, nil
	}
	if p, err2 := path.NewPath("/ipfs/" + s); err2 == nil {
		return p, nil
	}
	return nil, err
}
