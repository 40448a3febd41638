#!/usr/bin/env bash
# test_install.sh BUILD-DIR — the library as an embedder gets it: the shared
# library exports only bpfvm_* symbols; `cmake --install` puts headers, libraries,
# commands and libbpfvm.pc in place; a program built with pkg-config against the
# installed copy (static and shared) runs a program.
set -u
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

so=$(ls "$build"/libbpfvm.so.* 2>/dev/null | head -1)
if [ -z "$so" ]; then
	bad "no libbpfvm.so in $build"
else
	exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | grep -v '^$')
	stray=$(grep -v '^bpfvm_' <<<"$exported" | grep -v '^LIBBPFVM_' || true)
	[ -z "$stray" ] && ok || bad "symbols exported beyond bpfvm_*: $stray"
	grep -q '^bpfvm_prog__new$' <<<"$exported" && ok || bad "bpfvm_prog__new is not exported"
	grep -q '^vm_validate$' <<<"$exported" && bad "internal vm_validate is exported" || ok
fi

if cmake --install "$build" --prefix "$tmp/prefix" >/dev/null 2>&1; then ok; else bad "cmake --install failed"; fi
for f in include/bpfvm/bpfvm.h include/bpfvm/insn.h bin/bpfvm bin/bpfvm-conformance-plugin; do
	[ -e "$tmp/prefix/$f" ] && ok || bad "not installed: $f"
done
pc=$(ls "$tmp"/prefix/lib*/pkgconfig/libbpfvm.pc 2>/dev/null | head -1)
[ -n "$pc" ] && ok || bad "libbpfvm.pc not installed"

cat > "$tmp/embed.c" <<'C'
#include <bpfvm/bpfvm.h>
#include <stdio.h>
int main(void)
{
	struct bpf_insn prog[] = { BPF_MOV64_REG(0, 2), BPF_ALU64_IMM(BPF_MUL, 0, 3), BPF_EXIT_INSN() };
	unsigned char mem[14] = { 0 };
	struct bpfvm_prog *p = bpfvm_prog__new(prog, 3, NULL);
	struct bpfvm_run_opts run = { .sz = sizeof(run), .mem = mem, .mem_len = sizeof(mem) };
	if (!p || bpfvm_prog__run_opts(p, &run) != 0)
		return 1;
	printf("%llu\n", (unsigned long long)run.retval);
	bpfvm_prog__free(p);
	return 0;
}
C
if [ -n "$pc" ]; then
	export PKG_CONFIG_PATH=$(dirname "$pc")
	libdir=$(pkg-config --variable=libdir libbpfvm)
	if cc $(pkg-config --cflags libbpfvm) "$tmp/embed.c" -o "$tmp/embed_shared" \
		$(pkg-config --libs libbpfvm) -Wl,-rpath,"$libdir" 2>"$tmp/err"; then
		out=$("$tmp/embed_shared")
		[ "$out" = 42 ] && ok || bad "shared embed printed '$out', want 42"
	else
		bad "building against the installed shared library: $(cat "$tmp/err")"
	fi
	if cc $(pkg-config --cflags libbpfvm) "$tmp/embed.c" -o "$tmp/embed_static" \
		"$libdir/libbpfvm.a" $(pkg-config --libs --static libbpfvm | sed 's/-lbpfvm//') 2>"$tmp/err"; then
		out=$("$tmp/embed_static")
		[ "$out" = 42 ] && ok || bad "static embed printed '$out', want 42"
	else
		bad "building against the installed static library: $(cat "$tmp/err")"
	fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
