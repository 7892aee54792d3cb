package intercept

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// maxStdinArgs bounds the memory of the multipart argument list, bytes and
// string headers together (a million CIDs fit).
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
	lines, err := readArgLines(io.LimitReader(part, maxStdinArgs+1))
	if err != nil {
		return nil, err
	}
	return append(args, lines...), nil
}

// argOverhead is what one argument costs in memory besides its bytes.
const argOverhead = 16

// readArgLines mirrors go-ipfs-cmds' stdin argument scanner: one argument
// per line, CRLF tolerated, a last line without newline still counts.
func readArgLines(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	var out []string
	total := 0
	for {
		s, err := br.ReadString('\n')
		// Each argument also costs its string header: without counting it,
		// a body of bare newlines would hold 16 times its size in memory.
		total += len(s) + argOverhead
		if total > maxStdinArgs {
			return nil, errStdinTooLong()
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if s != "" {
					out = append(out, s)
				}
				return out, nil
			}
			return nil, err
		}
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
		out = append(out, s)
	}
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
