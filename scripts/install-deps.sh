#!/usr/bin/env bash
# install-deps.sh — installs the Debian 12 packages bpfvm needs to build, test,
# fuzz and benchmark, and only those that are missing. Runs apt-get as root;
# otherwise names the missing packages and exits non-zero.
#
#   build:   gcc make cmake pkg-config
#   tests:   clang llvm (BPF target and llvm-objcopy for bench/ programs); clang-19,
#            a second compiler for the loader's test objects (clang 14 and 19
#            emit different, both valid, objects)
#   fuzzing, sanitizers: libclang-rt-14-dev (libFuzzer, ASan, UBSan runtimes)
#   JIT listings: binutils (objdump)
#   examples: libbpf-dev (<bpf/bpf_helpers.h> & co. for examples/*.bpf.c, and libbpf
#            for test_kernel_examples, which loads them into the kernel too)
set -euo pipefail

PACKAGES=(gcc make cmake pkg-config clang llvm clang-19 libclang-rt-14-dev binutils
	libbpf-dev)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages: ${missing[*]}" >&2
	echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
