/*
 * test_progtypes.c — the built-in program types (src/progtypes): XDP, socket filter,
 * tc (sched_cls), kprobe and tracepoint contexts, their helpers and their test runs.
 *
 * Every case runs with bpfvm_prog__test_run on every engine (interpreter, switch
 * interpreter, JIT), which must agree exactly (error, retval, data_out, ctx_out).
 * Cases the kernel can run (XDP, SOCKET_FILTER, SCHED_CLS) also run in the Linux
 * kernel through BPF_PROG_TEST_RUN (tests/kernel_bpf.c), the reference for their
 * semantics: same error, retval, data_out and ctx_out, byte for byte. Where bpf()
 * is unavailable the kernel half is skipped with a message; the explicit
 * expectations below still run.
 *
 * Cases that use LD_ABS / LD_IND run only once the engines execute them (detected
 * at start); until then they are reported as skipped.
 */
#define _GNU_SOURCE
#include "kernel_bpf.h"	/* first: it brings <linux/bpf.h> */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "progtypes/progtype.h"
#include "testlog.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DATA_ROOM 80000		/* data_out room: the largest multi-buffer frame fits */
#define CTX_ROOM 256
#define LOG_SIZE (1u << 20)
#define SKB(F) offsetof(struct __sk_buff, F)

static const enum bpfvm_engine engines[] = { BPFVM_ENGINE_INTERP, BPFVM_ENGINE_INTERP_SWITCH,
					     BPFVM_ENGINE_JIT };
static const char *const engine_names[] = { "interp", "switch", "jit" };

static bool have_kernel, have_ld_abs;
static char *klog;
static unsigned n_kernel_agree, n_kernel_disagree, n_ld_abs_skipped;

/* One test run: the program (assembly), its type and the BPF_PROG_TEST_RUN inputs. */
struct tcase {
	const char *name;
	uint32_t type;
	const char *text;
	const void *data;
	uint32_t data_len;
	const void *ctx;
	uint32_t ctx_len;
	uint32_t data_room;	/* 0: DATA_ROOM */
	uint32_t ctx_room;	/* 0: no ctx_out */
	uint32_t repeat;
	bool no_kernel;		/* bpfvm semantics the kernel does not have */
	bool ld_abs;
};

struct outcome {
	int err;
	uint32_t retval;
	uint32_t data_size, ctx_size;
	uint8_t data[DATA_ROOM];
	uint8_t ctx[CTX_ROOM];
};

static struct bpf_insn *assemble(const char *name, const char *text, size_t *cnt)
{
	struct bpf_insn *insns = NULL;
	struct bpfvm_asm_opts ao = { .sz = sizeof(ao), .filename = name };
	test_log_clear();
	int err = bpfvm_asm(text, &ao, &insns, cnt);
	CHECK(err == 0, "%s: does not assemble: %s", name, test_log_last());
	return err ? NULL : insns;
}

static void run_vm(struct bpfvm_prog *p, const struct tcase *c, enum bpfvm_engine e,
		   struct outcome *o)
{
	memset(o, 0xee, offsetof(struct outcome, data) + 64);
	/* Tracing types have no packet: no data_out either. */
	bool trace = c->type == BPFVM_PROG_TYPE_KPROBE || c->type == BPFVM_PROG_TYPE_TRACEPOINT;
	struct bpfvm_test_run_opts t = {
		.sz = sizeof(t), .data_in = c->data, .data_size_in = c->data_len,
		.data_out = trace ? NULL : o->data,
		.data_size_out = trace ? 0 : c->data_room ? c->data_room : DATA_ROOM,
		.ctx_in = c->ctx, .ctx_size_in = c->ctx_len,
		.ctx_out = c->ctx_room ? o->ctx : NULL, .ctx_size_out = c->ctx_room,
		.repeat = c->repeat, .engine = e, .budget = 1000000,
	};
	o->err = bpfvm_prog__test_run(p, &t);
	o->retval = (uint32_t)t.retval;
	o->data_size = t.data_size_out;
	o->ctx_size = t.ctx_size_out;
}

static void run_kernel(const struct bpf_insn *insns, size_t cnt, const struct tcase *c,
		       struct outcome *o)
{
	memset(o, 0xee, offsetof(struct outcome, data) + 64);
	int fd = kbpf_prog_load(c->type, insns, cnt, klog, LOG_SIZE);
	if (fd < 0) {
		char reason[512];
		kbpf_log_reason(klog, reason, sizeof(reason));
		CHECK(0, "%s: the kernel rejects the program: %s (%s)", c->name, reason,
		      strerror(-fd));
		o->err = -ENOEXEC;
		return;
	}
	struct kbpf_test_run t = {
		.data_in = c->data, .data_size_in = c->data_len,
		.data_out = o->data, .data_size_out = c->data_room ? c->data_room : DATA_ROOM,
		.ctx_in = c->ctx, .ctx_size_in = c->ctx_len,
		.ctx_out = c->ctx_room ? o->ctx : NULL, .ctx_size_out = c->ctx_room,
		.repeat = c->repeat,
	};
	o->err = kbpf_test_run_full(fd, &t);
	o->retval = t.retval;
	o->data_size = t.data_size_out;
	o->ctx_size = t.ctx_size_out;
	close(fd);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether a and b are the same result; says how they differ if not. */
static bool same(const struct tcase *c, const struct outcome *a, const struct outcome *b,
		 const char *an, const char *bn)
{
	if (a->err != b->err) {
		fprintf(stderr, "  %s: error %s %d, %s %d\n", c->name, an, a->err, bn, b->err);
		return false;
	}
	if (a->err && a->err != -ENOSPC)
		return true;
	bool ok = true;
	if (a->retval != b->retval) {
		fprintf(stderr, "  %s: retval %s 0x%x, %s 0x%x\n", c->name, an, a->retval, bn,
			b->retval);
		ok = false;
	}
	uint32_t room = c->data_room ? c->data_room : DATA_ROOM;
	if (a->data_size != b->data_size) {
		fprintf(stderr, "  %s: data_size_out %s %u, %s %u\n", c->name, an, a->data_size,
			bn, b->data_size);
		ok = false;
	} else {
		uint32_t n = a->data_size < room ? a->data_size : room;
		for (uint32_t i = 0; i < n; i++)
			if (a->data[i] != b->data[i]) {
				fprintf(stderr, "  %s: data_out[%u] %s 0x%02x, %s 0x%02x\n", c->name,
					i, an, a->data[i], bn, b->data[i]);
				ok = false;
				break;
			}
	}
	if (c->ctx_room && !a->err) {
		if (a->ctx_size != b->ctx_size ||
		    memcmp(a->ctx, b->ctx, a->ctx_size < c->ctx_room ? a->ctx_size : c->ctx_room)) {
			fprintf(stderr, "  %s: ctx_out differs (%s %u bytes, %s %u)\n", c->name, an,
				a->ctx_size, bn, b->ctx_size);
			for (uint32_t i = 0; i + 4 <= a->ctx_size && i < c->ctx_room; i += 4)
				if (memcmp(a->ctx + i, b->ctx + i, 4))
					fprintf(stderr, "    ctx[%u]: %s 0x%08x, %s 0x%08x\n", i, an,
						le32(a->ctx + i), bn, le32(b->ctx + i));
			ok = false;
		}
	}
	return ok;
}

/* Runs c on every engine (they must agree) and in the kernel (it must agree);
 * returns the interpreter's outcome, or NULL when the case could not run. */
static const struct outcome *run_case(const struct tcase *c)
{
	static struct outcome vm[N(engines)], k;
	if (c->ld_abs && !have_ld_abs) {
		n_ld_abs_skipped++;
		printf("  %-40s skipped: the engines do not run LD_ABS yet\n", c->name);
		return NULL;
	}
	size_t cnt;
	struct bpf_insn *insns = assemble(c->name, c->text, &cnt);
	if (!insns)
		return NULL;
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .name = c->name, .prog_type = c->type };
	test_log_clear();
	struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, &po);
	CHECK(p != NULL, "%s: bpfvm rejects the program: %s", c->name, test_log_last());
	if (!p) {
		free(insns);
		return NULL;
	}
	size_t ran = 0;
	for (size_t e = 0; e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]))
			continue;
		run_vm(p, c, engines[e], &vm[e]);
		if (e)
			CHECK(same(c, &vm[e], &vm[0], engine_names[e], "interp"),
			      "%s: %s and interp disagree", c->name, engine_names[e]);
		ran++;
	}
	bpfvm_prog__free(p);
	if (have_kernel && !c->no_kernel) {
		run_kernel(insns, cnt, c, &k);
		if (k.err != -ENOEXEC) {
			bool ok = same(c, &vm[0], &k, "bpfvm", "kernel");
			CHECK(ok, "%s: bpfvm and the kernel disagree", c->name);
			if (ok)
				n_kernel_agree++;
			else
				n_kernel_disagree++;
		}
	}
	free(insns);
	return ran ? &vm[0] : NULL;
}

/* ---- Packets ----------------------------------------------------------------------- */

/* A 64-byte IPv4/UDP frame, 10.0.0.1:1234 -> 10.0.0.2:53, to 02:00:00:00:00:02. */
static uint8_t pkt_v4[64];
static uint8_t big[80000];

static void make_packets(void)
{
	static const uint8_t head[42] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,	/* eth */
		0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,	/* ip */
		0x04, 0xd2, 0, 53, 0, 30, 0, 0,					/* udp */
	};
	memcpy(pkt_v4, head, sizeof(head));
	for (size_t i = sizeof(head); i < sizeof(pkt_v4); i++)
		pkt_v4[i] = (uint8_t)('a' + i - sizeof(head));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
}

/* ---- XDP --------------------------------------------------------------------------- */

static const char xdp_len[] =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r0 = r3\n"
	"r0 -= r2\n"
	"exit\n";

static const char xdp_ethertype[] =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r4 = r2\n"
	"r4 += 14\n"
	"if r4 > r3 goto drop\n"
	"r0 = *(u16 *)(r2 + 12)\n"
	"exit\n"
	"drop: r0 = 1\n"
	"exit\n";

/* Makes the destination MAC the source, the source 11:22:33:44:55:66; XDP_TX. */
static const char xdp_swap[] =
	"r2 = *(u32 *)(r1 + 0)\n"
	"r3 = *(u32 *)(r1 + 4)\n"
	"r4 = r2\n"
	"r4 += 14\n"
	"if r4 > r3 goto drop\n"
	"r5 = *(u32 *)(r2 + 6)\n"
	"*(u32 *)(r2 + 0) = r5\n"
	"r5 = *(u16 *)(r2 + 10)\n"
	"*(u16 *)(r2 + 4) = r5\n"
	"*(u32 *)(r2 + 6) = 0x44332211\n"
	"*(u16 *)(r2 + 10) = 0x6655\n"
	"r0 = 3\n"
	"exit\n"
	"drop: r0 = 1\n"
	"exit\n";

/* bpf_xdp_adjust_head(ctx, -4), then writes the 4 new bytes; XDP_TX. */
static const char xdp_push4[] =
	"r6 = r1\n"
	"r2 = -4\n"
	"call 44\n"
	"if r0 != 0 goto fail\n"
	"r2 = *(u32 *)(r6 + 0)\n"
	"r3 = *(u32 *)(r6 + 4)\n"
	"r4 = r2\n"
	"r4 += 4\n"
	"if r4 > r3 goto fail\n"
	"*(u32 *)(r2 + 0) = 0x11223344\n"
	"r0 = 3\n"
	"exit\n"
	"fail: r0 = 0\n"
	"exit\n";

/* bpf_xdp_adjust_meta(ctx, -8), then fills the metadata; XDP_PASS. */
static const char xdp_meta8[] =
	"r6 = r1\n"
	"r2 = -8\n"
	"call 54\n"
	"if r0 != 0 goto fail\n"
	"r2 = *(u32 *)(r6 + 8)\n"
	"r3 = *(u32 *)(r6 + 0)\n"
	"r4 = r2\n"
	"r4 += 8\n"
	"if r4 > r3 goto fail\n"
	"*(u32 *)(r2 + 0) = 0xaabbccdd\n"
	"*(u32 *)(r2 + 4) = 0x01020304\n"
	"r0 = 2\n"
	"exit\n"
	"fail: r0 = 0\n"
	"exit\n";

/* r0 = the first 4 bytes of metadata, or 0 with less. */
static const char xdp_read_meta[] =
	"r2 = *(u32 *)(r1 + 8)\n"
	"r3 = *(u32 *)(r1 + 0)\n"
	"r4 = r2\n"
	"r4 += 4\n"
	"if r4 > r3 goto none\n"
	"r0 = *(u32 *)(r2 + 0)\n"
	"exit\n"
	"none: r0 = 0\n"
	"exit\n";

/* r0 = ingress_ifindex | rx_queue_index << 16 */
static const char xdp_rxq[] =
	"r0 = *(u32 *)(r1 + 12)\n"
	"r2 = *(u32 *)(r1 + 16)\n"
	"r2 <<= 16\n"
	"r0 |= r2\n"
	"exit\n";

/* bpf_xdp_store_bytes 4 bytes at 3600 (a fragment of a big frame), then
 * bpf_xdp_load_bytes them back: r0 = 0xcafef00d. */
static const char xdp_frag_bytes[] =
	"r6 = r1\n"
	"*(u32 *)(r10 - 8) = 0xcafef00d\n"
	"r1 = r6\n"
	"r2 = 3600\n"
	"r3 = r10\n"
	"r3 += -8\n"
	"r4 = 4\n"
	"call 190\n"
	"if r0 != 0 goto out\n"
	"*(u32 *)(r10 - 8) = 0\n"
	"r1 = r6\n"
	"r2 = 3600\n"
	"r3 = r10\n"
	"r3 += -8\n"
	"r4 = 4\n"
	"call 189\n"
	"if r0 != 0 goto out\n"
	"r0 = *(u32 *)(r10 - 8)\n"
	"out: exit\n";

/* "r2 = ARG; call ID; exit": the helper's result as retval. */
static const char *helper_prog(int id, int arg)
{
	static char text[8][64];
	static int k;
	char *t = text[k++ % 8];
	snprintf(t, sizeof(text[0]), "r2 = %d\ncall %d\nexit\n", arg, id);
	return t;
}

static void xdp_basics(void)
{
	const struct outcome *o;
	struct tcase c = { .name = "xdp pass", .type = BPFVM_PROG_TYPE_XDP,
			   .text = "r0 = 2\nexit\n", .data = pkt_v4, .data_len = 64 };
	o = run_case(&c);
	if (o) {
		CHECK(o->err == 0 && o->retval == 2, "xdp pass: %d %u", o->err, o->retval);
		CHECK(o->data_size == 64 && !memcmp(o->data, pkt_v4, 64), "xdp pass: data_out");
	}
	c.name = "xdp len";
	c.text = xdp_len;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 64, "xdp len");
	c.name = "xdp len 14";
	c.data_len = 14;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 14, "xdp len 14");
	c.name = "xdp ethertype";
	c.text = xdp_ethertype;
	c.data_len = 64;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 0x0008, "xdp ethertype (network order)");
	c.name = "xdp swap and tx";
	c.text = xdp_swap;
	o = run_case(&c);
	if (o) {
		static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };
		CHECK(o->retval == 3 && !memcmp(o->data, mac, 12) &&
		      !memcmp(o->data + 12, pkt_v4 + 12, 52), "xdp swap: data_out");
	}
	c.name = "xdp ingress ifindex";
	c.text = xdp_rxq;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 1, "xdp without ctx_in runs on the loopback device");
	c.name = "xdp repeat";
	c.text = xdp_len;
	c.repeat = 100;
	run_case(&c);
}

static void xdp_helpers(void)
{
	const struct outcome *o;
	struct tcase c = { .name = "xdp adjust_head -4", .type = BPFVM_PROG_TYPE_XDP,
			   .text = xdp_push4, .data = pkt_v4, .data_len = 64 };
	o = run_case(&c);
	if (o) {
		static const uint8_t head[4] = { 0x44, 0x33, 0x22, 0x11 };
		CHECK(o->retval == 3 && o->data_size == 68 && !memcmp(o->data, head, 4) &&
		      !memcmp(o->data + 4, pkt_v4, 64), "adjust_head -4: data_out");
	}
	/* The kernel keeps the context across repeated runs: three pushes. */
	c.name = "xdp adjust_head -4 x3";
	c.repeat = 3;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->data_size, 76, "three runs of adjust_head -4");
	c.repeat = 0;

	static const struct { int id, arg; uint32_t ret, size; } h[] = {
		{ 44, 14, 0, 50 },		/* strip the Ethernet header */
		{ 44, 50, 0, 14 },		/* leaves exactly ETH_HLEN */
		{ 44, 51, -EINVAL, 64 },
		{ 44, -216, 0, 280 },		/* the whole headroom but the xdp_frame */
		{ 44, -217, -EINVAL, 64 },
		{ 54, -4, 0, 68 },
		{ 54, -216, 0, 280 },
		{ 54, -217, -EINVAL, 64 },
		{ 54, -2, -EACCES, 64 },	/* metadata in 4-byte units */
		{ 54, 4, -EINVAL, 64 },		/* past data */
		{ 65, -50, 0, 14 },
		{ 65, -51, -EINVAL, 64 },
		{ 65, 20, 0, 84 },		/* grown bytes are zero */
		{ 65, 3456, 0, 3520 },		/* up to the tailroom */
		{ 65, 3457, -EINVAL, 64 },
		{ 188, 0, 64, 64 },		/* bpf_xdp_get_buff_len */
	};
	for (size_t i = 0; i < N(h); i++) {
		char name[64];
		snprintf(name, sizeof(name), "xdp helper %d(%d)", h[i].id, h[i].arg);
		c.name = name;
		c.text = helper_prog(h[i].id, h[i].arg);
		o = run_case(&c);
		if (!o)
			continue;
		CHECK_U64(o->retval, h[i].ret, "%s: result", name);
		CHECK_U64(o->data_size, h[i].size, "%s: data_out size", name);
		if (h[i].id == 65 && h[i].arg == 20)
			CHECK(!memcmp(o->data, pkt_v4, 64) && !o->data[64] && !o->data[83],
			      "adjust_tail +20: zeroed tail");
	}

	c.name = "xdp adjust_meta -8 and write";
	c.text = xdp_meta8;
	struct xdp_md md_in = { .data_end = 64 };
	c.ctx = &md_in;
	c.ctx_len = sizeof(md_in);
	c.ctx_room = sizeof(struct xdp_md);
	o = run_case(&c);
	if (o) {
		const struct xdp_md *md = (const void *)o->ctx;
		CHECK(o->retval == 2 && o->data_size == 72 && le32(o->data) == 0xaabbccdd &&
		      !memcmp(o->data + 8, pkt_v4, 64), "adjust_meta: data_out");
		CHECK(o->ctx_size == sizeof(*md) && md->data == 8 && md->data_end == 72,
		      "adjust_meta: ctx_out %u %u", md->data, md->data_end);
	}
}

static void xdp_ctx(void)
{
	const struct outcome *o;
	uint8_t in[72];
	memset(in, 0x5a, 8);
	memcpy(in + 8, pkt_v4, 64);
	struct xdp_md md = { .data = 8, .data_end = 72 };
	struct tcase c = { .name = "xdp ctx_in metadata", .type = BPFVM_PROG_TYPE_XDP,
			   .text = xdp_read_meta, .data = in, .data_len = 72, .ctx = &md,
			   .ctx_len = sizeof(md), .ctx_room = sizeof(md) };
	o = run_case(&c);
	if (o) {
		const struct xdp_md *out = (const void *)o->ctx;
		CHECK_U64(o->retval, 0x5a5a5a5a, "metadata visible to the program");
		CHECK(o->data_size == 72 && !memcmp(o->data, in, 72), "data_out has the metadata");
		CHECK(out->data == 8 && out->data_end == 72 && !out->data_meta,
		      "ctx_out: offsets from data_meta");
	}
	c.name = "xdp ctx_in len";
	c.text = xdp_len;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 64, "len excludes the metadata");
	c.name = "xdp ctx_in metadata + adjust_head";
	c.text = xdp_push4;
	o = run_case(&c);
	if (o)
		CHECK(o->data_size == 76 && !memcmp(o->data, in, 8) && le32(o->data + 8) == 0x11223344,
		      "the metadata moves with data");
	c.name = "xdp ctx_in loopback";
	c.text = xdp_rxq;
	struct xdp_md lo = { .data_end = 64, .ingress_ifindex = 1 };
	c.data = pkt_v4;
	c.data_len = 64;
	c.ctx = &lo;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 1, "ingress_ifindex from ctx_in");
	/* Only the first bytes of ctx_in: the rest is zero. */
	c.name = "xdp short ctx_in";
	c.text = xdp_len;
	c.ctx_len = 8;
	run_case(&c);
	/* data_end below data_size_in: the rest goes to fragments. */
	struct xdp_md split = { .data_end = 20 };
	c.name = "xdp ctx_in linear part";
	c.ctx = &split;
	c.ctx_len = sizeof(split);
	o = run_case(&c);
	if (o)
		CHECK(o->retval == 20 && o->data_size == 64 && !memcmp(o->data, pkt_v4, 64),
		      "linear part of 20 bytes");
	/* ctx_out without ctx_in: a zero context, so no linear data at all. */
	c.name = "xdp ctx_out only";
	c.ctx = NULL;
	c.ctx_len = 0;
	o = run_case(&c);
	if (o)
		CHECK(o->retval == 0 && o->data_size == 64 && !memcmp(o->data, pkt_v4, 64),
		      "ctx_out only: everything in fragments");
}

static void xdp_frags(void)
{
	const struct outcome *o;
	struct tcase c = { .name = "xdp big frame len", .type = BPFVM_PROG_TYPE_XDP,
			   .text = xdp_len, .data = big, .data_len = 5000 };
	o = run_case(&c);
	if (o)
		CHECK(o->retval == 3520 && o->data_size == 5000 && !memcmp(o->data, big, 5000),
		      "big frame: 3520 linear bytes, all of it out");
	c.name = "xdp big frame buff_len";
	c.text = helper_prog(188, 0);
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 5000, "bpf_xdp_get_buff_len counts the fragments");
	c.name = "xdp fragment bytes";
	c.text = xdp_frag_bytes;
	o = run_case(&c);
	if (o)
		CHECK(o->retval == 0xcafef00d && le32(o->data + 3600) == 0xcafef00d,
		      "store/load bytes in a fragment");
	static const int tails[] = { -100, -1480, -1481, -4986, -4987, 2616, 2617, 0 };
	for (size_t i = 0; i < N(tails); i++) {
		char name[64];
		snprintf(name, sizeof(name), "xdp big frame adjust_tail %d", tails[i]);
		c.name = name;
		c.text = helper_prog(65, tails[i]);
		run_case(&c);
	}
	c.name = "xdp largest frame";
	c.text = xdp_len;
	c.data_len = 3520 + 17 * 4096;
	run_case(&c);
	c.name = "xdp frame too big";
	c.data_len++;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -ENOMEM, "more than 17 fragments");
}

static void xdp_errors(void)
{
	struct { const char *name; struct xdp_md md; uint32_t ctx_len, data_len; int err; } e[] = {
		{ "xdp data_meta set", { .data_meta = 4, .data_end = 64 }, 24, 64, -EINVAL },
		{ "xdp data_end > size", { .data_end = 65 }, 24, 64, -EINVAL },
		{ "xdp data > data_end", { .data = 12, .data_end = 8 }, 24, 64, -EINVAL },
		{ "xdp metadata unaligned", { .data = 2, .data_end = 64 }, 24, 64, -EINVAL },
		{ "xdp metadata 216", { .data = 216, .data_end = 240 }, 24, 240, 0 },
		{ "xdp metadata 220", { .data = 220, .data_end = 240 }, 24, 240, -EINVAL },
		{ "xdp packet under 14", { .data = 52, .data_end = 64 }, 24, 64, -EINVAL },
		{ "xdp egress_ifindex", { .data_end = 64, .egress_ifindex = 1 }, 24, 64, -EINVAL },
		{ "xdp rx queue, no device", { .data_end = 64, .rx_queue_index = 1 }, 24, 64, -EINVAL },
		{ "xdp data 13", { .data_end = 13 }, 0, 13, -EINVAL },
		{ "xdp data 0", { .data_end = 0 }, 0, 0, -EINVAL },
	};
	for (size_t i = 0; i < N(e); i++) {
		struct tcase c = { .name = e[i].name, .type = BPFVM_PROG_TYPE_XDP, .text = xdp_len,
				   .data = e[i].data_len ? big : NULL, .data_len = e[i].data_len,
				   .ctx = e[i].ctx_len ? &e[i].md : NULL, .ctx_len = e[i].ctx_len };
		const struct outcome *o = run_case(&c);
		if (o)
			CHECK_U64(o->err, e[i].err, "%s", e[i].name);
	}
	/* ctx_in longer than struct xdp_md: zero past it, else -E2BIG. */
	uint8_t long_ctx[32] = { 0 };
	((struct xdp_md *)long_ctx)->data_end = 64;
	struct tcase c = { .name = "xdp long ctx_in", .type = BPFVM_PROG_TYPE_XDP, .text = xdp_len,
			   .data = pkt_v4, .data_len = 64, .ctx = long_ctx, .ctx_len = 32 };
	const struct outcome *o = run_case(&c);
	if (o)
		CHECK_U64(o->err, 0, "zero tail");
	long_ctx[30] = 1;
	c.name = "xdp long ctx_in, non-zero tail";
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -E2BIG, "non-zero tail");
	/* Outputs that do not fit: -ENOSPC, with the sizes needed. */
	c = (struct tcase){ .name = "xdp data_out too small", .type = BPFVM_PROG_TYPE_XDP,
			    .text = xdp_len, .data = pkt_v4, .data_len = 64, .data_room = 10 };
	o = run_case(&c);
	if (o)
		CHECK(o->err == -ENOSPC && o->data_size == 64 && o->retval == 64 &&
		      !memcmp(o->data, pkt_v4, 10), "data_out ENOSPC");
	struct xdp_md md = { .data_end = 64 };
	c = (struct tcase){ .name = "xdp ctx_out too small", .type = BPFVM_PROG_TYPE_XDP,
			    .text = xdp_len, .data = pkt_v4, .data_len = 64, .ctx = &md,
			    .ctx_len = sizeof(md), .ctx_room = 4 };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -ENOSPC, "ctx_out ENOSPC");
	/* bpfvm has no devices: any ingress_ifindex goes (the kernel wants one). */
	struct xdp_md dev = { .data_end = 64, .ingress_ifindex = 7, .rx_queue_index = 3 };
	c = (struct tcase){ .name = "xdp any device", .type = BPFVM_PROG_TYPE_XDP,
			    .text = xdp_rxq, .data = pkt_v4, .data_len = 64, .ctx = &dev,
			    .ctx_len = sizeof(dev), .no_kernel = true };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 7 | 3 << 16, "ingress device and queue from ctx_in");
}

/* Checked mode: what the kernel's verifier would refuse faults in bpfvm. */
static void xdp_checked(void)
{
	static const struct { const char *name, *text; int err; } f[] = {
		{ "xdp read past data_end", "r2 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r2 + 0)\nexit\n",
		  -EFAULT },
		{ "xdp write to ctx", "*(u32 *)(r1 + 0) = 0\nr0 = 2\nexit\n", -EFAULT },
		{ "xdp read headroom", "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 - 1)\nexit\n",
		  -EFAULT },
		/* after adjust_head / adjust_tail the new bytes are the program's */
		{ "xdp read pushed head", "r6 = r1\nr2 = -8\ncall 44\n"
		  "r2 = *(u32 *)(r6 + 0)\nr0 = *(u64 *)(r2 + 0)\nexit\n", 0 },
		{ "xdp read grown tail", "r6 = r1\nr2 = 8\ncall 65\n"
		  "r2 = *(u32 *)(r6 + 4)\nr0 = *(u64 *)(r2 - 8)\nexit\n", 0 },
	};
	for (size_t i = 0; i < N(f); i++) {
		struct tcase c = { .name = f[i].name, .type = BPFVM_PROG_TYPE_XDP, .text = f[i].text,
				   .data = pkt_v4, .data_len = 64, .no_kernel = true };
		const struct outcome *o = run_case(&c);
		if (o)
			CHECK_U64(o->err, f[i].err, "%s", f[i].name);
	}
	/* Repeated runs that move the packet each see the last run's bounds. */
	struct tcase c = { .name = "xdp repeat reads pushed head", .type = BPFVM_PROG_TYPE_XDP,
			   .text = f[3].text, .data = pkt_v4, .data_len = 64, .repeat = 5,
			   .no_kernel = true };
	const struct outcome *o = run_case(&c);
	if (o)
		CHECK(o->err == 0 && o->data_size == 104, "five pushes of 8: %d %u", o->err,
		      o->data_size);
}

/* A tail call into a program that pushes 4 bytes: repeated runs each start where
 * the last left the packet (bpfvm cannot see the push in the caller). */
static void xdp_tail_call(void)
{
	size_t n1, n2;
	struct bpf_insn *callee = assemble("push4", xdp_push4, &n1);
	struct bpf_insn *caller = assemble("caller", "r2 = map[idx:0] ll\nr3 = 0\ncall 12\n"
					   "r0 = 1\nexit\n", &n2);
	struct bpfvm_map *pa = bpfvm_map__create(BPFVM_MAP_TYPE_PROG_ARRAY, "jmp", 4, 4, 1, NULL);
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .prog_type = BPFVM_PROG_TYPE_XDP };
	struct bpfvm_prog *pc = callee ? bpfvm_prog__new(callee, n1, &po) : NULL;
	po.maps = &pa;
	po.map_cnt = 1;
	struct bpfvm_prog *pm = caller && pa ? bpfvm_prog__new(caller, n2, &po) : NULL;
	CHECK(pc && pm && bpfvm_map__update_prog(pa, 0, pc, 0) == 0, "tail call set-up: %s",
	      test_log_last());
	for (size_t e = 0; pm && e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]))
			continue;
		static uint8_t out[256];
		struct bpfvm_test_run_opts t = { .sz = sizeof(t), .data_in = pkt_v4,
						 .data_size_in = 64, .data_out = out,
						 .data_size_out = sizeof(out), .repeat = 3,
						 .engine = engines[e] };
		int err = bpfvm_prog__test_run(pm, &t);
		CHECK(err == 0 && t.retval == 3 && t.data_size_out == 76 &&
		      !memcmp(out + 12, pkt_v4, 64), "tail call, 3 runs on %s: %d %u %u",
		      engine_names[e], err, (unsigned)t.retval, t.data_size_out);
	}
	bpfvm_prog__free(pm);
	bpfvm_prog__free(pc);
	bpfvm_map__free(pa);
	free(callee);
	free(caller);
}

/* ---- Socket filter and tc ------------------------------------------------------------ */

static char skb_field_text[8][96];

/* r0 = *(uSZ *)(r1 + off) */
static const char *read_field(size_t off, int bits)
{
	static int k;
	char *t = skb_field_text[k++ % 8];
	snprintf(t, sizeof(skb_field_text[0]), "r0 = *(u%d *)(r1 + %zu)\nexit\n", bits, off);
	return t;
}

static void skb_fields(void)
{
	static const struct { const char *name; size_t off; uint32_t sf, tc; } f[] = {
		{ "len", SKB(len), 50, 64 },
		{ "pkt_type", SKB(pkt_type), 3, 3 },		/* PACKET_OTHERHOST */
		{ "protocol", SKB(protocol), 0x0008, 0x0008 },	/* htons(ETH_P_IP) */
		{ "ifindex", SKB(ifindex), 1, 1 },
		{ "ingress_ifindex", SKB(ingress_ifindex), 0, 0 },
		{ "mark", SKB(mark), 0, 0 },
		{ "priority", SKB(priority), 0, 0 },
		{ "cb[2]", SKB(cb) + 8, 0, 0 },
		{ "gso_segs", SKB(gso_segs), 0, 0 },
		{ "hash", SKB(hash), 0, 0 },
	};
	for (size_t i = 0; i < N(f); i++)
		for (int tc = 0; tc < 2; tc++) {
			char name[64];
			snprintf(name, sizeof(name), "%s %s", tc ? "tc" : "socket", f[i].name);
			struct tcase c = { .name = name, .text = read_field(f[i].off, 32),
					   .type = tc ? BPFVM_PROG_TYPE_SCHED_CLS :
							BPFVM_PROG_TYPE_SOCKET_FILTER,
					   .data = pkt_v4, .data_len = 64 };
			const struct outcome *o = run_case(&c);
			if (o)
				CHECK_U64(o->retval, tc ? f[i].tc : f[i].sf, "%s", name);
		}
	/* pkt_type and protocol from the Ethernet header, as eth_type_trans. */
	static const struct { const char *name; uint8_t mac0, mac5; uint8_t t0, t1, b14;
			      uint32_t len; size_t off; uint32_t want; } e[] = {
		{ "pkt_type host", 0, 0, 8, 0, 0x45, 64, SKB(pkt_type), 0 },
		{ "pkt_type broadcast", 0xff, 0xff, 8, 0, 0x45, 64, SKB(pkt_type), 2 },
		{ "pkt_type multicast", 0x01, 0x01, 8, 0, 0x45, 64, SKB(pkt_type), 2 },
		{ "protocol ipv6", 2, 2, 0x86, 0xdd, 0x60, 64, SKB(protocol), 0xdd86 },
		{ "protocol 802.2", 2, 2, 0x00, 0x40, 0x45, 64, SKB(protocol), 0x0400 },
		{ "protocol 802.3 raw", 2, 2, 0x00, 0x40, 0xff, 64, SKB(protocol), 0x0100 },
		{ "protocol 802.2 at 14 bytes", 2, 2, 0x00, 0x40, 0xff, 14, SKB(protocol), 0x0400 },
	};
	for (size_t i = 0; i < N(e); i++) {
		uint8_t p[64];
		memcpy(p, pkt_v4, 64);
		memset(p, e[i].mac0, 5);
		p[5] = e[i].mac5;
		p[12] = e[i].t0;
		p[13] = e[i].t1;
		p[14] = e[i].b14;
		p[15] = 0xff;
		struct tcase c = { .name = e[i].name, .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
				   .text = read_field(e[i].off, 32), .data = p, .data_len = e[i].len };
		const struct outcome *o = run_case(&c);
		if (o)
			CHECK_U64(o->retval, e[i].want, "%s", e[i].name);
	}
}

static void skb_data(void)
{
	const struct outcome *o;
	/* A socket filter's data_out: the Ethernet header comes back zeroed. */
	struct tcase c = { .name = "socket data_out", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			   .text = "r0 = -1\nexit\n", .data = pkt_v4, .data_len = 64 };
	o = run_case(&c);
	if (o) {
		static const uint8_t zero[14];
		CHECK(o->retval == 0xffffffff && o->data_size == 64 && !memcmp(o->data, zero, 14) &&
		      !memcmp(o->data + 14, pkt_v4 + 14, 50), "socket data_out");
	}
	/* tc sees the frame from the Ethernet header, may read and write it. */
	c = (struct tcase){ .name = "tc ethertype", .type = BPFVM_PROG_TYPE_SCHED_CLS,
			    .data = pkt_v4, .data_len = 64,
			    .text = "r2 = *(u32 *)(r1 + 76)\n"
				    "r3 = *(u32 *)(r1 + 80)\n"
				    "r4 = r2\n"
				    "r4 += 14\n"
				    "if r4 > r3 goto out\n"
				    "r0 = *(u16 *)(r2 + 12)\n"
				    "*(u8 *)(r2 + 0) = 0xaa\n"
				    "exit\n"
				    "out: r0 = 2\n"
				    "exit\n" };
	o = run_case(&c);
	if (o)
		CHECK(o->retval == 8 && o->data[0] == 0xaa && !memcmp(o->data + 1, pkt_v4 + 1, 63),
		      "tc reads and writes the frame");
	c.name = "tc data_end - data";
	c.text = "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr0 = r3\nr0 -= r2\nexit\n";
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 64, "tc data_end - data");
	/* Checked mode: a socket filter may not write the packet (the kernel's verifier
	 * lets it read nothing directly). */
	c = (struct tcase){ .name = "socket write packet", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			    .data = pkt_v4, .data_len = 64, .no_kernel = true,
			    .text = "r2 = *(u32 *)(r1 + 76)\n*(u8 *)(r2 + 0) = 1\nr0 = 0\nexit\n" };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EFAULT, "socket filter packet is read-only");
	c.name = "socket read past data_end";
	c.text = "r2 = *(u32 *)(r1 + 80)\nr0 = *(u8 *)(r2 + 0)\nexit\n";
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EFAULT, "socket filter past the packet");
}

static void skb_ld_abs(void)
{
	const struct outcome *o;
	struct tcase c = { .name = "socket ld_abs", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			   .data = pkt_v4, .data_len = 64, .ld_abs = true,
			   .text = "r6 = r1\n"
				   "r0 = *(u8 *)skb[9]\n"	/* IP protocol */
				   "r7 = r0\n"
				   "r0 = *(u16 *)skb[2]\n"	/* IP total length */
				   "r7 <<= 16\n"
				   "r0 |= r7\n"
				   "exit\n" };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 17 << 16 | 50, "LD_ABS from the network header");
	c.name = "socket ld_ind";
	c.text = "r6 = r1\nr7 = 20\nr0 = *(u16 *)skb[r7 + 2]\nexit\n";	/* UDP dport */
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 53, "LD_IND");
	c.name = "socket ld_abs word";
	c.text = "r6 = r1\nr0 = *(u32 *)skb[16]\nexit\n";	/* IP destination */
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 0x0a000002, "LD_ABS word, host order");
	c.name = "socket ld_abs out of range";
	c.text = "r6 = r1\nr0 = *(u32 *)skb[48]\nr0 = 7\nexit\n";
	o = run_case(&c);
	if (o)
		CHECK(o->err == 0 && o->retval == 0, "LD_ABS past the end ends the program with 0");
	c.name = "socket ld_abs last byte";
	c.text = "r6 = r1\nr0 = *(u8 *)skb[49]\nexit\n";
	run_case(&c);
	c = (struct tcase){ .name = "tc ld_abs", .type = BPFVM_PROG_TYPE_SCHED_CLS,
			    .data = pkt_v4, .data_len = 64, .ld_abs = true,
			    .text = "r6 = r1\nr0 = *(u16 *)skb[12]\nexit\n" };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 0x0800, "tc LD_ABS from the Ethernet header");
}

static void skb_load_bytes(void)
{
	const struct outcome *o;
	/* bpf_skb_load_bytes(ctx, 12, fp - 8, 8): IP source and destination. */
	static const char load8[] =
		"r6 = r1\n"
		"r2 = 12\n"
		"r3 = r10\n"
		"r3 += -8\n"
		"r4 = 8\n"
		"call 26\n"
		"if r0 != 0 goto out\n"
		"r0 = *(u32 *)(r10 - 4)\n"
		"out: exit\n";
	struct tcase c = { .name = "socket skb_load_bytes", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			   .text = load8, .data = pkt_v4, .data_len = 64 };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, le32(pkt_v4 + 30), "skb_load_bytes: IP destination");
	c.name = "tc skb_load_bytes";
	c.type = BPFVM_PROG_TYPE_SCHED_CLS;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, le32(pkt_v4 + 16), "tc skb_load_bytes from the frame");
	/* Out of range: -EFAULT and the buffer zeroed. */
	static const char bad[] =
		"r6 = r1\n"
		"*(u64 *)(r10 - 8) = -1\n"
		"r2 = %d\n"
		"r3 = r10\n"
		"r3 += -8\n"
		"r4 = 8\n"
		"call 26\n"
		"if r0 != -14 goto wrong\n"
		"r0 = *(u32 *)(r10 - 8)\n"
		"r1 = *(u32 *)(r10 - 4)\n"
		"r0 |= r1\n"
		"exit\n"
		"wrong: r0 = 1000\n"
		"exit\n";
	/* 50 bytes from the network header: 42 + 8 fits (r0 = 1000), 43 + 8 does not */
	static const int offs[] = { 43, 42, -1 };
	for (size_t i = 0; i < N(offs); i++) {
		char text[512], name[64];
		snprintf(text, sizeof(text), bad, offs[i]);
		snprintf(name, sizeof(name), "socket skb_load_bytes at %d", offs[i]);
		c = (struct tcase){ .name = name, .type = BPFVM_PROG_TYPE_SOCKET_FILTER, .text = text,
				    .data = pkt_v4, .data_len = 64 };
		o = run_case(&c);
		if (o)
			CHECK_U64(o->retval, offs[i] == 42 ? 1000 : 0, "%s", name);
	}
}

static void skb_ctx(void)
{
	const struct outcome *o;
	struct __sk_buff in = { .mark = 1, .priority = 2, .ingress_ifindex = 3, .ifindex = 1,
				.cb = { 11, 0, 0, 0, 15 }, .tstamp = 99, .wire_len = 150,
				.gso_segs = 4, .gso_size = 1400, .hwtstamp = 77 };
	/* tc writes mark, priority, tc_index, cb[4] and tstamp; r0 = wire_len | gso_segs << 16 */
	struct tcase c = { .name = "tc ctx in/out", .type = BPFVM_PROG_TYPE_SCHED_CLS,
			   .data = pkt_v4, .data_len = 64, .ctx = &in, .ctx_len = sizeof(in),
			   .ctx_room = sizeof(in),
			   .text = "r0 = *(u32 *)(r1 + 160)\n"
				   "r2 = *(u32 *)(r1 + 164)\n"
				   "r2 <<= 16\n"
				   "r0 |= r2\n"
				   "*(u32 *)(r1 + 8) = 7\n"
				   "*(u32 *)(r1 + 32) = 9\n"
				   "*(u32 *)(r1 + 44) = 3\n"
				   "*(u32 *)(r1 + 64) = 5\n"
				   "r3 = 1234\n"
				   "*(u64 *)(r1 + 152) = r3\n"
				   "exit\n" };
	o = run_case(&c);
	if (o) {
		const struct __sk_buff *out = (const void *)o->ctx;
		CHECK_U64(o->retval, 150 | 4 << 16, "wire_len and gso_segs from ctx_in");
		CHECK(out->mark == 7 && out->priority == 9 && out->cb[4] == 5 && out->cb[0] == 11 &&
		      out->tstamp == 1234 && out->ingress_ifindex == 3 && out->ifindex == 1 &&
		      out->wire_len == 150 && out->gso_segs == 4 && out->gso_size == 1400 &&
		      out->hwtstamp == 77 && out->tc_index == 0 && out->len == 0,
		      "tc ctx_out");
	}
	c.name = "tc ctx_out only";
	c.ctx = NULL;
	c.ctx_len = 0;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 64, "wire_len defaults to len with a context");
	c.name = "tc no ctx";
	c.ctx_room = 0;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 0, "wire_len is 0 without a context");
	c = (struct tcase){ .name = "socket ctx in/out", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			    .data = pkt_v4, .data_len = 64, .ctx = &in, .ctx_len = sizeof(in),
			    .ctx_room = sizeof(in),
			    .text = "*(u32 *)(r1 + 52) = 5\nr0 = *(u32 *)(r1 + 0)\nexit\n" };
	o = run_case(&c);
	if (o) {
		const struct __sk_buff *out = (const void *)o->ctx;
		CHECK(o->retval == 50 && out->cb[1] == 5 && out->mark == 1, "socket ctx_out");
	}
	/* Fields ctx_in may not set, and bad values of those it may. */
	static const struct { const char *name; size_t off; int len; uint64_t v; int err; } e[] = {
		{ "len", SKB(len), 4, 1, -EINVAL },
		{ "protocol", SKB(protocol), 4, 8, -EINVAL },
		{ "tc_index", SKB(tc_index), 4, 1, -EINVAL },
		{ "data", SKB(data), 4, 1, -EINVAL },
		{ "tstamp_type", SKB(tstamp_type), 1, 1, -EINVAL },
		{ "sk", SKB(sk), 8, 1, -EINVAL },
		{ "wire_len below len", SKB(wire_len), 4, 63, -EINVAL },
		{ "wire_len 64", SKB(wire_len), 4, 64, 0 },
		{ "wire_len 65536", SKB(wire_len), 4, 65536, 0 },
		{ "wire_len 65537", SKB(wire_len), 4, 65537, -EINVAL },
		{ "gso_segs 65535", SKB(gso_segs), 4, 65535, 0 },
		{ "gso_segs 65536", SKB(gso_segs), 4, 65536, -EINVAL },
		{ "hwtstamp", SKB(hwtstamp), 8, 5, 0 },
	};
	for (size_t i = 0; i < N(e); i++) {
		uint8_t ctx[sizeof(struct __sk_buff)] = { 0 };
		memcpy(ctx + e[i].off, &e[i].v, (size_t)e[i].len);
		char name[64];
		snprintf(name, sizeof(name), "tc ctx_in %s", e[i].name);
		c = (struct tcase){ .name = name, .type = BPFVM_PROG_TYPE_SCHED_CLS,
				    .text = "r0 = 0\nexit\n", .data = pkt_v4, .data_len = 64,
				    .ctx = ctx, .ctx_len = sizeof(ctx), .ctx_room = sizeof(ctx) };
		o = run_case(&c);
		if (o)
			CHECK_U64(o->err, e[i].err, "%s", name);
	}
	/* Data sizes: an Ethernet header at least, a page minus head- and tailroom at most. */
	static const struct { uint32_t len; int err; } d[] = {
		{ 13, -EINVAL }, { 14, 0 }, { 3712, 0 }, { 3713, -EINVAL },
	};
	for (size_t i = 0; i < N(d); i++) {
		char name[64];
		snprintf(name, sizeof(name), "socket data %u", d[i].len);
		c = (struct tcase){ .name = name, .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
				    .text = "r0 = *(u32 *)(r1 + 0)\nexit\n", .data = big,
				    .data_len = d[i].len };
		o = run_case(&c);
		if (o)
			CHECK_U64(o->err, d[i].err, "%s", name);
	}
	/* Data errors come before context errors. */
	uint8_t bad_ctx[200] = { 0 };
	bad_ctx[199] = 1;
	c = (struct tcase){ .name = "socket long ctx_in", .type = BPFVM_PROG_TYPE_SOCKET_FILTER,
			    .text = "r0 = 0\nexit\n", .data = pkt_v4, .data_len = 64,
			    .ctx = bad_ctx, .ctx_len = sizeof(bad_ctx) };
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -E2BIG, "non-zero ctx_in tail");
	c.name = "socket short data, long ctx_in";
	c.data_len = 10;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EINVAL, "data checked first");
}

/* ---- Tracing types (bpfvm's own test runs) ------------------------------------------- */

static void trace_types(void)
{
	uint64_t regs[21] = { 0 };
	regs[14] = 42;		/* rdi */
	regs[13] = 7;		/* rsi */
	struct tcase c = { .name = "kprobe args", .type = BPFVM_PROG_TYPE_KPROBE,
			   .text = "r0 = *(u64 *)(r1 + 112)\nr2 = *(u64 *)(r1 + 104)\nr0 += r2\nexit\n",
			   .ctx = regs, .ctx_len = sizeof(regs), .ctx_room = sizeof(regs),
			   .no_kernel = true };
	const struct outcome *o = run_case(&c);
	if (o)
		CHECK(o->err == 0 && o->retval == 49 && o->ctx_size == 168 &&
		      !memcmp(o->ctx, regs, 168), "kprobe: PT_REGS_PARM1 + PARM2");
	c.name = "kprobe short ctx_in";
	c.ctx_len = 120;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->retval, 49, "kprobe: the rest of pt_regs is zero");
	c.name = "kprobe writes ctx";
	c.text = "*(u64 *)(r1 + 0) = 1\nr0 = 0\nexit\n";
	c.ctx_len = sizeof(regs);
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EFAULT, "pt_regs is read-only");
	c.name = "kprobe reads past pt_regs";
	c.text = "r0 = *(u64 *)(r1 + 168)\nexit\n";
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EFAULT, "pt_regs is 168 bytes");
	c.name = "kprobe with data";
	c.text = "r0 = 0\nexit\n";
	c.data = pkt_v4;
	c.data_len = 64;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EINVAL, "kprobe takes no data");

	/* A tracepoint record of 24 bytes: the region is exactly the record. */
	uint8_t rec[24];
	for (int i = 0; i < 24; i++)
		rec[i] = (uint8_t)(i + 1);
	c = (struct tcase){ .name = "tracepoint field", .type = BPFVM_PROG_TYPE_TRACEPOINT,
			    .text = "r0 = *(u64 *)(r1 + 16)\nexit\n", .ctx = rec,
			    .ctx_len = sizeof(rec), .no_kernel = true };
	o = run_case(&c);
	if (o)
		CHECK(o->err == 0 && o->retval == le32(rec + 16), "tracepoint: record field");
	c.name = "tracepoint past the record";
	c.text = "r0 = *(u8 *)(r1 + 24)\nexit\n";
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EFAULT, "tracepoint: the record's length bounds it");
	c.name = "tracepoint without a record";
	c.ctx = NULL;
	c.ctx_len = 0;
	o = run_case(&c);
	if (o)
		CHECK_U64(o->err, -EINVAL, "tracepoint: ctx_in is required");
}

/* ---- Running on an embedder's own context ------------------------------------------------ */

static void embedder_contexts(void)
{
#if defined(__x86_64__) && defined(MAP_32BIT)
	uint8_t *pkt = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	CHECK(pkt != MAP_FAILED, "MAP_32BIT");
	if (pkt == MAP_FAILED)
		return;
	memcpy(pkt + 100, pkt_v4, 64);
	struct xdp_md md = { .data = (uint32_t)(uintptr_t)(pkt + 100),
			     .data_end = (uint32_t)(uintptr_t)(pkt + 164) };
	static const struct { const char *name, *text; int err; uint64_t ret; } r[] = {
		{ "ethertype", xdp_ethertype, 0, 8 },
		{ "past the packet", "r2 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r2 + 0)\nexit\n",
		  -EFAULT, 0 },
		{ "adjust_head +14", "r2 = 14\ncall 44\nexit\n", 0, 0 },
		{ "adjust_head -4 (no headroom)", "r2 = -4\ncall 44\nexit\n", 0, (uint64_t)-EINVAL },
		{ "adjust_meta (no metadata)", "r2 = -4\ncall 54\nexit\n", 0, (uint64_t)-524 },
	};
	for (size_t i = 0; i < N(r); i++) {
		size_t cnt;
		struct bpf_insn *insns = assemble(r[i].name, r[i].text, &cnt);
		struct bpfvm_prog_opts po = { .sz = sizeof(po), .prog_type = BPFVM_PROG_TYPE_XDP };
		struct bpfvm_prog *p = insns ? bpfvm_prog__new(insns, cnt, &po) : NULL;
		CHECK(p != NULL, "embedder %s: program", r[i].name);
		uint64_t ret = 0;
		int err = p ? bpfvm_prog__run(p, &md, &ret) : -1;
		CHECK(err == r[i].err && (err || ret == r[i].ret), "embedder xdp %s: %d 0x%llx",
		      r[i].name, err, (unsigned long long)ret);
		bpfvm_prog__free(p);
		free(insns);
	}
	CHECK(md.data == (uint32_t)(uintptr_t)(pkt + 114), "adjust_head moved the caller's data");
	munmap(pkt, 4096);
#endif
	/* A tracepoint record through bpfvm_prog__run_opts: mem_len is its size. */
	uint64_t rec[3] = { 1, 2, 3 };
	size_t cnt;
	struct bpf_insn *insns = assemble("tp", "r0 = *(u64 *)(r1 + 16)\nexit\n", &cnt);
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .prog_type = BPFVM_PROG_TYPE_TRACEPOINT };
	struct bpfvm_prog *p = insns ? bpfvm_prog__new(insns, cnt, &po) : NULL;
	CHECK(p != NULL, "tracepoint program");
	if (p) {
		struct bpfvm_run_opts o = { .sz = sizeof(o), .mem = rec, .mem_len = sizeof(rec) };
		CHECK(bpfvm_prog__run_opts(p, &o) == 0 && o.retval == 3, "tracepoint run_opts");
		o.mem_len = 16;
		CHECK_U64(bpfvm_prog__run_opts(p, &o), -EFAULT, "a 16-byte record");
	}
	bpfvm_prog__free(p);
	free(insns);
}

static void sections(void)
{
	static const struct { const char *sec; long long type; } s[] = {
		{ "xdp", 6 }, { "xdp.frags", 6 }, { "xdp/devmap", 6 }, { "socket", 1 },
		{ "socket/filter", 1 }, { "tc", 3 }, { "tc/ingress", 3 }, { "classifier", 3 },
		{ "tcx/egress", 3 }, { "kprobe/do_sys_open", 2 }, { "kretprobe/x", 2 },
		{ "uprobe//bin/sh:main", 2 }, { "uretprobe/x", 2 },
		{ "tracepoint/syscalls/sys_enter_open", 5 }, { "tp/sched/sched_switch", 5 },
		{ "xdpfoo", -ENOENT }, { "tcp", -ENOENT },
	};
	for (size_t i = 0; i < N(s); i++)
		CHECK(bpfvm_prog_type__from_section(s[i].sec) == s[i].type, "SEC(\"%s\")", s[i].sec);
	static const char *const names[] = { "xdp", "socket_filter", "sched_cls", "kprobe",
					     "tracepoint" };
	static const uint32_t types[] = { 6, 1, 3, 2, 5 };
	for (size_t i = 0; i < N(names); i++) {
		CHECK_STR(bpfvm_prog_type__name(types[i]), names[i], "type %u", types[i]);
		CHECK(bpfvm_prog_type__from_name(names[i]) == types[i], "%s", names[i]);
	}
}

/* Packet memory: below 4 GiB, page-aligned, zeroed, also when it comes from the
 * per-thread cache. */
static void lowmem(void)
{
	static const size_t sizes[] = { 1, 4096, 4096, 5000, 1 << 20, 4096 };
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < N(sizes); i++) {
		uint8_t *p = vm_lowmem_alloc(sizes[i]);
		uintptr_t a = (uintptr_t)p;
		CHECK(p && a % (uintptr_t)page == 0 && (uint64_t)a + sizes[i] <= UINT64_C(1) << 32,
		      "lowmem %zu: %p", sizes[i], (void *)p);
		if (!p)
			continue;
		bool zero = true;
		for (size_t k = 0; k < sizes[i]; k++)
			zero = zero && !p[k];
		CHECK(zero, "lowmem %zu: zeroed", sizes[i]);
		memset(p, 0xab, sizes[i]);	/* dirty it for the cache */
		vm_lowmem_free(p, sizes[i]);
	}
	CHECK(vm_lowmem_alloc(0) == NULL, "lowmem 0");
	vm_lowmem_free(NULL, 4096);
}

/* Whether the engines run LD_ABS yet (another engineer's work in progress). */
static bool probe_ld_abs(void)
{
	size_t cnt;
	struct bpf_insn *insns = assemble("ld_abs probe", "r6 = r1\nr0 = *(u8 *)skb[14]\nexit\n",
					  &cnt);
	struct bpfvm_prog_opts po = { .sz = sizeof(po), .prog_type = BPFVM_PROG_TYPE_SOCKET_FILTER };
	bpfvm_set_log(NULL, NULL);
	struct bpfvm_prog *p = insns ? bpfvm_prog__new(insns, cnt, &po) : NULL;
	bool ok = p != NULL;
	for (size_t e = 0; ok && e < N(engines); e++) {
		if (!bpfvm_engine_available(engines[e]))
			continue;
		struct bpfvm_test_run_opts t = { .sz = sizeof(t), .data_in = pkt_v4,
						 .data_size_in = 64, .engine = engines[e] };
		ok = bpfvm_prog__test_run(p, &t) == 0 && t.retval == pkt_v4[28];
	}
	test_log_capture();
	bpfvm_prog__free(p);
	free(insns);
	return ok;
}

int main(void)
{
	char reason[256];
	test_log_capture();
	make_packets();
	klog = malloc(LOG_SIZE);
	if (!klog)
		return 1;
	have_kernel = kbpf_probe(reason, sizeof(reason)) == 0;
	if (!have_kernel)
		printf("test_progtypes: no kernel differential: bpf() unavailable (%s)\n", reason);
	have_ld_abs = probe_ld_abs();
	if (!have_ld_abs)
		printf("test_progtypes: the engines do not run LD_ABS yet: those cases are "
		       "skipped\n");

	lowmem();
	sections();
	xdp_basics();
	xdp_helpers();
	xdp_ctx();
	xdp_frags();
	xdp_errors();
	xdp_checked();
	xdp_tail_call();
	skb_fields();
	skb_data();
	skb_ld_abs();
	skb_load_bytes();
	skb_ctx();
	trace_types();
	embedder_contexts();

	if (have_kernel)
		printf("kernel differential: %u cases agree, %u disagree\n", n_kernel_agree,
		       n_kernel_disagree);
	if (n_ld_abs_skipped)
		printf("%u LD_ABS cases skipped\n", n_ld_abs_skipped);
	free(klog);
	return test_summary();
}
