#!/usr/bin/env bash
# Prepares what `make test-aarch64` needs on an x86_64 Debian machine:
#   - the cross toolchain and the emulator: gcc/g++-aarch64-linux-gnu and
#     qemu-user (installed with apt-get when missing; that needs root);
#   - SYSROOT: Debian's arm64 CPython 3.11 and the libraries it and the C
#     tests need (glibc, libstdc++, libffi, ...), downloaded with
#     `apt-get download` (after `dpkg --add-architecture arm64`) and
#     unpacked, not installed: `qemu-aarch64 -L SYSROOT SYSROOT/usr/bin/python3.11`
#     runs it. libpython3.11-dev brings the aarch64 pyconfig.h that
#     tests/aarch64 compares with this machine's.
# Usage: scripts/aarch64-sysroot.sh SYSROOT
# A SYSROOT made from the same package list is kept (stamp file).
set -euo pipefail
root=${1:?usage: $0 SYSROOT}

# The arm64 packages: CPython's interpreter and standard library, the
# shared libraries they load (the dependency closure of
# libpython3.11-stdlib without the arch-independent data packages), and
# libstdc++ for the C++ test of tests/c.
packages=(
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libpython3.11-dev
  libc6 libgcc-s1 libstdc++6 libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5
  libcrypt1 libncursesw6 libtinfo6 libreadline8 libsqlite3-0 libuuid1 libnsl2 libtirpc3
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2
  libdb5.3 libzstd1
)
tools=(aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu aarch64-linux-gnu-g++:g++-aarch64-linux-gnu qemu-aarch64:qemu-user)

as_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "aarch64-sysroot.sh: $* needs root (or install it by hand: ${tools[*]#*:})" >&2
    exit 1
  fi
  "$@"
}

missing=()
for t in "${tools[@]}"; do
  command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq
  updated=1
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp="$root/.gofka-sysroot"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then
  echo "aarch64 sysroot: $root (up to date)"
  exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  as_root dpkg --add-architecture arm64
  updated=0
fi
if [ "$updated" = 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq  # (not root: the package lists as they are)
fi

debs=$(mktemp -d)
trap 'rm -rf "$debs" "$root.tmp"' EXIT
# apt drops to the _apt user to download: let it write there.
chmod 0777 "$debs"
(cd "$debs" && apt-get download -qq "${packages[@]/%/:arm64}")
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$root.tmp"
done
test -x "$root.tmp/usr/bin/python3.11"
echo "${packages[*]}" > "$root.tmp/.gofka-sysroot"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "aarch64 sysroot: $root ($(du -sh "$root" | cut -f1))"
