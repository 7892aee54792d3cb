package transport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// A follower answers the leader's AppendEntries and InstallSnapshot on the
// Raft connection the leader opened to it, and Raft believes what an answer
// says of the follower's term: one above the leader's own makes the leader
// step down. A non-voter's term never runs ahead of its leader's, since it
// never campaigns, so an answer from a follower that claims one is a lie
// that would unseat the leader at will. The leader's side of such a
// connection reads each answer before Raft does, and cuts the connection at
// the first such lie; honest answers pass byte for byte.

// errFollowerTerm cuts a follower's Raft connection.
var errFollowerTerm = errors.New("a read-only follower answered Raft with a term above the leader's: connection cut")

// termWatch is a Raft connection to a follower whose answers are checked.
type termWatch struct {
	net.Conn
	r    *io.PipeReader
	once sync.Once
}

func (w *termWatch) Read(b []byte) (int, error) { return w.r.Read(b) }

func (w *termWatch) Close() error {
	err := w.Conn.Close()
	w.once.Do(func() { w.r.Close() })
	return err
}

// SetCurrentTerm gives the port Raft's current term, so that it can check
// followers' answers; until then they pass unchecked.
func (p *Port) SetCurrentTerm(term func() uint64) { p.term.Store(&term) }

// watchTerms checks the answers on a Raft connection this port opened to a
// follower.
func (p *Port) watchTerms(conn net.Conn) net.Conn {
	term := p.term.Load()
	if term == nil {
		return conn
	}
	pr, pw := io.Pipe()
	go func() {
		err := relayAnswers(conn, pw, *term)
		if errors.Is(err, errFollowerTerm) {
			p.refusals.Warn().Str("remote", conn.RemoteAddr().String()).Err(err).Msg("follower's Raft answer refused")
			conn.Close()
		}
		pw.CloseWithError(err)
	}()
	return &termWatch{Conn: conn, r: pr}
}

// relayAnswers copies Raft's answers (an error string, then a response
// map, in msgpack) from conn to out, each only once its term is checked.
// The decoder, behind a TeeReader, asks for exactly the bytes of one answer
// at a time, so that out gets no answer before it is checked.
func relayAnswers(conn net.Conn, out io.Writer, current func() uint64) error {
	var answer bytes.Buffer
	dec := codec.NewDecoder(io.TeeReader(bufio.NewReader(conn), &answer), &codec.MsgpackHandle{})
	for {
		var rpcError string
		var resp map[string]any
		if err := dec.Decode(&rpcError); err != nil {
			return err
		}
		if err := dec.Decode(&resp); err != nil {
			return err
		}
		if t, ok := termOf(resp["Term"]); ok && t > current() {
			return fmt.Errorf("%w (term %d)", errFollowerTerm, t)
		}
		if _, err := out.Write(answer.Bytes()); err != nil {
			return err
		}
		answer.Reset()
	}
}

func termOf(v any) (uint64, bool) {
	switch t := v.(type) {
	case int64:
		return uint64(max(t, 0)), true
	case uint64:
		return t, true
	}
	return 0, false
}
