package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flotilla-ipfs/flotilla/internal/durable"
)

// Identity is identity.json: the peer's Ed25519 key, in ipfs-cluster's shape
// so that its tools and clients read peer IDs the way they expect
// (12D3KooW...).
type Identity struct {
	ID         string `json:"id"`
	PrivateKey string `json:"private_key"`
}

// NewIdentity makes a fresh Ed25519 key and its libp2p peer ID.
func NewIdentity() (Identity, error) {
	priv, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return Identity{}, err
	}
	raw, err := crypto.MarshalPrivateKey(priv)
	if err != nil {
		return Identity{}, err
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return Identity{}, err
	}
	return Identity{ID: id.String(), PrivateKey: base64.StdEncoding.EncodeToString(raw)}, nil
}

// LoadIdentity reads identity.json and checks that the ID matches the key,
// so that a hand-edited file cannot make a peer claim another's ID.
func LoadIdentity(path string) (Identity, crypto.PrivKey, error) {
	var ident Identity
	b, err := os.ReadFile(path)
	if err != nil {
		return ident, nil, &Error{Source: path, Err: err}
	}
	if err := json.Unmarshal(b, &ident); err != nil {
		return ident, nil, &Error{Source: path, Err: fmt.Errorf("not valid JSON: %v", err)}
	}
	priv, err := ident.Key()
	if err != nil {
		return ident, nil, &Error{Source: path, Key: "private_key", Err: err}
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return ident, nil, &Error{Source: path, Key: "private_key", Err: err}
	}
	if id.String() != ident.ID {
		return ident, nil, &Error{Source: path, Key: "id", Err: fmt.Errorf("%s does not match the private key (%s)", ident.ID, id)}
	}
	return ident, priv, nil
}

// Key decodes the private key.
func (i Identity) Key() (crypto.PrivKey, error) {
	raw, err := base64.StdEncoding.DecodeString(i.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	return crypto.UnmarshalPrivateKey(raw)
}

// SaveIdentity writes identity.json readable by its owner only: it holds a
// private key.
func SaveIdentity(path string, ident Identity) error {
	b, err := json.MarshalIndent(ident, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(b, '\n'), 0o600)
}

// NewSecret makes a cluster secret: 32 random bytes, hex encoded.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
