/*
 * test_object.c — the object API and what it rests on: map references in lddw
 * (src 1/2/5/6 → the map table), global data as memory, program types registered
 * by an embedder (own context, own helper, bpfvm_prog__run), the generic and raw
 * test runs, and clang-compiled objects opened, changed before load, loaded and
 * run on every engine with hand-computed results (tests/objs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "testlog.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_INTERP_SWITCH,
					     BPFVM_ENGINE_JIT };
static const char *const engine_names[] = { "interp", "switch", "jit" };

static int run_raw(struct bpfvm_prog *p, enum bpfvm_engine e, void *mem, size_t len,
		   uint64_t *r0)
{
	struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = mem, .mem_len = len, .engine = e };
	int err = bpfvm_prog__run_opts(p, &o);
	*r0 = o.retval;
	return err;
}

/* lddw src 1/5 loads the map (helpers accept it), src 2/6 the value address. */
static void test_map_refs(void)
{
	struct bpfvm_map *arr = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "arr", 4, 16, 2, NULL);
	struct bpfvm_map *ro = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "ro", 4, 8, 1,
		&(struct bpfvm_map_create_opts){ .sz = sizeof(struct bpfvm_map_create_opts),
						 .map_flags = BPFVM_F_RDONLY_PROG });
	struct bpfvm_map *hash = bpfvm_map__create(BPFVM_MAP_TYPE_HASH, "h", 4, 8, 4, NULL);
	struct bpfvm_map *maps[] = { arr, ro, hash };
	CHECK(arr && ro && hash, "maps created");
	uint64_t rov = 0x1122334455667788ull;
	uint32_t k0 = 0;
	bpfvm_map__update_elem(ro, &k0, 4, &rov, 8, 0);

	/* r1 = &arr[0] + 4; *(u32 *)r1 = 42; r2 = &ro[0]; r0 = *(u64 *)r2;
	 * r1 = map[2] (idx form); r2 = fp-4 = 1; lookup(hash, &1) == NULL → r0 += 1 */
	struct bpf_insn p[] = {
		BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_VALUE, 0, 0, 0, 4),
		BPF_ST_MEM(BPF_W, 1, 0, 42),
		BPF_LD_IMM64_RAW_FULL(2, 6 /* MAP_IDX_VALUE */, 0, 0, 1, 0),
		BPF_LDX_MEM(BPF_DW, 6, 2, 0),
		BPF_LD_IMM64_RAW_FULL(1, 5 /* MAP_IDX */, 0, 0, 2, 0),
		BPF_ST_MEM(BPF_W, 10, -4, 1),
		BPF_MOV64_REG(2, 10),
		BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(1),
		BPF_MOV64_REG(0, 6),
		BPF_EXIT_INSN(),
	};
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .maps = maps, .map_cnt = 3 };
	test_log_clear();
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), &o);
	CHECK(prog, "map refs accepted: %s", test_log_last());
	if (prog) {
		CHECK_U64(bpfvm_prog__map_cnt(prog), 3, "map table");
		CHECK(bpfvm_prog__map(prog, 2) == hash && !bpfvm_prog__map(prog, 3), "map table order");
		for (size_t e = 0; e < N(engines); e++) {
			uint64_t r0 = 0, mem = 0;
			uint8_t v[16] = { 0 };
			bpfvm_map__update_elem(arr, &k0, 4, v, 16, 0);
			int err = run_raw(prog, engines[e], &mem, 8, &r0);
			CHECK(err == 0, "%s: run: %d", engine_names[e], err);
			CHECK_U64(r0, rov, "%s: read .rodata-like value", engine_names[e]);
			bpfvm_map__lookup_elem(arr, &k0, 4, v, 16, 0);
			CHECK_U64(v[4] | v[5] << 8, 42, "%s: store into the value", engine_names[e]);
		}
	}
	bpfvm_prog__free(prog);

	/* Writing a BPFVM_F_RDONLY_PROG value faults; reading past the array's last
	 * value (2 x 16 bytes: the whole array is the program's) faults. */
	struct bpf_insn w[] = {
		BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_VALUE, 0, 0, 1, 0),
		BPF_ST_MEM(BPF_DW, 1, 0, 1), BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(),
	};
	struct bpf_insn r[] = {
		BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_VALUE, 0, 0, 0, 8),
		BPF_LDX_MEM(BPF_DW, 0, 1, 24), BPF_EXIT_INSN(),
	};
	/* Helpers refuse to change a read-only map: r0 = update(ro, &0, &0, 0) */
	struct bpf_insn u[] = {
		BPF_ST_MEM(BPF_DW, 10, -8, 0), BPF_LD_MAP_FD(1, 1), BPF_MOV64_REG(2, 10),
		BPF_ALU64_IMM(BPF_ADD, 2, -8), BPF_MOV64_REG(3, 2), BPF_MOV64_IMM(4, 0),
		BPF_CALL_HELPER(2), BPF_EXIT_INSN(),
	};
	struct bpfvm_prog *pu = bpfvm_prog__new(u, N(u), &o);
	for (size_t e = 0; pu && e < N(engines); e++) {
		uint64_t r0 = 0, mem = 0;
		CHECK(run_raw(pu, engines[e], &mem, 8, &r0) == 0 && (int64_t)r0 == -EPERM,
		      "%s: update of a RDONLY_PROG map: %lld", engine_names[e], (long long)r0);
	}
	CHECK(pu, "update program");
	bpfvm_prog__free(pu);
	struct bpfvm_prog *pw = bpfvm_prog__new(w, N(w), &o), *pr = bpfvm_prog__new(r, N(r), &o);
	CHECK(pw && pr, "fault programs created");
	for (size_t e = 0; pw && pr && e < N(engines); e++) {
		uint64_t r0, mem = 0;
		struct bpfvm_run_opts ro_ = { .sz = sizeof(ro_), .mem = &mem, .mem_len = 8,
					      .engine = engines[e] };
		CHECK(bpfvm_prog__run_opts(pw, &ro_) == -EFAULT &&
		      ro_.fault.kind == BPFVM_FAULT_WRITE && ro_.fault.insn == 2,
		      "%s: write to read-only value faults", engine_names[e]);
		CHECK(run_raw(pr, engines[e], &mem, 8, &r0) == -EFAULT,
		      "%s: read past the last value faults", engine_names[e]);
	}
	bpfvm_prog__free(pw);
	bpfvm_prog__free(pr);

	/* Errors name the instruction. */
	struct { struct bpf_insn i[4]; const char *msg; } bad[] = {
		{ { BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_FD, 0, 0, 3, 0), BPF_MOV64_IMM(0, 0),
		    BPF_EXIT_INSN() }, "insn 0: lddw refers to map 3, but the program has 3 maps" },
		{ { BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_VALUE, 0, 0, 2, 0), BPF_MOV64_IMM(0, 0),
		    BPF_EXIT_INSN() }, "insn 0: lddw of a value of map 'h', which is not an array "
		    "(direct value access needs BPF_MAP_TYPE_ARRAY)" },
		{ { BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_VALUE, 0, 0, 0, 16), BPF_MOV64_IMM(0, 0),
		    BPF_EXIT_INSN() }, "insn 0: offset 16 is past the 16-byte value of map 'arr'" },
		{ { BPF_LD_IMM64_RAW_FULL(1, BPF_PSEUDO_MAP_FD, 0, 0, 0, 1), BPF_MOV64_IMM(0, 0),
		    BPF_EXIT_INSN() }, "insn 0: lddw of map 0 has a non-zero second slot" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		test_log_clear();
		errno = 0;
		struct bpfvm_prog *b = bpfvm_prog__new(bad[i].i, 4, &o);
		CHECK(!b && errno == EINVAL, "bad map ref %zu rejected", i);
		CHECK_STR(test_log_last(), bad[i].msg, "bad map ref %zu", i);
		bpfvm_prog__free(b);
	}
	bpfvm_map__free(arr);
	bpfvm_map__free(ro);
	bpfvm_map__free(hash);
}

/* ---- An embedder's program type --------------------------------------------------- */

struct my_ctx {
	uint64_t a, b;
	uint8_t *buf;		/* 16 bytes the program may also use */
	uint64_t out;
};

static size_t my_regions(const void *ctx, struct bpfvm_region *r, size_t max)
{
	const struct my_ctx *c = ctx;
	if (!max || !c->buf)
		return 0;
	r[0] = (struct bpfvm_region){ c->buf, 16, true };
	return 1;
}

static uint64_t my_mul(uint64_t x, uint64_t y, uint64_t u3, uint64_t u4, uint64_t u5)
{
	(void)u3, (void)u4, (void)u5;
	return x * y;
}

#define MY_TYPE (BPFVM_PROG_TYPE_USER_BASE + 7)
#define MY_HELPER (BPFVM_HELPER_USER_BASE + 7)

static void test_user_type(void)
{
	struct bpfvm_helper h = { .id = MY_HELPER, .name = "my_mul", .fn = my_mul,
				  .args = { BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING } };
	struct bpfvm_prog_type_def def = { .sz = sizeof(def), .type = MY_TYPE, .name = "my_hook",
					   .sec_prefix = "my_hook", .ctx_size = sizeof(struct my_ctx),
					   .ctx_writable = true, .helpers = &h, .helper_cnt = 1,
					   .ctx_regions = my_regions };
	CHECK(bpfvm_prog_type__register(&def) == 0, "register type");
	CHECK(bpfvm_prog_type__register(&def) == -EEXIST, "register twice: -EEXIST");
	struct bpfvm_prog_type_def low = def;
	low.type = 77;
	CHECK(bpfvm_prog_type__register(&low) == -EINVAL, "type below the user base");
	CHECK_STR(bpfvm_prog_type__name(MY_TYPE), "my_hook", "name");
	CHECK_U64(bpfvm_prog_type__from_name("my_hook"), MY_TYPE, "from name");
	CHECK_U64(bpfvm_prog_type__from_section("my_hook/x"), MY_TYPE, "from section");
	CHECK_U64(bpfvm_prog_type__from_section("xdp"), BPFVM_PROG_TYPE_XDP, "xdp section");
	CHECK_U64(bpfvm_prog_type__from_section("xdp.frags/x"), BPFVM_PROG_TYPE_XDP, "xdp.frags");
	CHECK_U64(bpfvm_prog_type__from_section("classifier"), BPFVM_PROG_TYPE_SCHED_CLS, "tc");
	CHECK_U64(bpfvm_prog_type__from_section("uretprobe/x"), BPFVM_PROG_TYPE_KPROBE, "uretprobe");
	CHECK_U64(bpfvm_prog_type__from_section("tp/a/b"), BPFVM_PROG_TYPE_TRACEPOINT, "tp");
	CHECK(bpfvm_prog_type__from_section("xdpfoo") == -ENOENT, "xdpfoo is not xdp");
	CHECK(bpfvm_prog_type__from_section("nothing") == -ENOENT, "unknown section");

	/* out = my_mul(a, b) + buf[3]; buf[0] = 9; return a */
	struct bpf_insn p[] = {
		BPF_MOV64_REG(6, 1),
		BPF_LDX_MEM(BPF_DW, 1, 6, 0),
		BPF_LDX_MEM(BPF_DW, 2, 6, 8),
		BPF_CALL_HELPER(MY_HELPER),
		BPF_LDX_MEM(BPF_DW, 7, 6, 16),
		BPF_LDX_MEM(BPF_B, 8, 7, 3),
		BPF_ALU64_REG(BPF_ADD, 0, 8),
		BPF_STX_MEM(BPF_DW, 6, 0, 24),
		BPF_ST_MEM(BPF_B, 7, 0, 9),
		BPF_LDX_MEM(BPF_DW, 0, 6, 0),
		BPF_EXIT_INSN(),
	};
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .prog_type = MY_TYPE };
	test_log_clear();
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), &o);
	CHECK(prog, "user-type program: %s", test_log_last());
	if (!prog)
		return;
	CHECK_U64(bpfvm_prog__type(prog), MY_TYPE, "type");
	uint8_t buf[16] = { [3] = 5 };
	struct my_ctx c = { .a = 6, .b = 7, .buf = buf };
	uint64_t r0 = 0;
	CHECK(bpfvm_prog__run(prog, &c, &r0) == 0, "run: %s", test_log_last());
	CHECK_U64(r0, 6, "retval");
	CHECK_U64(c.out, 47, "helper result + buf[3]");
	CHECK_U64(buf[0], 9, "wrote buf");
	for (size_t e = 0; e < N(engines); e++) {
		c.out = 0;
		struct bpfvm_run_opts ro = { .sz = sizeof(ro), .mem = &c, .engine = engines[e] };
		CHECK(bpfvm_prog__run_opts(prog, &ro) == 0 && c.out == 47, "%s", engine_names[e]);
		c.buf = NULL;	/* no region: the load from buf faults */
		ro.fault.kind = BPFVM_FAULT_NONE;
		CHECK(bpfvm_prog__run_opts(prog, &ro) == -EFAULT && ro.fault.insn == 5,
		      "%s: buf without a region faults at insn 5", engine_names[e]);
		c.buf = buf;
		struct bpfvm_run_opts bad = { .sz = sizeof(bad), .mem = &c, .mem_len = 8,
					      .engine = engines[e] };
		CHECK(bpfvm_prog__run_opts(prog, &bad) == -EINVAL, "wrong context size");
	}
	CHECK(bpfvm_prog__run(prog, NULL, &r0) == -EINVAL, "no context");

	/* The generic test run: ctx_in is the context. */
	struct my_ctx in = { .a = 3, .b = 4 }, out = { 0 };
	struct bpfvm_test_run_opts t = { .sz = sizeof(t), .ctx_in = &in, .ctx_size_in = 16,
					 .ctx_out = &out, .ctx_size_out = sizeof(out) };
	/* buf is NULL in ctx_in: the program faults reading it. */
	CHECK(bpfvm_prog__test_run(prog, &t) == -EFAULT, "test run without buf faults");
	uint8_t data[4] = { 1 };
	t.data_in = data;
	t.data_size_in = 4;
	CHECK(bpfvm_prog__test_run(prog, &t) == -EINVAL, "test run with data: -EINVAL");
	bpfvm_prog__free(prog);

	/* The type's helper is the type's only. */
	test_log_clear();
	struct bpfvm_prog *raw = bpfvm_prog__new(p, N(p), NULL);
	CHECK(!raw, "raw program cannot call the type's helper");
	CHECK_STR(test_log_last(), "insn 3: unknown helper id 65543", "message");
}

static void test_raw_test_run(void)
{
	/* r0 = mem[0] + len; mem[1] = 0xee */
	struct bpf_insn p[] = {
		BPF_LDX_MEM(BPF_B, 0, 1, 0), BPF_ALU64_REG(BPF_ADD, 0, 2),
		BPF_ST_MEM(BPF_B, 1, 1, 0xee), BPF_EXIT_INSN(),
	};
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), NULL);
	CHECK(prog, "raw program");
	if (!prog)
		return;
	uint8_t in[3] = { 10, 0, 0 }, out[3] = { 0 }, small[1];
	for (size_t e = 0; e < N(engines); e++) {
		struct bpfvm_test_run_opts t = { .sz = sizeof(t), .data_in = in, .data_size_in = 3,
						 .data_out = out, .data_size_out = 3, .repeat = 5,
						 .engine = engines[e] };
		CHECK(bpfvm_prog__test_run(prog, &t) == 0, "%s: raw test run", engine_names[e]);
		CHECK_U64(t.retval, 13, "%s: retval", engine_names[e]);
		CHECK(out[0] == 10 && out[1] == 0xee && in[1] == 0, "%s: data out", engine_names[e]);
		CHECK(t.engine_used == engines[e], "engine used");
		t.data_out = small;
		t.data_size_out = 1;
		CHECK(bpfvm_prog__test_run(prog, &t) == -ENOSPC && t.data_size_out == 3 &&
		      small[0] == 10, "%s: -ENOSPC, size needed", engine_names[e]);
	}
	struct bpfvm_test_run_opts c = { .sz = sizeof(c), .ctx_in = in, .ctx_size_in = 3 };
	CHECK(bpfvm_prog__test_run(prog, &c) == -EINVAL, "raw: no ctx_in");
	struct bpfvm_test_run_opts z = { .sz = sizeof(z), .data_size_in = 3 };
	CHECK(bpfvm_prog__test_run(prog, &z) == -EINVAL, "size without buffer");
	bpfvm_prog__free(prog);
}

/* ---- Objects ------------------------------------------------------------------- */

static struct bpfvm_object *open_obj(const char *dir, const char *name,
				     const struct bpfvm_object_open_opts *o)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.o", dir, name);
	test_log_clear();
	struct bpfvm_object *obj = bpfvm_object__open_file(path, o);
	CHECK(obj, "open %s: %s", path, test_log_last());
	return obj;
}

/* globals.o: socket filter over .rodata / .data / .bss / .data.extra, run as a raw
 * program whose memory holds what it reads (skb->len at offset 0). */
static void test_globals_obj(const char *dir)
{
	struct bpfvm_object *obj = open_obj(dir, "globals", NULL);
	if (!obj)
		return;
	CHECK_STR(bpfvm_object__name(obj), "globals", "object name");
	CHECK_STR(bpfvm_object__license(obj), "Dual BSD/GPL", "license");
	struct bpfvm_prog *p = bpfvm_object__find_program_by_name(obj, "sock_filter");
	CHECK(p && bpfvm_object__next_program(obj, NULL) == p &&
	      !bpfvm_object__next_program(obj, p), "one program");
	CHECK(!bpfvm_object__find_program_by_name(obj, "nope") && errno == ENOENT, "no such prog");
	struct bpfvm_map *ro = bpfvm_object__find_map_by_name(obj, ".rodata");
	struct bpfvm_map *data = bpfvm_object__find_map_by_name(obj, ".data");
	struct bpfvm_map *bss = bpfvm_object__find_map_by_name(obj, ".bss");
	struct bpfvm_map *extra = bpfvm_object__find_map_by_name(obj, ".data.extra");
	CHECK(ro && data && bss && extra, "global data maps");
	if (!p || !ro || !data || !bss || !extra) {
		bpfvm_object__close(obj);
		return;
	}
	size_t nmaps = 0;
	for (struct bpfvm_map *m = NULL; (m = bpfvm_object__next_map(obj, m));)
		nmaps++;
	CHECK_U64(nmaps, 4, "maps iterated");
	CHECK_STR(bpfvm_prog__section_name(p), "socket", "section");
	CHECK_U64(bpfvm_prog__type(p), BPFVM_PROG_TYPE_SOCKET_FILTER, "type from SEC");
	CHECK(!bpfvm_prog__loaded(p), "not loaded after open");
	CHECK(bpfvm_prog__map_cnt(p) == 4 && bpfvm_prog__map(p, 0) == bpfvm_object__next_map(obj,
	      NULL) && !bpfvm_prog__map(p, 4), "map table before load = the object's maps");
	uint64_t r0, mem = 0x150;
	CHECK(run_raw(p, BPFVM_ENGINE_INTERP, &mem, 8, &r0) == -ENOENT, "run before load");

	/* Before load: .rodata may change (cfg_limit is its first u32). */
	uint32_t key = 0, vsz = bpfvm_map__value_size(ro);
	uint8_t *v = calloc(1, vsz);
	CHECK(bpfvm_map__lookup_elem(ro, &key, 4, v, vsz, 0) == 0, "read .rodata");
	uint32_t limit;
	memcpy(&limit, v, 4);
	CHECK_U64(limit, 100, "cfg_limit initial");
	limit = 1000;
	memcpy(v, &limit, 4);
	CHECK(bpfvm_map__update_elem(ro, &key, 4, v, vsz, 0) == 0, ".rodata writable before load");
	CHECK(bpfvm_prog__set_type(p, BPFVM_PROG_TYPE_RAW) == 0, "set type");
	CHECK(bpfvm_object__load(obj) == 0, "load: %s", test_log_last());
	CHECK(bpfvm_object__load(obj) == -EBUSY, "load twice");
	CHECK(bpfvm_prog__set_type(p, BPFVM_PROG_TYPE_XDP) == -EBUSY, "set type after load");
	CHECK(bpfvm_map__update_elem(ro, &key, 4, v, vsz, 0) == -EPERM, ".rodata frozen");
	CHECK_U64(bpfvm_prog__map_cnt(p), 4, "map table = object maps");
	free(v);

	uint64_t hits = 0;
	uint32_t xv = 0;
	for (size_t e = 0; e < N(engines); e++) {
		CHECK(run_raw(p, engines[e], &mem, 8, &r0) == 0, "%s: run", engine_names[e]);
		CHECK_U64(r0, 0x150, "%s: len <= limit returns len", engine_names[e]);
	}
	uint8_t dv[64] = { 0 };
	CHECK(bpfvm_map__value_size(data) <= sizeof(dv), ".data size");
	bpfvm_map__lookup_elem(data, &key, 4, dv, bpfvm_map__value_size(data), 0);
	memcpy(&hits, dv, 8);
	CHECK_U64(hits, 7 + 3 * 0x100, "hits += cfg_mask & len, three runs");
	bpfvm_map__lookup_elem(extra, &key, 4, &xv, 4, 0);
	CHECK_U64(xv, 0x1234 + 3, "extra_val");
	uint8_t bv[64] = { 0 };
	bpfvm_map__lookup_elem(bss, &key, 4, bv, bpfvm_map__value_size(bss), 0);
	/* last_len[0] is at 0 or after misses, as the compiler placed them. */
	uint32_t a0, a8;
	memcpy(&a0, bv, 4);
	memcpy(&a8, bv + 8, 4);
	CHECK(bpfvm_map__value_size(bss) == 24 && (a0 == 0x150) != (a8 == 0x150),
	      "last_len[0] in .bss: %x %x", a0, a8);

	/* BTF formatting of global data. */
	char buf[512];
	int err = bpfvm_map__format(data, true, dv, bpfvm_map__value_size(data), 0, buf,
				    sizeof(buf));
	CHECK(err == 0 && strstr(buf, "hits") && strstr(buf, "775"), "format .data: %d %s", err,
	      buf);
	err = bpfvm_map__format(data, true, dv, bpfvm_map__value_size(data), BPFVM_FORMAT_JSON,
				buf, sizeof(buf));
	CHECK(err == 0 && strstr(buf, "\"hits\": 775"), "format .data JSON: %d %s", err, buf);
	CHECK(bpfvm_map__format(data, true, dv, 2, 0, buf, sizeof(buf)) == -EINVAL,
	      "format: too small");

	/* A map kept past close loses its BTF but stays usable. */
	struct bpfvm_map *kept = bpfvm_map__ref(data);
	bpfvm_prog__free(p);	/* an object's program: ignored */
	bpfvm_object__close(obj);
	CHECK(bpfvm_map__lookup_elem(kept, &key, 4, dv, bpfvm_map__value_size(kept), 0) == 0,
	      "kept map usable after close");
	CHECK(bpfvm_map__format(kept, true, dv, bpfvm_map__value_size(kept), 0, buf,
				sizeof(buf)) == -ENOENT, "kept map has no BTF after close");
	bpfvm_map__free(kept);
}

/* xdp_hash.o: a hash map bound through the object; run raw on a fake xdp_md
 * (the program reads ingress_ifindex and subtracts data from data_end). */
static void test_xdp_hash_obj(const char *dir)
{
	struct bpfvm_object *obj = open_obj(dir, "xdp_hash", NULL);
	if (!obj)
		return;
	struct bpfvm_prog *p = bpfvm_object__find_program_by_name(obj, "xdp_count");
	struct bpfvm_map *counts = bpfvm_object__find_map_by_name(obj, "counts");
	CHECK(p && counts, "prog and map");
	if (!p || !counts) {
		bpfvm_object__close(obj);
		return;
	}
	CHECK_U64(bpfvm_prog__type(p), BPFVM_PROG_TYPE_XDP, "xdp");
	bpfvm_prog__set_type(p, BPFVM_PROG_TYPE_RAW);
	CHECK(bpfvm_object__load(obj) == 0, "load: %s", test_log_last());
	uint32_t md[6] = { 100, 160, 0, 3, 0, 0 }, key = 3;
	uint64_t r0, st[2] = { 0, 0 };
	CHECK(run_raw(p, BPFVM_ENGINE_JIT, md, sizeof(md), &r0) == 0 && r0 == 2, "no entry");
	CHECK(bpfvm_map__update_elem(counts, &key, 4, st, 16, BPFVM_NOEXIST) == 0, "insert");
	for (size_t e = 0; e < N(engines); e++)
		CHECK(run_raw(p, engines[e], md, sizeof(md), &r0) == 0 && r0 == 2,
		      "%s: run", engine_names[e]);
	CHECK(bpfvm_map__lookup_elem(counts, &key, 4, st, 16, 0) == 0, "lookup");
	CHECK(st[0] == 3 && st[1] == 180, "packets %llu bytes %llu", (unsigned long long)st[0],
	      (unsigned long long)st[1]);
	char kb[64], vb[128];
	CHECK(bpfvm_map__format(counts, false, &key, 4, 0, kb, sizeof(kb)) == 0 &&
	      strcmp(kb, "3") == 0, "format key: %s", kb);
	CHECK(bpfvm_map__format(counts, true, st, 16, BPFVM_FORMAT_JSON, vb, sizeof(vb)) == 0 &&
	      strcmp(vb, "{\"packets\": 3, \"bytes\": 180}") == 0, "format value JSON: %s", vb);
	bpfvm_object__close(obj);
}

/* mapinmap.o: inner maps in outer slots at open; PROG_ARRAY filled at load. */
static void test_mapinmap_obj(const char *dir)
{
	struct bpfvm_object *obj = open_obj(dir, "mapinmap", NULL);
	if (!obj)
		return;
	struct bpfvm_map *outer = bpfvm_object__find_map_by_name(obj, "outer");
	struct bpfvm_map *jumps = bpfvm_object__find_map_by_name(obj, "jumps");
	CHECK(outer && jumps, "maps");
	uint32_t k = 1, id = 0, next = 0;
	CHECK(outer && bpfvm_map__lookup_elem(outer, &k, 4, &id, 4, 0) == 0 && id,
	      "outer[1] holds a map (id %u)", id);
	k = 2;
	CHECK(outer && bpfvm_map__lookup_elem(outer, &k, 4, &id, 4, 0) == -ENOENT, "outer[2] empty");
	test_log_clear();
	int err = bpfvm_object__load(obj);
	CHECK(err == 0, "load: %s", test_log_last());
	CHECK(jumps && bpfvm_map__get_next_key(jumps, NULL, &next, 4) == 0, "prog array filled");
	bpfvm_object__close(obj);
}

/* Errors: unknown section, bad file. */
static void test_object_errors(const char *dir)
{
	errno = 0;
	test_log_clear();
	CHECK(!bpfvm_object__open_file("/nonexistent/x.o", NULL) && errno == ENOENT,
	      "missing file: ENOENT");
	CHECK(strstr(test_log_last(), "/nonexistent/x.o: cannot open"), "message: %s",
	      test_log_last());
	uint8_t junk[64] = "not an ELF file at all";
	errno = 0;
	CHECK(!bpfvm_object__open_mem(junk, sizeof(junk), NULL) && errno == EINVAL, "junk");
	char path[4096];
	snprintf(path, sizeof(path), "%s/globals.o", dir);
	struct bpfvm_object_open_opts o = { .sz = sizeof(o), .object_name = "named",
					    .btf_custom_path = "/nonexistent.btf" };
	errno = 0;
	CHECK(!bpfvm_object__open_file(path, &o) && errno == ENOENT, "missing BTF file");
	o.btf_custom_path = NULL;
	o.no_jit = true;
	struct bpfvm_object *obj = bpfvm_object__open_file(path, &o);
	CHECK(obj && strcmp(bpfvm_object__name(obj), "named") == 0, "object_name");
	if (obj) {
		struct bpfvm_prog *p = bpfvm_object__next_program(obj, NULL);
		bpfvm_prog__set_type(p, BPFVM_PROG_TYPE_RAW);
		CHECK(bpfvm_object__load(obj) == 0, "no_jit load");
		const void *code;
		size_t len;
		CHECK(bpfvm_prog__jited(p, &code, &len, NULL) == -ENOENT, "no_jit: no native code");
		bpfvm_object__close(obj);
	}
}

/* An inner map put into a map-in-map from user space (not bound to the program)
 * is usable as a map once a lookup handed it to the program. */
static void test_inner_map(void)
{
	struct bpfvm_map *tmpl = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "tmpl", 4, 8, 2, NULL);
	struct bpfvm_map_create_opts oo = { .sz = sizeof(oo), .inner_map = tmpl };
	struct bpfvm_map *outer = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY_OF_MAPS, "outer", 4, 4,
						    1, &oo);
	struct bpfvm_map *inner = bpfvm_map__create(BPFVM_MAP_TYPE_ARRAY, "inner", 4, 8, 2, NULL);
	uint32_t k0 = 0, k1 = 1;
	uint64_t v = 4242;
	CHECK(outer && inner && bpfvm_map__update_inner_map(outer, &k0, 4, inner, 0) == 0 &&
	      bpfvm_map__update_elem(inner, &k1, 4, &v, 8, 0) == 0, "maps set up");
	/* r0 = *lookup(lookup(outer, &0), &1), 0 when a lookup fails */
	struct bpf_insn p[] = {
		BPF_ST_MEM(BPF_W, 10, -4, 0), BPF_ST_MEM(BPF_W, 10, -8, 1),
		BPF_LD_MAP_FD(1, 0), BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -4),
		BPF_CALL_HELPER(1), BPF_MOV64_REG(1, 0), BPF_MOV64_IMM(0, 0),
		BPF_JMP_IMM(BPF_JEQ, 1, 0, 6),
		BPF_MOV64_REG(2, 10), BPF_ALU64_IMM(BPF_ADD, 2, -8), BPF_CALL_HELPER(1),
		BPF_JMP_IMM(BPF_JEQ, 0, 0, 1), BPF_LDX_MEM(BPF_DW, 0, 0, 0), BPF_EXIT_INSN(),
		BPF_EXIT_INSN(),
	};
	struct bpfvm_map *maps[] = { outer };
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .maps = maps, .map_cnt = 1 };
	test_log_clear();
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), &o);
	CHECK(prog, "inner-map program: %s", test_log_last());
	for (size_t e = 0; prog && e < N(engines); e++) {
		uint64_t r0 = 0, mem = 0;
		CHECK(run_raw(prog, engines[e], &mem, 8, &r0) == 0 && r0 == 4242,
		      "%s: value through the inner map: %llu", engine_names[e],
		      (unsigned long long)r0);
	}
	/* The inner map survives being replaced while the program is not running;
	 * the run's reference is gone afterwards (the map is freed with the last). */
	bpfvm_prog__free(prog);
	bpfvm_map__free(inner);
	bpfvm_map__free(outer);
	bpfvm_map__free(tmpl);
}

/* An embedder's own xdp_md around packet memory from bpfvm_packet_alloc. */
static void test_own_xdp_ctx(void)
{
	/* r0 = data_end - data + pkt[off at r1->rx_queue_index] */
	struct bpf_insn p[] = {
		BPF_LDX_MEM(BPF_W, 2, 1, 0), BPF_LDX_MEM(BPF_W, 3, 1, 4),
		BPF_LDX_MEM(BPF_W, 4, 1, 16), BPF_MOV64_REG(0, 3), BPF_ALU64_REG(BPF_SUB, 0, 2),
		BPF_ALU64_REG(BPF_ADD, 2, 4), BPF_LDX_MEM(BPF_B, 5, 2, 0),
		BPF_ALU64_REG(BPF_ADD, 0, 5), BPF_EXIT_INSN(),
	};
	struct bpfvm_prog_opts o = { .sz = sizeof(o), .prog_type = BPFVM_PROG_TYPE_XDP };
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), &o);
	uint8_t *pkt = bpfvm_packet_alloc(64);
	CHECK(prog && pkt && (uintptr_t)pkt < (1ull << 32), "program and low packet memory");
	if (prog && pkt) {
		pkt[3] = 40;
		uint32_t md[6] = { (uint32_t)(uintptr_t)pkt, (uint32_t)(uintptr_t)pkt + 60,
				   (uint32_t)(uintptr_t)pkt, 1, 3, 0 };
		uint64_t r0 = 0;
		CHECK(bpfvm_prog__run(prog, md, &r0) == 0 && r0 == 100, "own xdp_md: %llu",
		      (unsigned long long)r0);
		md[4] = 60;	/* one past data_end: outside the packet */
		CHECK(bpfvm_prog__run(prog, md, &r0) == -EFAULT, "read past data_end faults");
	}
	bpfvm_packet_free(pkt, 64);
	bpfvm_prog__free(prog);
	errno = 0;
	CHECK(!bpfvm_packet_alloc(0) && errno == ENOMEM, "zero bytes: ENOMEM");
}

/* A failed CO-RE relocation (call 0xbad2310) loads; reaching it stops the run. */
static void test_core_poison(void)
{
	/* if r1 == 0 goto exit; call 0xbad2310; exit: r0 = 1 */
	struct bpf_insn p[] = {
		BPF_MOV64_IMM(0, 1), BPF_JMP_IMM(BPF_JEQ, 2, 0, 1), BPF_CALL_HELPER(0xbad2310),
		BPF_EXIT_INSN(),
	};
	test_log_clear();
	struct bpfvm_prog *prog = bpfvm_prog__new(p, N(p), NULL);
	CHECK(prog, "poisoned call accepted: %s", test_log_last());
	for (size_t e = 0; prog && e < N(engines); e++) {
		uint64_t r0 = 0;
		uint8_t mem[8];
		CHECK(run_raw(prog, engines[e], mem, 0, &r0) == 0 && r0 == 1, "%s: not reached",
		      engine_names[e]);
		test_log_clear();
		CHECK(run_raw(prog, engines[e], mem, 8, &r0) == -EOPNOTSUPP, "%s: reached",
		      engine_names[e]);
		CHECK_STR(test_log_last(), "prog: insn 2: reached an instruction whose CO-RE "
			  "relocation failed (call 0xbad2310)", "%s: message", engine_names[e]);
	}
	bpfvm_prog__free(prog);
}

int main(void)
{
	test_log_capture();
	test_map_refs();
	test_core_poison();
	test_inner_map();
	test_own_xdp_ctx();
	test_user_type();
	test_raw_test_run();
#ifdef BPFVM_LOADER_OBJ_DIRS
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s", BPFVM_LOADER_OBJ_DIRS);
	for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		printf("objects in %s\n", dir);
		test_globals_obj(dir);
		test_xdp_hash_obj(dir);
		test_mapinmap_obj(dir);
		test_object_errors(dir);
	}
#else
	printf("no BPF test objects (no clang with the BPF target): object tests skipped\n");
#endif
	return test_summary();
}
