// Package storage holds Flotilla's replicated state: the pinset and the peer
// set, kept in bbolt so that their size is bounded by disk rather than RAM,
// together with the versioned command codec that Raft carries and the FSM that
// applies it.
package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
)

// Mode is how deep a pin reaches: the whole DAG or the root block alone.
type Mode uint8

const (
	Recursive Mode = iota
	Direct
)

func (m Mode) String() string {
	if m == Direct {
		return "direct"
	}
	return "recursive"
}

// ParseMode accepts ipfs-cluster's and Kubo's spellings. The empty string is
// recursive, as both default to it.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "recursive":
		return Recursive, nil
	case "direct":
		return Direct, nil
	}
	return Recursive, fmt.Errorf("invalid pin mode %q: must be recursive or direct", s)
}

// MaxDepth is ipfs-cluster's encoding of the mode: -1 for recursive, 0 for direct.
func (m Mode) MaxDepth() int {
	if m == Direct {
		return 0
	}
	return -1
}

// MaxPinName bounds a pin's name: 255 bytes, Kubo's
// cmdutils.MaxPinNameBytes, on the proxy and the admin API
// (ValidatePinName), so that the proxy lists no name Kubo itself would
// refuse; and 255 characters on the Pinning Service API, whose spec counts
// characters (maxLength) and whose clients send names of that many.
const MaxPinName = 255

// ValidatePinName refuses a name over MaxPinName bytes, with Kubo's message.
func ValidatePinName(name string) error {
	if len(name) > MaxPinName {
		return fmt.Errorf("pin name is %d bytes (max %d bytes)", len(name), MaxPinName)
	}
	return nil
}

// ValidateImportedPinName refuses a name that no API of Flotilla takes:
// over MaxPinName characters. Not ValidatePinName's bytes: the Pinning
// Service API counts characters, so the cluster's own pins may carry
// names of up to 255 multi-byte characters, and its export must import.
func ValidateImportedPinName(name string) error {
	if n := utf8.RuneCountInString(name); n > MaxPinName {
		return fmt.Errorf("pin name is %d characters (max %d: no API of Flotilla takes a longer one)", n, MaxPinName)
	}
	return nil
}

// Pin is one entry of the cluster pinset. Everything non-deterministic about
// it (allocations, timestamp) is decided before it is committed, so that every
// peer applies exactly the same value.
type Pin struct {
	Cid                  cid.Cid
	Name                 string
	Mode                 Mode
	ReplicationFactorMin int
	ReplicationFactorMax int
	// Allocations lists the peer IDs that must pin the CID. Empty means every
	// peer (replication -1).
	Allocations     []string
	UserAllocations []string
	Origins         []string
	Metadata        map[string]string
	ExpireAt        time.Time
	Timestamp       time.Time
	// PinUpdate is the CID this pin replaces, when it was made by pin update.
	PinUpdate cid.Cid
}

// Everywhere reports whether every peer of the cluster must pin it.
func (p *Pin) Everywhere() bool {
	return p.ReplicationFactorMin == -1 && p.ReplicationFactorMax == -1
}

// AllocatedTo reports whether the peer must hold the pin.
func (p *Pin) AllocatedTo(peerID string) bool {
	if p.Everywhere() {
		return true
	}
	for _, a := range p.Allocations {
		if a == peerID {
			return true
		}
	}
	return false
}

// pinJSON is ipfs-cluster's Pin object, field for field, so that its clients
// and its state export format read Flotilla's pins unchanged.
type pinJSON struct {
	ReplicationFactorMin int               `json:"replication_factor_min"`
	ReplicationFactorMax int               `json:"replication_factor_max"`
	Name                 string            `json:"name"`
	Mode                 string            `json:"mode"`
	ShardSize            uint64            `json:"shard_size"`
	UserAllocations      []string          `json:"user_allocations"`
	ExpireAt             time.Time         `json:"expire_at"`
	Metadata             map[string]string `json:"metadata"`
	PinUpdate            *string           `json:"pin_update"`
	Origins              []string          `json:"origins"`
	Cid                  string            `json:"cid"`
	Type                 string            `json:"type"`
	Allocations          []string          `json:"allocations"`
	MaxDepth             int               `json:"max_depth"`
	Reference            *string           `json:"reference"`
	Timestamp            time.Time         `json:"timestamp"`
}

func (p Pin) MarshalJSON() ([]byte, error) {
	j := pinJSON{
		ReplicationFactorMin: p.ReplicationFactorMin,
		ReplicationFactorMax: p.ReplicationFactorMax,
		Name:                 p.Name,
		Mode:                 p.Mode.String(),
		UserAllocations:      p.UserAllocations,
		ExpireAt:             p.ExpireAt.UTC(),
		Metadata:             p.Metadata,
		Origins:              emptyIfNil(p.Origins),
		Type:                 "pin",
		Allocations:          emptyIfNil(p.Allocations),
		MaxDepth:             p.Mode.MaxDepth(),
		Timestamp:            p.Timestamp.UTC(),
	}
	if p.Cid.Defined() {
		j.Cid = p.Cid.String()
	}
	if p.PinUpdate.Defined() {
		s := p.PinUpdate.String()
		j.PinUpdate = &s
	}
	return json.Marshal(j)
}

func (p *Pin) UnmarshalJSON(b []byte) error {
	var j pinJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	return j.decode(p)
}

// decode checks j and makes it a Pin.
func (j *pinJSON) decode(p *Pin) error {
	c, err := cid.Decode(j.Cid)
	if err != nil {
		// go-cid's own message starts "invalid cid" too.
		var invalid cid.ErrInvalidCid
		if errors.As(err, &invalid) {
			err = invalid.Err
		}
		return fmt.Errorf("invalid cid %q: %w", j.Cid, err)
	}
	mode, err := ParseMode(j.Mode)
	if err != nil {
		return err
	}
	// A zone offset can carry year 9999 into 10000 (or 0 into -1) in UTC,
	// which MarshalJSON cannot write: such a pin would break every listing.
	if _, err := j.ExpireAt.UTC().MarshalText(); err != nil {
		return fmt.Errorf("pin expire_at: %w", err)
	}
	if _, err := j.Timestamp.UTC().MarshalText(); err != nil {
		return fmt.Errorf("pin timestamp: %w", err)
	}
	// ipfs-cluster's exports may omit mode and carry max_depth alone.
	if j.Mode == "" && j.MaxDepth == 0 {
		mode = Direct
	}
	*p = Pin{
		Cid:                  c,
		Name:                 j.Name,
		Mode:                 mode,
		ReplicationFactorMin: j.ReplicationFactorMin,
		ReplicationFactorMax: j.ReplicationFactorMax,
		Allocations:          nilIfEmpty(j.Allocations),
		UserAllocations:      nilIfEmpty(j.UserAllocations),
		Origins:              nilIfEmpty(j.Origins),
		Metadata:             j.Metadata,
		ExpireAt:             j.ExpireAt,
		Timestamp:            j.Timestamp,
	}
	if j.PinUpdate != nil && *j.PinUpdate != "" {
		if p.PinUpdate, err = cid.Decode(*j.PinUpdate); err != nil {
			return fmt.Errorf("pin_update %q: %w", *j.PinUpdate, err)
		}
	}
	return nil
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
