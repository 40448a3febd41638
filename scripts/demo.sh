#!/usr/bin/env bash
# demo.sh BPFVM — assembles examples/checksum.s, shows its disassembly, and runs it
# on an IPv4 header to compute the header checksum (expected 0xb861), timing it
# on the JIT and on the interpreter.
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
