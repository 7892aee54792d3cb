#!/usr/bin/env bash
# Builds packages of a Go module at an exact version, with the module's own
# go.mod and go.sum: `build-go-module.sh MODULE VERSION OUT PKG...`, where
# OUT is the output file (one package) or folder (several, ending in /).
# `go install pkg@version` would refuse Kubo's exclude directives, and asks
# the module proxy for the module's version list, which a proxy may refuse;
# so the module is downloaded by its exact version, copied out of the
# module cache and built inside its own directory.
set -euo pipefail
module=${1:?module} version=${2:?version} out=${3:?output path}
shift 3
dir=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
	echo "build-go-module: could not download $module@$version" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
case "$out" in */) abs_out="$abs_out/" ;; esac
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cp -R "$dir"/. "$work"/
chmod -R u+w "$work"
echo "building $module $version (once; cached in $out)..." >&2
(cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -o "$abs_out" "$@")
