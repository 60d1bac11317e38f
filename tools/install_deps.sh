#!/bin/sh
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Installs upfi's build dependencies from the Debian archive (Debian 12). Only missing packages are installed.
# Usage: tools/install_deps.sh [extra-package ...]
set -eu
packages="g++ make cmake libeigen3-dev libxsimd-dev doctest-dev libbenchmark-dev libboost-dev librsvg2-bin netpbm libhdf5-dev pkg-config $*"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "upfi: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
