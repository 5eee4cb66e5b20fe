#!/usr/bin/env bash
# Builds buildkitd + buildctl (the BuildKit daemon the BuildKit-engine tests run against) from Go modules,
# once per version: into CACHE_ROOT/buildkit-<version>/bin, where CACHE_ROOT is $1, else $COPA_CI_CACHE,
# else /var/cache/copa-ci. Prints that bin dir on stdout (progress on stderr). A stamp file is written last:
# a build that was killed half-way has no stamp and is redone. Needs Go on PATH and the Go module proxy
# the machine's `go env` names; runc (Debian `runc`) is needed to run buildkitd, not to build it.
#
# `go install github.com/moby/buildkit/cmd/buildkitd@vX` is refused (its go.mod has exclude directives), so
# the module is downloaded and built in a writable copy with -mod=mod.
set -euo pipefail

BUILDKIT_VERSION=v0.28.1
ROOT=${1:-${COPA_CI_CACHE:-/var/cache/copa-ci}}
DIR=$ROOT/buildkit-$BUILDKIT_VERSION
BIN=$DIR/bin
STAMP=$BIN/.built

have() { [[ -f $STAMP && -x $BIN/buildkitd && -x $BIN/buildctl ]]; }

mkdir -p "$DIR"
# one builder per cache dir at a time (two CI runs on one machine); the second one then finds the stamp
exec 9>"$DIR/.lock"
flock 9
if have; then
  echo "buildkit $BUILDKIT_VERSION: cached in $BIN" >&2
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "go not found on PATH: needed to build buildkitd" >&2; exit 1; }
started=$(date +%s)
echo "buildkit $BUILDKIT_VERSION: building buildkitd + buildctl from Go modules into $BIN (3-5 min on 2 cores)" >&2
rm -rf "$BIN" "$DIR/src"
export GOPATH=$DIR/gopath GOCACHE=$DIR/gocache CGO_ENABLED=0 GOFLAGS="-modcacherw -buildvcs=false"
LOG=$DIR/build.log
: >"$LOG"
trap 'echo "buildkit $BUILDKIT_VERSION: build failed; last lines of $LOG:" >&2; tail -n 30 "$LOG" >&2' ERR
src=$(cd "$DIR" && go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" 2>>"$LOG" |
  sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[[ -n $src && -d $src ]] || { echo "go mod download gave no module dir" >>"$LOG"; false; }
cp -r "$src" "$DIR/src"
chmod -R u+w "$DIR/src"
# the version stamped in like upstream's release builds: the daemon reports it (`--version`, Control.Info)
ldflags="-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION"
(cd "$DIR/src" && go build -mod=mod -trimpath -ldflags "$ldflags" -o "$BIN/" ./cmd/buildkitd ./cmd/buildctl) >>"$LOG" 2>&1
{ "$BIN/buildkitd" --version && "$BIN/buildctl" --version; } >>"$LOG" 2>&1
trap - ERR
# the binaries are all that is kept: the copy of the source and the compiler cache go (~1 GB); the
# module cache stays, so a rebuild after the bin dir was removed downloads nothing
rm -rf "$DIR/src" "$GOCACHE"
{ echo "$BUILDKIT_VERSION"; go version; date -u +%FT%TZ; } >"$STAMP"
echo "buildkit $BUILDKIT_VERSION: built in $(($(date +%s) - started)) s" >&2
echo "$BIN"
