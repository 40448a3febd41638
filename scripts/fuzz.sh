#!/usr/bin/env bash
# fuzz.sh BUILD-DIR SECONDS — runs each libFuzzer harness for SECONDS, seeded from
# the conformance suite (assembly text for fuzz_asm, bytecode for fuzz_run) and the
# committed corpora in fuzz/corpus/. Fails if a harness finds a crash.
set -euo pipefail
build=$(cd "${1:?usage: fuzz.sh BUILD-DIR SECONDS}" && pwd)
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
for h in $(cd "$build/fuzz" && ls fuzz_* | grep -v '\.' ); do
	corpus=$work/${h#fuzz_}
	mkdir -p "$corpus"
	[ -d "$root/fuzz/corpus/$h" ] && cp "$root/fuzz/corpus/$h"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz: $h for ${secs}s, $(ls "$corpus" | wc -l) seeds"
	# Object files are bigger than bytecode: let those harnesses keep whole seeds.
	case $h in fuzz_elf|fuzz_object) maxlen=16384 ;; *) maxlen=4096 ;; esac
	status=0
	(cd "$work" && "$build/fuzz/$h" -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
		-print_final_stats=1 "$corpus" >"$work/$h.log" 2>&1) || status=$?
	grep -E '^(Done [0-9]+ runs|stat::new_units_added)' "$work/$h.log" | sed 's/^/  /'
	if [ "$status" -ne 0 ]; then
		echo "fuzz: $h failed (exit $status):" >&2
		grep -E -A30 '==[0-9]+==ERROR|^SUMMARY|deadly signal|Test unit written' "$work/$h.log" | head -60 >&2 || tail -30 "$work/$h.log" >&2
		mkdir -p "$build/findings"
		cp "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$build/findings"/ 2>/dev/null || true
		echo "fuzz: failing inputs saved in $build/findings" >&2
		exit 1
	fi
done
