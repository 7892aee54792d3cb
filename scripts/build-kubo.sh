#!/usr/bin/env bash
# Builds Kubo from its Go module into the given path, once. Kubo's go.mod has
# exclude directives that `go install pkg@version` refuses, so the module is
# copied out of the module cache and built inside its own directory.
set -euo pipefail
version=${1:?version}
out=${2:?output path}
want=${version#v}
if [ -x "$out" ] && "$out" version 2>/dev/null | grep -qx "ipfs version $want"; then
	exit 0
fi
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
dir=$(go mod download -json "github.com/ipfs/kubo@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "build-kubo: could not download github.com/ipfs/kubo@$version" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -R "$dir"/. "$work"/
chmod -R u+w "$work"
echo "building Kubo $version (once; cached in $out)..." >&2
(cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -o "$abs_out" ./cmd/ipfs)
"$abs_out" version
