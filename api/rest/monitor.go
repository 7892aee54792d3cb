package rest

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flotilla-ipfs/flotilla/health"
)

// alerts is GET /health/alerts: a JSON array, never null.
func (a *API) alerts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(a.cluster.Alerts()))
}

func (a *API) metricNames(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, nonNil(a.cluster.MetricNames()))
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, nonNil[health.Metric](a.cluster.Metrics(chi.URLParam(r, "name"))))
}

// bandwidth is GET /health/bandwidth. ipfs-cluster reports libp2p traffic
// per protocol; Flotilla's peers speak HTTP, so there is none to report.
func (a *API) bandwidth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{})
}

// repoGC is POST /ipfs/gc: garbage collection on every peer's IPFS node,
// as ipfs-cluster's GlobalRepoGC. The cluster's pins are pinned on the
// nodes, so collection never removes them.
func (a *API) repoGC(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"peer_map": a.cluster.RepoGC(r.Context())})
}

// connectGraph is ipfs-cluster's ConnectGraph.
type connectGraph struct {
	ClusterID         string              `json:"cluster_id"`
	IDToPeername      map[string]string   `json:"id_to_peername"`
	IPFSLinks         map[string][]string `json:"ipfs_links"`
	ClusterLinks      map[string][]string `json:"cluster_links"`
	ClusterTrustLinks map[string]bool     `json:"cluster_trust_links"`
	ClusterToIPFS     map[string]string   `json:"cluster_to_ipfs"`
}

// graph is GET /health/graph. Cluster links are what each reachable peer
// reports as its peers: with Raft every member talks to every other. IPFS
// swarm links are not known to the cluster (no peer reports its node's
// swarm peers), so each IPFS node has an empty list; it must have one, as
// ipfs-cluster gives each, or ipfs-cluster-ctl health graph draws no IPFS
// node at all.
func (a *API) graph(w http.ResponseWriter, r *http.Request) {
	g := connectGraph{
		ClusterID:         a.cluster.PeerID(),
		IDToPeername:      map[string]string{},
		IPFSLinks:         map[string][]string{},
		ClusterLinks:      map[string][]string{},
		ClusterTrustLinks: map[string]bool{},
		ClusterToIPFS:     map[string]string{},
	}
	valid := func(id string) bool { _, err := peer.Decode(id); return err == nil }
	for _, p := range a.cluster.Peers(r.Context()) {
		if !valid(p.ID) {
			continue
		}
		g.IDToPeername[p.ID] = p.Peername
		// Every member of a Raft cluster holds the secret: all are trusted.
		g.ClusterTrustLinks[p.ID] = true
		if p.IPFS.ID != "" && valid(p.IPFS.ID) {
			g.ClusterToIPFS[p.ID] = p.IPFS.ID
			g.IPFSLinks[p.IPFS.ID] = []string{}
		}
		if p.Error != "" {
			continue
		}
		links := []string{}
		for _, other := range p.ClusterPeers {
			if other != p.ID && valid(other) {
				links = append(links, other)
			}
		}
		g.ClusterLinks[p.ID] = links
	}
	writeJSON(w, http.StatusOK, g)
}
