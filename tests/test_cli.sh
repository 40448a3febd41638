#!/usr/bin/env bash
# test_cli.sh BPFVM PLUGIN CONFORMANCE-DIR — the bpfvm command and the conformance
# plugin end to end: outputs, exit statuses and error messages users see.
set -u
bpfvm=$1 plugin=$2 conf=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME STATUS PATTERN CMD... : CMD exits with STATUS and its stdout+stderr
# match the extended regex PATTERN.
expect() {
	local name=$1 status=$2 pattern=$3
	shift 3
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq "$status" ] && grep -Eq -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: exit %s (want %s), output:\n%s\n(want /%s/)\n' "$name" "$rc" \
			"$status" "$out" "$pattern" >&2
	fi
}

printf 'mov %%r0, %%r2\nadd %%r0, 1\nexit\n' > "$tmp/len.s"
printf 'r0 = *(u64 *)(r1 + 0)\nexit\n' > "$tmp/read8.s"
printf 'r0 = 0\nloop:\ngoto loop\n' > "$tmp/spin.s"
printf 'mov %%r0, 1\nbogus %%r1\n' > "$tmp/bad.s"
printf -- '-- asm\nmov %%r0, 7\nexit\n-- result\n0x8\n' > "$tmp/wrong.data"
printf '\x07\x00\x00\x00\x01\x00\x00\x00\x95\x00\x00\x00' > "$tmp/short.bin"

expect "help" 0 "Usage: bpfvm COMMAND" "$bpfvm" --help
expect "version" 0 "^bpfvm [0-9]+\.[0-9]+" "$bpfvm" --version
expect "unknown command" 2 "unknown command 'frobnicate'" "$bpfvm" frobnicate
expect "no command" 2 "Usage" "$bpfvm"
for sub in run asm disasm conformance; do
	expect "$sub --help" 0 "Usage: bpfvm $sub" "$bpfvm" "$sub" --help
	expect "$sub bad option" 2 "Try 'bpfvm $sub --help'" "$bpfvm" "$sub" --no-such-option
done

# run
expect "run asm with --mem" 0 "^r0 = 0x4 \(4\)" "$bpfvm" run "$tmp/len.s" --mem "aa bb cc"
expect "run --mem-file" 0 "r0 = 0xd \(13\)" "$bpfvm" run "$tmp/len.s" --mem-file "$tmp/short.bin" --interp
expect "run -j" 0 '"retval":4,"retval_hex":"0x4"' "$bpfvm" run "$tmp/len.s" --mem "aabbcc" -j
expect "run --repeat" 0 "time: [0-9]+ ns/run \(mean of 1000 runs, interp\)" \
	"$bpfvm" run "$tmp/len.s" --repeat 1000 --engine interp
expect "run switch engine" 0 "r0 = 0x1 " "$bpfvm" run "$tmp/len.s" --engine switch
expect "run .data passes" 0 "PASS: .*add.data" "$bpfvm" run "$conf/add.data"
expect "run .data fails" 1 "FAIL: .*wrong.data: expected 0x8, got 0x7" "$bpfvm" run "$tmp/wrong.data"
expect "run out of bounds" 1 "insn 0: read of 8 bytes at 0x[0-9a-f]+ outside" \
	"$bpfvm" run "$tmp/read8.s" --mem "01 02 03"
expect "run in bounds" 0 "r0 = 0x807060504030201" "$bpfvm" run "$tmp/read8.s" \
	--mem "01 02 03 04 05 06 07 08"
expect "run budget" 1 "stopped after 1000 instructions; raise the limit with --budget" "$bpfvm" run "$tmp/spin.s" --budget 1000
expect "run bad asm" 2 "bad.s:2:1: .*bogus" "$bpfvm" run "$tmp/bad.s"
expect "run short bytecode" 2 "bytecode size 12 is not a multiple of 8" "$bpfvm" run "$tmp/short.bin"
expect "run missing file" 2 "no-such.s: No such file" "$bpfvm" run "$tmp/no-such.s"
expect "run bad --mem" 2 "--mem: bad hex at character 3" "$bpfvm" run "$tmp/len.s" --mem "aa zz"
expect "run bad --repeat" 2 "--repeat needs a count" "$bpfvm" run "$tmp/len.s" --repeat 0
expect "run rejected program" 2 "insn 0: r3 is read before it is written" \
	"$bpfvm" run <(printf 'r0 = r3\nexit\n')

# bpf_trace_printk output: "x=%d\n" built on the stack, printed as it arrives
printf 'r1 = 0x0a64253d78 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 42\ncall 6\nexit\n' > "$tmp/trace.s"
expect "trace_printk line" 0 "^bpf_trace_printk: x=42$" "$bpfvm" run "$tmp/trace.s"
expect "trace_printk return" 0 "^r0 = 0x5 \(5\)" "$bpfvm" run "$tmp/trace.s" --interp

# asm / disasm
expect "asm to file" 0 "" "$bpfvm" asm "$tmp/len.s" -o "$tmp/len.bin"
expect "asm hex" 0 "^bf 20 00 00 00 00 00 00" "$bpfvm" asm "$tmp/len.s"
expect "disasm kernel" 0 "^0: r0 = r2" "$bpfvm" disasm "$tmp/len.bin"
expect "disasm opcodes" 0 "^0: \(bf\) r0 = r2" "$bpfvm" disasm "$tmp/len.bin" --opcodes
expect "disasm conformance" 0 "mov %r0, %r2" "$bpfvm" disasm "$tmp/len.bin" --syntax conformance
"$bpfvm" disasm "$tmp/len.bin" > "$tmp/len.txt" 2>&1
"$bpfvm" asm "$tmp/len.txt" -o "$tmp/len2.bin" 2>&1
expect "disasm | asm round trip" 0 "" cmp "$tmp/len.bin" "$tmp/len2.bin"
expect "disasm bad syntax" 2 "unknown syntax 'intel'" "$bpfvm" disasm "$tmp/len.bin" --syntax intel

# conformance
expect "conformance dir" 0 "^313 passed, 0 failed$" "$bpfvm" conformance -q "$conf"
expect "conformance failing file" 1 "FAIL .*wrong.data: expected 0x8, got 0x7" \
	"$bpfvm" conformance "$tmp/wrong.data"
expect "conformance -j" 0 '"passed":1,"failed":0' "$bpfvm" conformance -j "$conf/add.data"
expect "conformance missing" 2 "no such file" "$bpfvm" conformance "$tmp/nothing"

# the plugin protocol
expect "plugin" 0 "^5$" sh -c "echo 'b7 00 00 00 05 00 00 00 95 00 00 00 00 00 00 00' | '$plugin'"
expect "plugin memory" 0 "^3$" sh -c "echo 'bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00' | '$plugin' '01 02 03'"
expect "plugin helper 5" 0 "^2$" sh -c "'$bpfvm' asm '$conf/call_unwind_fail.data' 2>/dev/null >/dev/null; \
	printf 'mov %%r1, -1\ncall 5\nmov %%r0, 2\nexit\n' > '$tmp/u.s'; '$bpfvm' asm '$tmp/u.s' | '$plugin' --interp"
# as the upstream runner calls it: memory (maybe empty) and options as one string each
expect "plugin upstream style" 0 "^5$" sh -c "echo 'b7  00  00  00  05  00  00  00  95  00  00  00  00  00  00  00  ' | '$plugin' '' ''"
expect "plugin upstream options" 0 "^3$" sh -c "echo 'bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00' | '$plugin' '01  02  03  ' '--interp'"
expect "plugin unknown option" 1 "unknown option '--turbo'" sh -c "echo '95 00 00 00 00 00 00 00' | '$plugin' '' '--interp --turbo'"
expect "plugin bad hex" 1 "bad hex" sh -c "echo 'b7 0g' | '$plugin'"
expect "plugin rejects" 1 "unknown opcode" sh -c "echo 'ff 00 00 00 00 00 00 00' | '$plugin'"

# the JIT: default engine, --jit, --interp, disasm --jited, conformance and plugin
if "$bpfvm" run "$tmp/len.s" --jit >/dev/null 2>&1; then
	expect "run default engine is the JIT" 0 "engine: jit" "$bpfvm" run "$tmp/len.s" --mem "aa bb cc"
	expect "run --jit" 0 "r0 = 0x4 \(4\)" "$bpfvm" run "$tmp/len.s" --mem "aa bb cc" --jit
	expect "run --interp" 0 "engine: interp" "$bpfvm" run "$tmp/len.s" --interp
	expect "run --jit -j" 0 '"engine":"jit"' "$bpfvm" run "$tmp/len.s" --jit -j
	expect "run --jit budget" 1 "stopped after 1000 instructions" "$bpfvm" run "$tmp/spin.s" --budget 1000 --jit
	expect "run --jit out of bounds" 1 "insn 0: read of 8 bytes at 0x[0-9a-f]+ outside" \
		"$bpfvm" run "$tmp/read8.s" --mem "01 02 03" --jit
	expect "run --jit --repeat" 0 "ns/run \(mean of 100 runs, jit\)" "$bpfvm" run "$tmp/len.s" --repeat 100
	expect "disasm --jited" 0 "^1: r0 \+= 1" "$bpfvm" disasm --jited "$tmp/len.bin"
	expect "disasm --jited code" 0 "bytes of x86-64 code for 3 instructions" "$bpfvm" disasm --jited "$tmp/len.bin"
	expect "disasm --jited native" 0 "^ +[0-9a-f]+: " "$bpfvm" disasm --jited "$tmp/len.bin"
	expect "disasm --jited .data" 0 "exit" "$bpfvm" disasm --jited "$conf/call_unwind_fail.data"
	expect "conformance --jit" 0 "" "$bpfvm" conformance --jit -q "$conf"
	expect "plugin --jit" 0 "^3$" sh -c "echo 'bf 20 00 00 00 00 00 00 95 00 00 00 00 00 00 00' | '$plugin' '01 02 03' '--jit'"
	expect "plugin --jit helper" 0 "^2$" sh -c "'$bpfvm' asm '$tmp/u.s' | '$plugin' --jit"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
