#!/usr/bin/env bash
# Installs the Debian packages phoneverify needs to build, run and test.
# All present: prints nothing. Some missing: as root, apt-get installs them; otherwise
# prints the exact apt-get line to run and exits 1.
set -euo pipefail

packages=(
  g++ make pkg-config libfcgi-dev default-libmysqlclient-dev mariadb-server mariadb-client
  nginx libcurl4-openssl-dev libjsoncpp-dev libboost-test-dev libboost-program-options-dev
  libsodium-dev curl ca-certificates libmstch-dev logrotate wrk
  # The Apache fronts (http_front = apache | apache-fcgid). apache2-bin is the apache2
  # binary and its modules without Debian's system service (which would take port 80).
  apache2-bin libapache2-mod-fcgid
  # The browser test of make test: headless Chromium driven from Node, and a font with
  # Devanagari so the Nepali pages render in its screenshots.
  chromium npm fonts-noto-ui-core
  # make cluster and its tests: Galera, its rsync state transfer, and ip netns.
  galera-4 rsync socat iproute2
)
# Any of these provides the nginx binary; the first is what we install.
nginx_flavours=(nginx nginx-light nginx-core nginx-full nginx-extras)

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for package in "${packages[@]}"; do
  # Node's own packages (nodesource) ship npm inside nodejs: any working npm will do.
  if [[ $package == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
  if [[ $package == nginx ]]; then
    found=no
    for flavour in "${nginx_flavours[@]}"; do
      if installed "$flavour"; then found=yes; break; fi
    done
    [[ $found == yes ]] && continue
  elif installed "$package"; then
    continue
  fi
  missing+=("$package")
done

((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them as root, then run make again:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "Installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
