# Cross-compiling for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu, against
# the arm64 multiarch packages of libpng, libjpeg and utf8proc; the header-only
# dependencies are the build machine's. Binaries run under qemu-user
# (scripts/test-aarch64.sh registers it with binfmt_misc, so the tests can also
# start the tool and the examples). See scripts/test-aarch64.sh.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)  # the C API's test program
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
# Debian ships xtensor's package config, header-only as it is, under the build
# machine's multiarch directory, where an aarch64 search does not look.
if(NOT DEFINED xtensor_DIR)
  set(xtensor_DIR /usr/lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu/cmake/xtensor)
endif()
