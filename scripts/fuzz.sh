#!/usr/bin/env bash
# fuzz.sh BUILD-DIR SECONDS — runs each libFuzzer harness for SECONDS, seeded from
# the conformance suite (assembly text for fuzz_asm, bytecode for fuzz_run) and the
# committed corpora in fuzz/corpus/. Fails if a harness finds a crash.
set -euo pipefail
build=${1:?usage: fuzz.sh BUILD-DIR SECONDS}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
conf=${BPFVM_CONFORMANCE_DIR:-$root/../shared/conformance}
[ -d "$conf" ] || conf=$root/tests/conformance
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/asm" "$work/run"
for f in "$conf"/*.data; do
	name=$(basename "$f" .data)
	# asm section only
	awk '/^-- /{sec=$2; next} sec=="asm"' "$f" > "$work/asm/$name"
	# bytecode, prefixed with a zero memory length byte
	if "$build/bpfvm" asm "$work/asm/$name" -o "$work/code.bin" 2>/dev/null; then
		{ printf '\x08\x01\x02\x03\x04\x05\x06\x07\x08'; cat "$work/code.bin"; } > "$work/run/$name"
	fi
done
for h in fuzz_asm fuzz_run; do
	corpus=$work/${h#fuzz_}
	[ -d "$root/fuzz/corpus/$h" ] && cp "$root/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz: $h for ${secs}s, $(ls "$corpus" | wc -l) seeds"
	(cd "$work" && "$build/fuzz/$h" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-print_final_stats=1 "$corpus" 2>&1 | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY)' || true)
	if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >/dev/null 2>&1; then
		echo "fuzz: $h found a failing input:" >&2
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* >&2 || true
		mkdir -p "$root/$build-findings" && cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$root/$build-findings"/ 2>/dev/null || true
		exit 1
	fi
done
