package pinsvc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/go-cid"
	"github.com/rs/cors"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Cluster is what the Pinning Service API needs from the peer. The daemon
// passes *cluster.Node, and its wiring checks that at compile time.
type Cluster interface {
	// Pin commits p (zero replication = defaults); allocations and the
	// timestamp are decided by the cluster.
	Pin(ctx context.Context, p storage.Pin) (storage.Pin, error)
	// Unpin removes c, or returns storage.ErrNotFound.
	Unpin(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// Get returns c's pin, or storage.ErrNotFound.
	Get(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// List streams the whole pinset, which may not fit in memory.
	List(ctx context.Context, fn func(storage.Pin) error) error
	// PeerMap returns every peer's status of c, keyed by peer ID.
	PeerMap(ctx context.Context, c cid.Cid) map[string]types.PinStatus
	// PeerMaps is PeerMap for many CIDs with one round trip per peer; the
	// maps are in the order of cids.
	PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus
	// Delegates returns multiaddrs (ending in /p2p/<id>) of the IPFS nodes
	// allocated to hold c.
	Delegates(ctx context.Context, c cid.Cid) []string
}

// Config configures the API.
type Config struct {
	// Tokens are the accepted bearer tokens. Empty accepts any caller.
	Tokens []string
	// AllowedOrigins are the web pages that may call the API, with CORS
	// (pinsvc.allowed_origins); a request a browser sends for any other
	// origin gets 403. "*" allows any.
	AllowedOrigins []string
	// AllowedHosts are the Host names, besides loopback ones, that the API
	// answers to when it listens on loopback (pinsvc.allowed_hosts).
	AllowedHosts []string
	// ListenAddr is the address the API listens on; on loopback, the Host
	// check is on. When empty, each connection's local address decides.
	ListenAddr string
	// Ready reports nil when the peer can serve requests, for GET /health;
	// nil means always ready.
	Ready func() error
	Log   zerolog.Logger
	// Refused, when set, is told of every request refused by the browser
	// guard or for want of a valid token, with the reason
	// (httpguard.RefusedBrowser, RefusedCredentials).
	Refused func(reason string)
}

// maxBody bounds a request body: a Pin with 1000 meta entries fits easily,
// and nothing larger should reach the Raft log.
const maxBody = 1 << 20

type server struct {
	cluster Cluster
	ready   func() error
	// tokens are the SHA-256 digests of the accepted tokens.
	tokens [][sha256.Size]byte
	log    zerolog.Logger
	// refused is Config.Refused, never nil.
	refused func(reason string)
}

// New returns the API's handler. Resources live at /pins and /pins/{id}, so
// the endpoint to give Kubo is the listener's root URL. The browser guard
// runs first, then CORS (which answers preflights), then the token check.
func New(c Cluster, cfg Config) http.Handler {
	s := &server{cluster: c, ready: cfg.Ready, log: cfg.Log, refused: cfg.Refused}
	if s.refused == nil {
		s.refused = func(string) {}
	}
	if s.ready == nil {
		s.ready = func() error { return nil }
	}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, digest(t))
	}
	r := chi.NewRouter()
	r.Use(s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errNotFound("no such resource: the API serves /pins, /pins/{requestid} and /health"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errMethod(r.Method+" is not supported on "+r.URL.Path))
	})
	r.Get("/pins", s.list)
	r.Post("/pins", s.add)
	r.Get("/pins/{requestid}", s.get)
	r.Post("/pins/{requestid}", s.replace)
	r.Delete("/pins/{requestid}", s.remove)
	r.Get("/health", s.health)
	r.Head("/health", s.health)
	guard := httpguard.New(httpguard.Config{Origins: cfg.AllowedOrigins, Hosts: cfg.AllowedHosts, ListenAddr: cfg.ListenAddr})
	return guard.Handler(withCORS(cfg.AllowedOrigins, r), s.fail)
}

// withCORS lets the allowed origins' pages call the API: preflights for
// the token and the JSON body are answered before authentication, which
// they carry no token for.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"},
	}).Handler(next)
}

// authenticate checks the bearer token on every route, as the spec's global
// security requirement asks, before anything else is parsed. GET (and HEAD)
// /health is open, as on ipfs-cluster's pinning service and the admin API,
// so that a load balancer or orchestrator probes it without a token.
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if len(s.tokens) == 0 || (probe && r.URL.Path == "/health") {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		switch {
		case !strings.EqualFold(scheme, "Bearer") || token == "":
			s.fail(w, r, errUnauthorized("missing access token: send Authorization: Bearer <token>"))
		case !s.validToken(token):
			s.fail(w, r, errUnauthorized("invalid access token"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// validToken compares digests against every token in constant time, so
// that the response time tells neither how much of a guess was right nor
// how long a token is (ConstantTimeCompare returns at once on a length
// mismatch; digests are all 32 bytes).
func (s *server) validToken(token string) bool {
	got := digest(token)
	ok := 0
	for _, t := range s.tokens {
		ok |= subtle.ConstantTimeCompare(t[:], got[:])
	}
	return ok == 1
}

// health is GET and HEAD /health: 204 when the peer can serve, else 503 and why.
// It does not log as s.fail does: a probe polls a starting peer often.
func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	if err := s.ready(); err != nil {
		code, reason := failureFor(&notReady{err})
		writeJSON(w, code, failure{Error: failureError{Reason: reason, Details: err.Error()}})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func digest(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// requestID is the pin's request ID; see the package comment.
func requestID(c cid.Cid) string { return c.String() }

// parseRequestID turns a path's request ID back into its CID. An ID that is
// not a CID was never issued, so it is "not found" rather than a bad request.
func parseRequestID(r *http.Request) (cid.Cid, error) {
	id := chi.URLParam(r, "requestid")
	c, err := cid.Decode(id)
	if err != nil {
		return cid.Undef, errNotFound("no pin request with requestid " + quote(id))
	}
	return c, nil
}

// quote shows a client's value in an error, cut short so that a huge one
// does not come back whole.
func quote(s string) string {
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return strconv.Quote(s)
}
