package peerrpc

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Caller is what the cluster port proved of the peer behind a request. The
// service, not the caller's own code, keeps followers read-only: a follower
// that sends a write anyway is refused here, on the leader and on every
// other member.
type Caller uint8

const (
	// CallerFollower proved the follower secret only: it reads, and joins
	// as a follower. The zero value, so that a request of unknown origin
	// gets the least.
	CallerFollower Caller = iota
	// CallerMember proved the cluster secret: it may do anything.
	CallerMember
)

type callerKey struct{}

// WithCaller records who sent the requests served under ctx.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// ConnContext is the http.Server ConnContext that records, for every
// request on a connection, whether member says its peer proved the
// cluster secret.
func ConnContext(member func(net.Conn) bool) func(context.Context, net.Conn) context.Context {
	return func(ctx context.Context, c net.Conn) context.Context {
		if member(c) {
			return WithCaller(ctx, CallerMember)
		}
		return WithCaller(ctx, CallerFollower)
	}
}

// errFollowerWrite is the refusal of a write sent by a follower.
func errFollowerWrite(r *http.Request) error {
	return fmt.Errorf("%s refused: the caller proved the follower secret only: %w", r.URL.Path, types.ErrReadOnlyFollower)
}

// membersOnly refuses the routes that change the cluster or a peer to
// followers.
func membersOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if callerOf(r.Context()) != CallerMember {
			writeError(w, errFollowerWrite(r))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// followerMetrics checks a follower's heartbeat: it may speak for
// followers only, so that it cannot keep a dead member looking alive and
// its pins where they are.
func (s *service) followerMetrics(r *http.Request, ms []health.Metric) error {
	if callerOf(r.Context()) == CallerMember {
		return nil
	}
	for _, m := range ms {
		if s.local.FullMember(m.Peer) {
			return fmt.Errorf("%w (a heartbeat for the member %s)", errFollowerWrite(r), m.Peer)
		}
	}
	return nil
}
