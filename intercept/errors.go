package intercept

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// This file is the one place where errors become the texts Kubo prints.
// Clients match on several of them ("is not pinned", "not pinned or pinned
// indirectly"), so they are copied from Kubo and boxo verbatim.

// usageError is a go-ipfs-cmds parse error: 400 text/plain, before the
// command runs, without the command response headers.
type usageError string

func (e usageError) Error() string { return string(e) }

// clientError is go-ipfs-cmds' ClientError: a command refusing its input,
// which Kubo answers 400 with its error object, Code 1.
type clientError string

func (e clientError) Error() string { return string(e) }

// op says what a command was doing when a collaborator failed, because Kubo
// words "absent from the pinset" differently per command.
type op uint8

const (
	opPin        op = iota // pin add and the pins of add, block/put, dag/put, dag/import
	opUnpin                // pin rm
	opCheck                // pin ls with arguments
	opUpdateFrom           // pin update looking up its 'from' pin
	opList                 // pin ls without arguments
	opResolve              // turning a path argument into a CID
)

// kuboMessage maps an error of the cluster, the resolver or the upstream to
// Kubo's message. Cluster failures that Kubo has no word for ("not enough
// peers to allocate...", "no leader") pass through verbatim, so that the
// operator sees the cluster's reason.
func kuboMessage(o op, arg string, err error) string {
	if isNotFound(err) {
		switch o {
		case opUnpin:
			return msgNotPinned
		case opCheck:
			return pathNotPinned(arg)
		case opUpdateFrom:
			return msgFromNotRecursive
		}
	}
	return err.Error()
}

// kuboErr is kuboMessage as an error value, for the response emitter.
func kuboErr(o op, arg string, err error) error {
	return errors.New(kuboMessage(o, arg, err))
}

// isNotFound also matches by text, because the error may have crossed the
// cluster RPC from the leader as a plain string.
func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) ||
		strings.Contains(err.Error(), storage.ErrNotFound.Error())
}

const (
	// boxo pinner.ErrNotPinned.
	msgNotPinned = "not pinned or pinned indirectly"
	// boxo dspinner Update.
	msgFromNotRecursive = "'from' cid was not recursively pinned already"
	msgToAlreadyPinned  = "'to' cid was already recursively pinned"
)

// pathNotPinned is pin ls's error for an argument, quoted as given.
func pathNotPinned(arg string) string {
	return fmt.Sprintf("path '%s' is not pinned", arg)
}

// errPinnedRecursively is boxo's answer to pin rm -r=false on a recursive pin.
func errPinnedRecursively(c cid.Cid) error {
	return fmt.Errorf("%s is pinned recursively", c.String())
}

// errAlreadyRecursive is Kubo's answer to a direct pin over a recursive one.
func errAlreadyRecursive(c cid.Cid) error {
	return fmt.Errorf("pin: %s already pinned recursively", c.String())
}

func errInvalidType(t string) error {
	return fmt.Errorf("invalid type '%s', must be one of {direct, indirect, recursive, all}", t)
}

func errArgRequired(name string) error {
	return usageError(fmt.Sprintf("argument %q is required", name))
}

// Flotilla's own failures, where Kubo has no counterpart.

func errStdinTooLong() error {
	return fmt.Errorf("arguments in the request body exceed %d bytes", maxStdinArgs)
}

func errNoResolver(arg string) error {
	return fmt.Errorf("cannot resolve %q: no resolver configured", arg)
}

// msgPinNeedsJSON: the CIDs to pin are read from the upstream's JSON lines.
func msgPinNeedsJSON(encoding string) string {
	return fmt.Sprintf("the cluster proxy pins from JSON answers only: encoding=%s is not supported when pinning", encoding)
}

const msgNoCidToPin = "flotilla: the upstream answer named no CID to pin"

func msgCARRoots(err error) string {
	return "flotilla: reading the CAR roots of the upload: " + err.Error()
}
