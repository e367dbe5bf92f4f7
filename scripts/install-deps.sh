#!/usr/bin/env bash
# Installs the Debian 12 packages mmt needs to build, test and benchmark,
# skipping the ones already there. Needs root (or sudo) only when one is missing.
set -euo pipefail
packages=(
  g++ make cmake pkg-config git
  libeigen3-dev libxtensor-dev xtl-dev nlohmann-json3-dev
  libpng-dev libjpeg-dev libutf8proc-dev libsentencepiece-dev
  doctest-dev libbenchmark-dev libcli11-dev libcpp-httplib-dev curl
  clang libclang-rt-14-dev libomp-14-dev
  python3-dev python3-pybind11 python3-numpy python3-pytest python3-setuptools python3-distributed
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
