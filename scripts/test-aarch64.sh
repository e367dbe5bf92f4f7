#!/usr/bin/env bash
# The unit, parity and example tests built for aarch64 (64-bit Arm: Graviton,
# Apple silicon under Linux) and run under qemu-user emulation on an x86-64 Debian
# 12 machine. There no hand-written micro-kernel exists, so this is the portable
# path: Eigen's GEMM for float32 and the scalar bf16 and int8 kernels. By hand,
# not in CI (it takes longer than CI's budget allows); needs root for apt-get
# and binfmt_misc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-aarch64}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; apt-get update -qq; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user \
  qemu-user-binfmt libpng-dev:arm64 libjpeg62-turbo-dev:arm64 libutf8proc-dev:arm64 \
  libcpp-httplib-dev:arm64 > /dev/null
"$root/scripts/install-deps.sh"  # the header-only dependencies, as on x86-64

# SentencePiece's packages are not multiarch: the arm64 library would replace the
# machine's own. Its arm64 shared library is unpacked beside the build instead
# (the headers are the machine's), linked by path and found at run time through
# LD_LIBRARY_PATH, which qemu hands to the emulated loader.
arm64_libs=$build/arm64-libs
if [ ! -e "$arm64_libs/usr/lib/aarch64-linux-gnu/libsentencepiece.so.0" ]; then
  mkdir -p "$arm64_libs/debs"
  (cd "$arm64_libs/debs" && apt-get download -qq libsentencepiece0:arm64)
  dpkg-deb -x "$arm64_libs"/debs/libsentencepiece0_*_arm64.deb "$arm64_libs"
fi
sentencepiece=$arm64_libs/usr/lib/aarch64-linux-gnu/libsentencepiece.so.0

# The tests start the tool and the examples as programs: aarch64 executables must
# run as such, through qemu registered with the kernel.
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi

# pkg-config (cpp-httplib, for the tool's server) reads the arm64 packages' files.
PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
  cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" -DCMAKE_BUILD_TYPE=Release \
  -DMMT_NATIVE=OFF -DMMT_BUILD_TESTS=ON -DMMT_BUILD_EXAMPLES=ON -DSENTENCEPIECE_LIBRARY="$sentencepiece"
cmake --build "$build" -j "$(nproc)"
# hostile.tool is left out: two of its cases run the tool in 200 MB of address
# space, where qemu's own 128 MiB code buffer does not fit, and it allows 20 s a
# case, which one case under emulation exceeds.
LD_LIBRARY_PATH="$(dirname "$sentencepiece")" ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -LE build -E '^hostile\.tool'
