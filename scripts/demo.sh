#!/usr/bin/env bash
# demo.sh BPFVM — assembles examples/checksum.s, shows its disassembly, and runs it
# on an IPv4 header to compute the header checksum (expected 0xb861), timing it
# on the JIT and on the interpreter; then loads a libbpf XDP program compiled by
# clang (examples/xdp_proto_count.bpf.c), test-runs it on a UDP packet 1,000
# times and prints its per-protocol counters from the map, formatted from BTF.
set -euo pipefail
bpfvm=${1:-build/bpfvm}
root=$(cd "$(dirname "$0")/.." && pwd)
prog=$root/examples/checksum.s
# An IPv4 header (20 bytes) with its checksum field zeroed.
header="45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7"

echo "== the program, assembled and disassembled (kernel verifier-log syntax)"
"$bpfvm" disasm "$prog" --opcodes
echo
echo "== run on an IPv4 header: $header"
"$bpfvm" run "$prog" --mem "$header"
echo
for engine in jit interp; do
	echo "== timed: 1,000,000 runs, $engine"
	"$bpfvm" run "$prog" --mem "$header" --repeat 1000000 --engine "$engine" | grep '^time'
done
echo
echo "The IPv4 header checksum of this header is 0xb861."

obj=$(dirname "$bpfvm")/examples/clang-14/xdp_proto_count.bpf.o
[ -f "$obj" ] || obj=$(ls "$(dirname "$bpfvm")"/examples/clang-*/xdp_proto_count.bpf.o 2>/dev/null | head -1)
if [ -z "$obj" ] || [ ! -f "$obj" ]; then
	echo "(no clang with the BPF target: the object demo is skipped)"
	exit 0
fi
# Ethernet + IPv4 (UDP, 10.0.0.1 -> 10.0.0.2) + UDP, 42 bytes.
udp="ff ff ff ff ff ff 00 01 02 03 04 05 08 00 45 00 00 1c 00 00 00 00 40 11 00 00
     0a 00 00 01 0a 00 00 02 00 35 00 35 00 08 00 00"
echo
echo "== a libbpf object: examples/xdp_proto_count.bpf.c, compiled by clang -target bpf"
"$bpfvm" prog show "$obj"
echo
echo "== prog run: 1,000 UDP packets through XDP, then the map"
"$bpfvm" prog run "$obj" --data-hex "$udp" --repeat 1000 --dump proto_stats
