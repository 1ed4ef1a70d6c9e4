#!/usr/bin/env bash
# The OS packages `make dev` and `make test` need, checked before either starts:
#   hack/deps.sh dev    git, openssl, curl, Redis (the local Argo CD's cache), PostgreSQL
#                       (server: the platform database server services' databases are made on)
#   hack/deps.sh test   those, and Chromium with fonts (the entity cards' browser test),
#                       Prometheus (the golden signals' tests read from a real one),
#                       Node.js and npm of the version plugins/package.json declares in
#                       engines
# What is missing is installed with apt-get when this runs as root (or with passwordless sudo);
# otherwise the script names the command to run and stops. Nothing is installed that is there.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-test}
case $profile in dev | test) ;; *) echo "usage: hack/deps.sh dev|test" >&2; exit 2 ;; esac

say() { printf '[deps] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# The lowest Node.js major the plugins accept (engines.node is ">=N" or "^N...").
node_min=$(sed -n 's/.*"node": *"[^0-9]*\([0-9][0-9]*\).*/\1/p' plugins/package.json | head -1)
node_ok() { have node && have npm && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge "${node_min:-0}" ]; }
postgres_ok() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
fonts_ok() { compgen -G '/usr/share/fonts/truetype/liberation*/LiberationSans-Regular.ttf' >/dev/null; }

# missing prints the Debian packages of what is not there.
missing() {
  have git || echo git
  have openssl || echo openssl
  have curl || echo curl
  have redis-server || echo redis-server
  postgres_ok || echo postgresql
  [ "$profile" = test ] || return 0
  have chromium || echo chromium
  have prometheus || echo prometheus
  fonts_ok || echo fonts-liberation
  # NodeSource's nodejs carries npm; Debian's needs its npm package, asked once nodejs is in.
  if ! have node; then
    echo nodejs
  elif ! have npm; then
    echo npm
  elif ! node_ok; then
    echo nodejs
  fi
}

need=$(missing | xargs)
if [ -z "$need" ]; then
  exit 0
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    say "missing: $need"
    say "install them, then run make again:  sudo apt-get install -y --no-install-recommends $need"
    exit 1
  fi
fi
if ! have apt-get; then
  say "missing: $need (Debian package names); install them with this system's package manager"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
installed=()
for round in 1 2; do
  say "installing $need (apt-get; once per machine)"
  [ $round = 1 ] && { "${as_root[@]}" apt-get update -qq || { say "apt-get update failed"; exit 1; }; }
  # shellcheck disable=SC2086 # the list is package names
  if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends $need >/dev/null; then
    say "apt-get could not install $need"
    exit 1
  fi
  installed+=($need)
  need=$(missing | xargs)
  [ -z "$need" ] && break
done
if [ -n "$need" ]; then
  if [ "$need" = nodejs ]; then
    say "Node.js ${node_min} or later is needed (plugins/package.json engines); this system's package gives $(node --version 2>/dev/null || echo none). Install a newer Node.js (for example NodeSource's packages) and run make again."
  else
    say "still missing after apt-get: $need"
  fi
  exit 1
fi
say "installed ${installed[*]}"
