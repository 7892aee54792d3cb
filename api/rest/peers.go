package rest

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/types"
)

// newID gives ipfs-cluster's ID object as its clients parse it: the
// cluster reports its addresses as host:port, which they cannot read, so
// they are given as multiaddrs ending in the peer's /p2p/ ID.
func newID(in types.ID) types.ID {
	out := types.ID{
		ID:                 in.ID,
		Addresses:          []string{},
		ClusterPeers:       nonNil(in.ClusterPeers),
		Version:            in.Version,
		Commit:             in.Commit,
		RPCProtocolVersion: in.RPCProtocolVersion,
		Error:              in.Error,
		IPFS:               types.IPFSID{ID: in.IPFS.ID, Addresses: []string{}, Error: in.IPFS.Error},
		Peername:           in.Peername,
		Raft:               in.Raft,
		Role:               in.Role,
	}
	for _, a := range in.Addresses {
		if m := toMultiaddr(a, in.ID); m != "" {
			out.Addresses = append(out.Addresses, m)
		}
	}
	out.ClusterPeersAddresses = []string{}
	for i, a := range in.ClusterPeersAddresses {
		id := ""
		if i < len(in.ClusterPeers) {
			id = in.ClusterPeers[i]
		}
		if m := toMultiaddr(a, id); m != "" {
			out.ClusterPeersAddresses = append(out.ClusterPeersAddresses, m)
		}
	}
	for _, a := range in.IPFS.Addresses {
		if _, err := ma.NewMultiaddr(a); err == nil {
			out.IPFS.Addresses = append(out.IPFS.Addresses, a)
		}
	}
	return out
}

// toMultiaddr turns host:port (or a multiaddr) into a multiaddr with the
// peer's ID, or "" when it is neither.
func toMultiaddr(addr, id string) string {
	if strings.HasPrefix(addr, "/") {
		if _, err := ma.NewMultiaddr(addr); err != nil {
			return ""
		}
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	proto := "dns"
	if ip := net.ParseIP(host); ip != nil {
		proto = "ip6"
		if ip.To4() != nil {
			proto = "ip4"
		}
	}
	s := "/" + proto + "/" + host + "/tcp/" + port
	if _, err := peer.Decode(id); err == nil {
		s += "/p2p/" + id
	}
	if _, err := ma.NewMultiaddr(s); err != nil {
		return ""
	}
	return s
}

func (a *API) id(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, newID(a.cluster.ID(r.Context())))
}

func (a *API) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": version.Version})
}

// peers is GET /peers: every member's ID, unreachable ones with an error.
func (a *API) peers(w http.ResponseWriter, r *http.Request) {
	s := newStream(w)
	var err error
	for _, p := range a.cluster.Peers(r.Context()) {
		if err = s.send(newID(p)); err != nil {
			break
		}
	}
	s.finish(err)
}

// peerAdd is ipfs-cluster's POST /peers. Flotilla peers join from their
// own side, so that they bring the cluster secret.
func (a *API) peerAdd(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotImplemented,
		errors.New("peers cannot be added through the API: start the new peer with `flotilla daemon --bootstrap <address of a member>`"))
}

// peerRemove is DELETE /peers/{peer}: 204 once the peer is out.
func (a *API) peerRemove(w http.ResponseWriter, r *http.Request) {
	id, err := peer.Decode(chi.URLParam(r, "peer"))
	if err != nil {
		fail(w, errBadRequest("error decoding Peer ID: "+err.Error()))
		return
	}
	if err := a.cluster.RemovePeer(r.Context(), id.String()); err != nil {
		fail(w, err)
		return
	}
	setJSON(w)
	w.WriteHeader(http.StatusNoContent)
}
