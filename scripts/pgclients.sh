#!/usr/bin/env bash
# Installs the PostgreSQL clients the wire-protocol tests (pgwire/clients_test.go,
# make test-clients) drive, once (later runs do not touch the network):
#   psql                         Debian's postgresql-client (apt-get, as root)
#   java (a JDK), mvn            Debian's openjdk-17-jdk-headless, maven (same)
#   .cache/pgclients/venv        Python venv with psycopg 3 (PyPI, pinned)
#   .cache/pgclients/jdbc/*.jar  the PostgreSQL JDBC driver (Maven Central, pinned)
# Debian packages (postgresql-client, python3-venv) are installed only when
# missing and only as root with apt-get; otherwise it says what to install.
# Needs python3 and mvn; fails, never skips, when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PSYCOPG_VERSION=3.3.9
JDBC_VERSION=42.7.14
dir=.cache/pgclients
mkdir -p "$dir"

die() { echo "pgclients: $*" >&2; exit 1; }

# apt PACKAGE WHY: installs a Debian package, or says how to.
apt_updated=
apt() {
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    die "$2: install the Debian package $1 (sudo apt-get install $1) and rerun"
  fi
  echo "pgclients: installing $1 (Debian package) for $2"
  if [[ -z $apt_updated ]]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null ||
    die "apt-get could not install $1"
}

command -v psql >/dev/null || apt postgresql-client "psql is missing"
# The JDBC check runs as a single source file (java JdbcCheck.java): a JDK's
# java, not a bare JRE's (it lacks the jdk.compiler module).
if ! command -v java >/dev/null || ! java --list-modules 2>/dev/null | grep -q '^jdk.compiler'; then
  apt openjdk-17-jdk-headless "the JDBC test needs a JDK 17+ (java with jdk.compiler)"
fi

if [[ ! -f $dir/venv/.psycopg-$PSYCOPG_VERSION ]]; then
  command -v python3 >/dev/null || die "python3 not found (Debian: apt-get install python3 python3-venv)"
  python3 -c 'import ensurepip' 2>/dev/null || apt python3-venv "python3 cannot make a venv"
  echo "pgclients: installing psycopg $PSYCOPG_VERSION into $dir/venv"
  rm -rf "$dir/venv"
  python3 -m venv "$dir/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$dir/venv/bin/pip" install -q --disable-pip-version-check "psycopg[binary]==$PSYCOPG_VERSION" ||
    die "pip could not install psycopg $PSYCOPG_VERSION (is PyPI reachable?)"
  touch "$dir/venv/.psycopg-$PSYCOPG_VERSION"
fi

jar=$dir/jdbc/postgresql-$JDBC_VERSION.jar
if [[ ! -f $jar ]]; then
  command -v mvn >/dev/null || apt maven "Maven fetches the PostgreSQL JDBC driver"
  echo "pgclients: fetching org.postgresql:postgresql:$JDBC_VERSION from Maven Central"
  mvn -q -B -Dstyle.color=never dependency:copy -Dartifact=org.postgresql:postgresql:$JDBC_VERSION \
    -DoutputDirectory="$dir/jdbc" || die "mvn could not fetch the PostgreSQL JDBC driver $JDBC_VERSION"
  [[ -f $jar ]] || die "$jar is missing after mvn dependency:copy"
fi
echo "pgclients: ready in $dir"
