#!/usr/bin/env bash
# Installs the PostgreSQL clients the wire-protocol tests (pgwire/clients_test.go)
# drive, once, into .cache/pgclients (later runs do not touch the network):
#   .cache/pgclients/venv        Python venv with psycopg 3 (PyPI, pinned)
#   .cache/pgclients/jdbc/*.jar  the PostgreSQL JDBC driver (Maven Central, pinned)
# psql comes from Debian's postgresql-client (.ci/run installs it in CI).
# Needs python3 (with venv) and mvn; fails, never skips, when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PSYCOPG_VERSION=3.3.9
JDBC_VERSION=42.7.14
dir=.cache/pgclients
mkdir -p "$dir"

die() { echo "pgclients: $*" >&2; exit 1; }

if [[ ! -f $dir/venv/.psycopg-$PSYCOPG_VERSION ]]; then
  command -v python3 >/dev/null || die "python3 not found (Debian: apt-get install python3 python3-venv)"
  echo "pgclients: installing psycopg $PSYCOPG_VERSION into $dir/venv"
  rm -rf "$dir/venv"
  python3 -m venv "$dir/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$dir/venv/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==$PSYCOPG_VERSION" ||
    die "pip could not install psycopg $PSYCOPG_VERSION (is PyPI reachable?)"
  touch "$dir/venv/.psycopg-$PSYCOPG_VERSION"
fi

jar=$dir/jdbc/postgresql-$JDBC_VERSION.jar
if [[ ! -f $jar ]]; then
  command -v mvn >/dev/null || die "mvn not found: Maven fetches the PostgreSQL JDBC driver (Debian: apt-get install maven)"
  echo "pgclients: fetching org.postgresql:postgresql:$JDBC_VERSION from Maven Central"
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact=org.postgresql:postgresql:$JDBC_VERSION \
    -DoutputDirectory="$dir/jdbc" || die "mvn could not fetch the PostgreSQL JDBC driver $JDBC_VERSION"
  [[ -f $jar ]] || die "$jar is missing after mvn dependency:copy"
fi
echo "pgclients: ready in $dir"
