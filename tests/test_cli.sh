#!/usr/bin/env bash
# test_cli.sh BPFVM PLUGIN CONFORMANCE-DIR — the bpfvm command and the conformance
# plugin end to end: outputs, exit statuses and error messages users see.
# The object commands (prog, map) use the loader's test objects built beside
# BPFVM (tests/objs/clang-*/) and a few objects compiled here with clang's BPF
# target; without them those cases are skipped with a message.
set -u
bpfvm=$1 plugin=$2 conf=$3
here=$(cd "$(dirname "$0")" && pwd)
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

# expect_out NAME STATUS EXPECTED CMD... : CMD exits with STATUS and its stdout is
# exactly EXPECTED (a trailing newline aside).
expect_out() {
	local name=$1 status=$2 want=$3
	shift 3
	local out rc
	out=$("$@" 2>"$tmp/stderr")
	rc=$?
	if [ "$rc" -eq "$status" ] && [ "$out" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: exit %s (want %s), stdout:\n%s\n(want:)\n%s\nstderr:\n%s\n' "$name" \
			"$rc" "$status" "$out" "$want" "$(cat "$tmp/stderr")" >&2
	fi
}

# expect_json NAME PATTERN CMD... : CMD succeeds, its stdout is one valid JSON
# document (checked by python3 or jq when either is installed) matching PATTERN.
expect_json() {
	local name=$1 pattern=$2
	shift 2
	local out rc ok=1
	out=$("$@" 2>"$tmp/stderr")
	rc=$?
	if command -v python3 >/dev/null; then
		python3 -m json.tool <<<"$out" >/dev/null 2>&1 || ok=0
	elif command -v jq >/dev/null; then
		jq . <<<"$out" >/dev/null 2>&1 || ok=0
	fi
	if [ "$rc" -eq 0 ] && [ "$ok" -eq 1 ] && grep -Eq -- "$pattern" <<<"$out"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL %s: exit %s, valid JSON %s, stdout:\n%s\n(want /%s/)\nstderr:\n%s\n' \
			"$name" "$rc" "$ok" "$out" "$pattern" "$(cat "$tmp/stderr")" >&2
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
for sub in run asm disasm conformance prog map; do
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

# prog and map: eBPF object files. The loader's test objects (built beside bpfvm),
# and one compiled here that touches every kind of output: a hash map with BTF,
# a per-CPU array, a map without BTF types, a ring buffer, trace_printk, global
# data and a packet write.
objs=
for d in "$(dirname "$bpfvm")"/tests/objs/clang-*; do
	if [ -f "$d/xdp_hash.o" ]; then objs=$d; break; fi
done
bpfcc=
for cc in clang clang-14 clang-19; do
	if command -v "$cc" >/dev/null &&
	   echo 'int f(void) { return 0; }' | "$cc" -target bpf -O2 -c -x c - -o "$tmp/probe.o" 2>/dev/null; then
		bpfcc=$cc
		break
	fi
done
cat > "$tmp/cli.bpf.c" <<'BPF'
#include "bpf_defs.h"
static long (*bpf_ringbuf_output)(void *rb, void *data, __u64 size, __u64 flags) = (void *)130;
enum color { RED = 1, GREEN = 2 };
struct val { __u32 n; char name[8]; enum color c; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16);
	__type(key, __u32); __type(value, struct val);
} table SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2);
	__type(key, __u32); __type(value, __u64);
} pcpu SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2);
	__uint(key_size, 4); __uint(value_size, 4);
} nobtf SEC(".maps");
__u64 runs;
const volatile __u32 limit = 20;

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 key = end - data, k0 = 0;
	struct val v = { .n = key, .name = "pkt", .c = GREEN };
	bpf_map_update_elem(&table, &key, &v, 0);
	__u64 *c = bpf_map_lookup_elem(&pcpu, &k0);
	if (c)
		*c += 1;
	runs++;
	__u64 rec = 0x1122334455667788;
	bpf_ringbuf_output(&events, &rec, sizeof(rec), 0);
	char fmt[] = "len=%d";
	bpf_trace_printk(fmt, sizeof(fmt), key);
	if (data + 1 <= end)
		data[0] = 0x7f;
	return key > limit ? 1 : 2;
}

SEC("socket")
int sock(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("xdp")
int oob(struct xdp_md *ctx)
{
	return ((unsigned char *)(long)ctx->data)[4000];
}

SEC("raw")
int rawp(unsigned char *mem, __u64 len)
{
	return len;
}

char LICENSE[] SEC("license") = "GPL";
BPF
cli_o=
if [ -n "$bpfcc" ] && "$bpfcc" -O2 -g -target bpf -I "$here/objs" -c "$tmp/cli.bpf.c" \
	-o "$tmp/cli.o" 2>"$tmp/cc.err"; then
	cli_o=$tmp/cli.o
elif [ -n "$bpfcc" ]; then
	fail=$((fail + 1))
	printf 'FAIL compiling the test object:\n%s\n' "$(cat "$tmp/cc.err")" >&2
fi
p14="00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d"
p22="$p14 0e 0f 10 11 12 13 14 15"
printf '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x08\x00\x45\x00' > "$tmp/pkt.bin"

# usage errors need no object
expect "prog unknown subcommand" 2 "unknown subcommand 'frob' \(show, dump, run\)" "$bpfvm" prog frob
expect "map unknown subcommand" 2 "unknown subcommand 'frob' \(show, dump\)" "$bpfvm" map frob
expect "prog no subcommand" 2 "Usage: bpfvm prog show" "$bpfvm" prog
expect "prog run --help" 0 "--data-in FILE" "$bpfvm" prog run --help
expect "map dump --help" 0 "run \[PROG\] \[OPTIONS\]" "$bpfvm" map dump --help
expect "prog show missing OBJ" 2 "bpfvm prog show: missing OBJ" "$bpfvm" prog show
expect "prog run missing OBJ" 2 "bpfvm prog run: missing OBJ" "$bpfvm" prog run
expect "map dump missing MAP" 2 "bpfvm map dump: missing MAP" "$bpfvm" map dump x.o
expect "prog run missing file" 2 "bpfvm prog run: $tmp/none.o: cannot open the object: No such file" \
	"$bpfvm" prog run "$tmp/none.o"
expect "prog show not an object" 2 "cannot open the object: Invalid argument" "$bpfvm" prog show "$tmp/len.s"
expect "prog run bad --repeat" 2 "--repeat needs a number from 1" "$bpfvm" prog run x.o --repeat 0
expect "prog run bad engine" 2 "unknown engine 'fast'" "$bpfvm" prog run x.o --engine fast
expect "prog run data twice" 2 "--data-in and --data-hex exclude each other" \
	"$bpfvm" prog run x.o --data-in a --data-hex 00
expect "prog run stdin twice" 2 "cannot both read stdin" "$bpfvm" prog run x.o --data-in - --ctx-in -
expect "prog dump --opcodes only" 2 "bad option '--opcodes'" "$bpfvm" prog show x.o --opcodes

if [ -z "$objs" ]; then
	echo "no BPF test objects beside $bpfvm: prog/map cases on the loader's objects skipped"
else
	xh=$objs/xdp_hash.o
	expect "prog show" 0 "^prog xdp_count: xdp  section xdp  license GPL$" "$bpfvm" prog show "$xh"
	expect "prog show insns" 0 "^	insns [0-9]+(  jited [0-9]+B)?  maps counts$" "$bpfvm" prog show "$xh"
	expect "prog show map" 0 "^map counts: hash  key 4B  value 16B  max_entries 1024  flags 0x1$" \
		"$bpfvm" prog show "$xh"
	expect_json "prog show -j" '"programs":\[\{"name":"xdp_count","type":"xdp","section":"xdp"' \
		"$bpfvm" prog show "$xh" -j
	expect_json "prog show -j maps" '"maps":\["counts"\]' "$bpfvm" prog show "$xh" -j
	expect_json "prog show -p" '^    "programs": \[' "$bpfvm" prog show "$xh" -p
	expect_out "map show" 0 "map counts: hash  key 4B  value 16B  max_entries 1024  flags 0x1" \
		"$bpfvm" map show "$xh"
	expect_json "map show -j" '^\[\{"name":"counts","type":"hash","bytes_key":4,"bytes_value":16,"max_entries":1024,"flags":1\}\]$' \
		"$bpfvm" map show "$xh" -j
	expect "map show run option" 2 "only -j, -p and --btf apply to map show" "$bpfvm" map show "$xh" --repeat 2
	# dump: maps and helpers by name
	expect "prog dump map" 0 "^ +[0-9]+: r1 = map\[counts\]$" "$bpfvm" prog dump "$xh"
	expect "prog dump helper" 0 "^ +[0-9]+: call bpf_map_lookup_elem#1$" "$bpfvm" prog dump "$xh"
	expect "prog dump header" 0 "^xdp_count:$" "$bpfvm" prog dump "$xh" xdp_count
	expect "prog dump --opcodes" 0 "^ +[0-9]+: \(18\) r1 = map\[counts\]$" "$bpfvm" prog dump "$xh" --opcodes
	expect "prog dump first insn" 0 "^   1: \(61\) r1 = \*\(u32 \*\)\(r6 \+12\)$" "$bpfvm" prog dump "$xh" --opcodes
	expect_json "prog dump -j" '^\[\{"name":"xdp_count","insns":\[\{"idx":0,"text":"r6 = r1"\},' \
		"$bpfvm" prog dump "$xh" -j
	expect "prog dump no such program" 2 "has no program 'nope' \(programs: xdp_count\)" \
		"$bpfvm" prog dump "$xh" nope
	expect "prog dump global data" 0 "r[0-9] = map\[\.rodata\]\+[0-9]+$" "$bpfvm" prog dump "$objs/globals.o"
	expect "prog dump global data at 0" 0 "r[0-9] = map\[\.data\]$" "$bpfvm" prog dump "$objs/globals.o"
	expect "prog dump subprograms" 0 "^; subprogram 2$" "$bpfvm" prog dump "$objs/calls.o" tc_main
	expect "prog dump local call" 0 "call pc[+-][0-9]+$" "$bpfvm" prog dump "$objs/calls.o" tc_main
	expect "prog dump callbacks" 0 "^; subprogram 1$" "$bpfvm" prog dump "$objs/loop.o"
	expect "prog dump all programs" 0 "^probe_malloc:$" "$bpfvm" prog dump "$objs/calls.o"
	expect "prog show two programs" 0 "^prog probe_malloc: kprobe  section uprobe/libc.so.6:malloc" \
		"$bpfvm" prog show "$objs/calls.o"
	# run
	expect "prog run xdp" 0 "^Return value: 2, duration: [0-9]+ns$" "$bpfvm" prog run "$xh" --data-hex "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d"
	expect "prog run --repeat" 0 "^Return value: 2, duration \(average\): [0-9]+ns$" \
		"$bpfvm" prog run "$xh" xdp_count --data-in "$tmp/pkt.bin" --repeat 100
	expect "prog run --interp" 0 "^Return value: 2, duration: [0-9]+ns$" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --interp
	expect_json "prog run -j" '^\{"program":"xdp_count","retval":2,"duration":[0-9]+,"engine":"(jit|interp)"\}$' \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" -j
	expect_json "prog run --engine switch" '"engine":"switch"' \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" -j --engine switch
	expect "prog run which program" 2 "has several programs \(tc_main, probe_malloc\): name the one" \
		"$bpfvm" prog run "$objs/calls.o"
	expect "prog run no such program" 2 "has no program 'x' \(programs: xdp_count\)" "$bpfvm" prog run "$xh" x
	expect "prog run bad data file" 2 "--data-in: $tmp/nothing: No such file" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/nothing"
	expect "prog run bad hex" 2 "--data-hex: bad hex at character 3" "$bpfvm" prog run "$xh" --data-hex "00 zz"
	expect "prog run --dump unknown" 2 "has no map 'nope' \(maps: counts\)" "$bpfvm" prog run "$xh" --dump nope
	expect "prog run --data-out -" 0 "^0000000	0102 0304 0506 0708 090a 0b0c 0d0e 0800 \| \.\.\.\.\.\.\.\. \.\.\.\.\.\.\.\.$" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --data-out -
	expect "prog run --data-out file" 0 "Return value: 2" "$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --data-out "$tmp/out.bin"
	expect "data out file" 0 "" cmp "$tmp/pkt.bin" "$tmp/out.bin"
	expect_json "prog run --data-out - -j" '"data_out":\[1,2,3,4,5,6,7,8,9,10,11,12,13,14,8,0,69,0\]' \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --data-out - -j
	expect "prog run data-out too small" 1 "the output data \(18 bytes\) does not fit in 4 bytes: raise --data-size-out" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --data-out - --data-size-out 4
	expect "prog run --ctx-out" 0 "^0000000	" "$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-out -
	expect_json "prog run --ctx-out -j" '"context_out":\[[0-9,]+\]' \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-out - -j
	expect "prog run rejected input" 2 "." "$bpfvm" prog run "$objs/globals.o" --data-hex "00 01"
	expect "prog run stdin" 0 "^Return value: 2, duration" \
		sh -c "'$bpfvm' prog run '$xh' --data-in - < '$tmp/pkt.bin'"
	expect "prog run tc" 0 "^Return value: 667, duration" "$bpfvm" prog run "$objs/calls.o" tc_main --data-in "$tmp/pkt.bin"
	xdp_md="00 00 00 00 12 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	printf '\0\0\0\0\22\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' > "$tmp/xdp_md.bin"
	expect "prog run --ctx-hex" 0 "^Return value: 2, duration" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-hex "$xdp_md"
	expect_json "prog run --ctx-in" '"context_out":\[0,0,0,0,18,0,' \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-in "$tmp/xdp_md.bin" --ctx-out - -j
	expect "prog run bad ctx" 2 "non-zero bytes past struct xdp_md" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-hex "$xdp_md 01"
	expect "prog run bad ctx data" 2 "ctx_in needs data_meta 0" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-hex "00 00 00 00 12 00 00 00 07 00 00 00"
	expect "prog run ctx-out too small" 1 "the output context \(24 bytes\) does not fit in 8 bytes: raise --ctx-size-out" \
		"$bpfvm" prog run "$xh" --data-in "$tmp/pkt.bin" --ctx-out - --ctx-size-out 8
	# CO-RE against a target BTF
	expect "prog show needs --btf" 2 "needs target BTF \(--btf FILE\)" "$bpfvm" prog show "$objs/core_kernel.o"
	expect "prog show --btf" 0 "^prog read_tgid: kprobe  section uprobe/kernel" \
		"$bpfvm" prog show "$objs/core_kernel.o" --btf "$objs/core_target.o"
	expect "prog run --btf missing" 2 "cannot open the object" \
		"$bpfvm" prog run "$objs/core_kernel.o" --btf "$tmp/nothing"
	# globals: .rodata/.data/.bss shown from BTF, before and after a run
	expect "map dump .rodata" 0 "^key: .*  value: \{\.cfg_limit = 100, \.cfg_mask = 65280\}$" \
		"$bpfvm" map dump "$objs/globals.o" .rodata
	expect "map dump count" 0 "^Found 1 element$" "$bpfvm" map dump "$objs/globals.o" .rodata
	expect_json "map dump -j .rodata" '"value":\{"cfg_limit":100,"cfg_mask":65280\}' \
		"$bpfvm" map dump "$objs/globals.o" .rodata -j
	expect_json "map dump -p" '^        "value": \{$' "$bpfvm" map dump "$objs/globals.o" .rodata -p
	expect "map dump run" 0 "value: \{\.hits = 7[0-9]*\}" \
		"$bpfvm" map dump "$objs/globals.o" .data run --data-in "$tmp/pkt.bin"
	expect "map dump run result" 0 "^Return value: [0-9]+, duration: " \
		"$bpfvm" map dump "$objs/globals.o" .data run sock_filter --data-in "$tmp/pkt.bin"
	expect "map dump run options without run" 2 "run options need 'run \[PROG\]' after MAP" \
		"$bpfvm" map dump "$objs/globals.o" .data --data-in "$tmp/pkt.bin"
	expect "map dump no such map" 2 "has no map 'x' \(maps: \.rodata, \.data, \.data\.extra, \.bss\)" \
		"$bpfvm" map dump "$objs/globals.o" x
	expect "map dump empty hash" 0 "^Found 0 elements$" "$bpfvm" map dump "$xh" counts
	expect_json "map dump empty -j" '^\[\]$' "$bpfvm" map dump "$xh" counts -j
	expect "map show map-in-map" 0 "^map outer: array_of_maps  key 4B  value 4B  max_entries 8" \
		"$bpfvm" map show "$objs/mapinmap.o"
	expect "map dump prog array" 0 "^key: 0  value: <program>$" "$bpfvm" map dump "$objs/mapinmap.o" jumps
fi

if [ -z "$cli_o" ]; then
	echo "no clang with the BPF target: prog run cases on compiled objects skipped"
else
	expect "run: ring buffer record" 0 "^ringbuf events: 88 77 66 55 44 33 22 11$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14"
	expect "run: trace line" 0 "^bpf_trace_printk: len=14$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14"
	expect "run: return value" 0 "^Return value: 2, duration: [0-9]+ns$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14"
	expect "run: rodata" 0 "^Return value: 1, duration" "$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p22"
	# Records are consumed live by another thread: every run's line, in any order
	# relative to the trace lines.
	expect_out "run: a record and a trace line per run" 0 "      3 bpf_trace_printk: len=14
      3 ringbuf events: 88 77 66 55 44 33 22 11" sh -c "'$bpfvm' prog run '$cli_o' xdp_main --data-hex '$p14' --repeat 3 --interp | grep -v '^Return value' | sort | uniq -c"
	expect "run: --repeat with records" 0 "^Return value: 2, duration \(average\): [0-9]+ns$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --repeat 3
	expect_json "run -j: ringbuf" '"ringbuf":\[\{"map":"events","data":\[136,119,102,85,68,51,34,17\]\}\]' \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" -j
	expect "run -j: trace on stderr" 0 "^bpf_trace_printk: len=14$" \
		sh -c "'$bpfvm' prog run '$cli_o' xdp_main --data-hex '$p14' -j 2>&1 >/dev/null"
	expect "run: packet written" 0 "^0000000	7f01 0203 0405 0607 0809 0a0b 0c0d      \| \.\.\.\.\.\.\.\. \.\.\.\.\.\.$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --data-out -
	expect "run --dump: BTF value" 0 "^key: 14  value: \{\.n = 14, \.name = \"pkt\", \.c = GREEN\}$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump table
	expect "run --dump: header" 0 "^map table: hash  key 4B  value 16B  max_entries 16  flags 0x0$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump table
	expect "run --dump: per-CPU" 0 "value \(CPU [0-9]+\): 1$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump pcpu
	expect "run --dump: per-CPU key" 0 "^key: 1$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump pcpu
	expect "run --dump: no BTF" 0 "^key: 00 00 00 00  value: 00 00 00 00$" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump nobtf
	expect_out "run --dump twice" 0 "map nobtf: array  key 4B  value 4B  max_entries 2  flags 0x0
key: 00 00 00 00  value: 00 00 00 00
key: 01 00 00 00  value: 00 00 00 00
Found 2 elements
map .bss: array  key 4B  value 8B  max_entries 1  flags 0x0
key: 00 00 00 00  value: {.runs = 1}
Found 1 element" sh -c "'$bpfvm' prog run '$cli_o' xdp_main --data-hex '$p14' --dump nobtf --dump .bss 2>/dev/null | grep -v '^Return value\|^ringbuf\|^bpf_trace'"
	expect_json "run --dump -j" '"maps":\{"table":\[\{"key":14,"value":\{"n":14,"name":"pkt","c":"GREEN"\}\}\]\}' \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump table -j
	expect_json "run --dump -j per-CPU" '"values":\[\{"cpu":0,"value":[01]\}' \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump pcpu -j
	expect_json "run --dump -j no BTF" '"nobtf":\[\{"key":\["0x00","0x00","0x00","0x00"\],"value":\["0x00","0x00","0x00","0x00"\]\}' \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --dump nobtf -j
	expect_json "run -p" '^    "ringbuf": \[$' "$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" -p
	expect "run --dump ringbuf" 2 "map 'events' is a ringbuf: its elements cannot be listed" \
		"$bpfvm" prog run "$cli_o" xdp_main --dump events
	expect "map dump ringbuf" 2 "map 'events' is a ringbuf" "$bpfvm" map dump "$cli_o" events
	expect "map dump run" 0 "^key: 22  value: \{\.n = 22, \.name = \"pkt\", \.c = GREEN\}$" \
		"$bpfvm" map dump "$cli_o" table run xdp_main --data-hex "$p22"
	expect_json "map dump run -j" '"retval":1,.*"maps":\{"table":\[\{"key":22,' \
		"$bpfvm" map dump "$cli_o" table -j run xdp_main --data-hex "$p22"
	expect "map dump run --dump" 2 "--dump belongs to prog run" \
		"$bpfvm" map dump "$cli_o" table run xdp_main --dump pcpu
	expect "map dump before a run" 0 "^Found 0 elements$" "$bpfvm" map dump "$cli_o" table
	# a socket filter's skb starts at the network header (as the kernel's test run)
	expect "prog run socket" 0 "^Return value: 4, duration" "$bpfvm" prog run "$cli_o" sock --data-in "$tmp/pkt.bin"
	expect "prog run socket short" 2 "." "$bpfvm" prog run "$cli_o" sock --data-hex "00 01"
	expect "run: fault" 1 "oob: insn [0-9]+: read of 1 byte at 0x[0-9a-f]+ outside" \
		"$bpfvm" prog run "$cli_o" oob --data-hex "$p14"
	expect "run: fault -j" 1 '^\{"program":"oob","error":"insn [0-9]+: read of 1 byte' \
		sh -c "'$bpfvm' prog run '$cli_o' oob --data-hex '$p14' -j 2>/dev/null"
	expect "run: budget" 1 "stopped after 5 instructions; raise the limit with --budget" \
		"$bpfvm" prog run "$cli_o" xdp_main --data-hex "$p14" --budget 5
	expect "run: raw program" 0 "^Return value: 3, duration" "$bpfvm" prog run "$cli_o" rawp --data-hex "01 02 03"
	expect "prog show raw" 0 "^prog rawp: raw  section raw  license GPL$" "$bpfvm" prog show "$cli_o"
	expect "prog show ringbuf map" 0 "^map events: ringbuf  key 0B  value 0B  max_entries 4096  flags 0x0$" \
		"$bpfvm" prog show "$cli_o"
	expect "prog show maps of xdp_main" 0 "maps table,pcpu,events,\.rodata,\.bss$" "$bpfvm" prog show "$cli_o"
fi

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
