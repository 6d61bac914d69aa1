#!/usr/bin/env bash
# govulncheck against an offline copy of the Go vulnerability database.
#
# Everything comes through the Go module proxy, nothing from vuln.go.dev:
#   - govulncheck (golang.org/x/vuln) and vulndb's indexdb are installed
#     into bin/tools/;
#   - the database is the module golang.org/x/vulndb, whose data/osv/
#     holds every report as OSV JSON; indexdb (from that same module)
#     turns the directory into the v1 layout `govulncheck -db file://`
#     reads (index/db.json, index/modules.json, index/vulns.json, ID/).
# The database is built once per vulndb version into bin/vulndb/<version>.
# When the proxy cannot be reached, the module cache stands in for it (the
# newest vulndb and the tools downloaded before); with VULNDB_OFFLINE=1 the
# newest database already built is used as it is.
#
# Exit status: govulncheck's (3 when a vulnerability is reachable from
# pier's code; imported-but-unreachable ones are listed, not fatal).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/bin/tools
DBS=$ROOT/bin/vulndb
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.10.0}
# go.mod names the toolchain with the fixed standard library; let the go
# command switch to it (through the proxy) whatever the user's default.
export GOTOOLCHAIN=${GOTOOLCHAIN_VULNCHECK:-auto}
mkdir -p "$TOOLS" "$DBS"

# offline runs a go command against the module cache alone, for when the
# proxy cannot be reached: what was downloaded once is enough.
offline() { GOPROXY="file://$(go env GOMODCACHE)/cache/download" GOSUMDB=off GOFLAGS=-mod=mod "$@"; }
# install PKG@VERSION NAME: go install into bin/tools as NAME.
install() {
	[ -x "$TOOLS/$2" ] && return
	GOBIN=$TOOLS go install "$1" 2>/dev/null || GOBIN=$TOOLS offline go install "$1"
	mv "$TOOLS/$(basename "${1%@*}")" "$TOOLS/$2"
}

install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" "govulncheck-$GOVULNCHECK_VERSION"

newest_db() { ls -1d "$DBS"/v*/ 2>/dev/null | sort | tail -1 | sed 's:/$::'; }

db=""
if [ "${VULNDB_OFFLINE:-0}" != 1 ]; then
	# -json prints a record with an Error when it fails: keep only the
	# answer of the attempt that worked.
	if info=$(cd / && go mod download -json golang.org/x/vulndb@latest 2>/dev/null) ||
		info=$(cd / && offline go mod download -json golang.org/x/vulndb@latest 2>/dev/null); then
		version=$(sed -n 's/^[[:space:]]*"Version": "\(.*\)",$/\1/p' <<<"$info")
		src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
		db=$DBS/$version
		if [ ! -f "$db/index/db.json" ]; then
			[ -d "$src/data/osv" ] || { echo "vulncheck: $src has no data/osv: golang.org/x/vulndb@$version holds no OSV database" >&2; exit 2; }
			install "golang.org/x/vulndb/cmd/indexdb@$version" "indexdb-$version"
			rm -rf "$db.tmp"
			"$TOOLS/indexdb-$version" -vulns "$src/data/osv" -out "$db.tmp"
			mv "$db.tmp" "$db"
		fi
	else
		echo "vulncheck: golang.org/x/vulndb neither on the proxy nor in the module cache; using the newest database built before" >&2
	fi
fi
[ -n "$db" ] || db=$(newest_db)
[ -n "$db" ] && [ -f "$db/index/db.json" ] || { echo "vulncheck: no vulnerability database in $DBS (run once with the module proxy reachable)" >&2; exit 2; }

echo "vulncheck: database $(basename "$db") ($(sed -n 's/.*"modified":"\([^"]*\)".*/\1/p' "$db/index/db.json")), go $(go env GOVERSION)"
exec "$TOOLS/govulncheck-$GOVULNCHECK_VERSION" -db "file://$db" "$@" ./...
