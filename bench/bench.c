/*
 * bench.c — bpfvm-bench: every benchmark program (bench/progs/NAME.c) timed on each
 * engine of the table below, side by side in one table:
 *
 *   native   the same C source compiled by the host compiler into this runner
 *   interp   bpfvm's interpreter (bpfvm_prog__run_opts, checked mode, repeat)
 *   kernel   the Linux kernel's JIT through BPF_PROG_TEST_RUN (tests/kernel_bpf.c),
 *            where bpf() works; "rejected" when its verifier refuses the program
 *
 * The BPF side of a program is progs/NAME.bin, the instructions clang produced from
 * the same source (extracted at build time; see bench/CMakeLists.txt). Every program
 * runs on the same deterministic input on every engine, and every engine's result (r0
 * and final memory) must equal native's: a mismatch makes the exit status 1.
 *
 * Timing of a row: every engine is warmed up and its batch size calibrated so that
 * one batch takes --min-time / --rounds; then each round runs one batch on every
 * engine in turn (interleaved, so a burst of load from other work on the machine
 * slows every column of the row alike), and a cell is its engine's best batch
 * mean over the rounds. Native and
 * bpfvm cells are wall time over the batch divided by its runs; the kernel cell is the
 * kernel's own mean (BPF_PROG_TEST_RUN's duration), which excludes the system call.
 * The input is regenerated before each batch; programs that write into memory are
 * idempotent, so runs within a batch see the same input.
 *
 * Usage: bpfvm-bench [--filter NAME] [--min-time MS] [--rounds N] [--progs DIR] [--no-kernel] [-j]
 */
#define _GNU_SOURCE
#include "kernel_bpf.h"	/* before the bpfvm headers: brings <linux/bpf.h> */

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bench_util.h"

#ifndef BENCH_PROG_DIR
#define BENCH_PROG_DIR "bench/progs"
#endif

/* ---- the programs ------------------------------------------------------------ */

typedef uint64_t (*bench_fn)(uint8_t *mem, uint64_t len);

#define BENCH_PROTO(name) uint64_t bench_##name(uint8_t *mem, uint64_t len);
BENCH_PROTO(empty)
BENCH_PROTO(xorshift)
BENCH_PROTO(checksum)
BENCH_PROTO(parse)
BENCH_PROTO(sieve)
BENCH_PROTO(memcmp)
BENCH_PROTO(switch)
BENCH_PROTO(bits)
BENCH_PROTO(bswap)
BENCH_PROTO(calls)

static void init_random(uint8_t *mem, size_t len);
static void init_packets(uint8_t *mem, size_t len);
static void init_halves(uint8_t *mem, size_t len);

static const struct prog_def {
	const char *name;
	bench_fn native;
	size_t mem_len;
	void (*init)(uint8_t *mem, size_t len);
} progs[] = {
	{ "empty",	bench_empty,	64,	init_random },
	{ "xorshift",	bench_xorshift,	64,	init_random },
	{ "checksum",	bench_checksum,	1500,	init_random },
	{ "parse",	bench_parse,	64 * 64, init_packets },
	{ "sieve",	bench_sieve,	2048,	init_random },
	{ "memcmp",	bench_memcmp,	4096,	init_halves },
	{ "switch",	bench_switch,	1024,	init_random },
	{ "bits",	bench_bits,	2048,	init_random },
	{ "bswap",	bench_bswap,	2048,	init_random },
	{ "calls",	bench_calls,	1024,	init_random },
};
#define N_PROGS (sizeof(progs) / sizeof(progs[0]))

/* Deterministic inputs: splitmix64 from a fixed seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void init_random(uint8_t *mem, size_t len)
{
	uint64_t s = 42;
	size_t i;

	for (i = 0; i < len; i++)
		mem[i] = (uint8_t)rng_next(&s);
}

/* The two halves equal but for the last byte: memcmp scans all of it. */
static void init_halves(uint8_t *mem, size_t len)
{
	size_t half = len / 2;

	init_random(mem, half);
	memcpy(mem + half, mem, half);
	if (half)
		mem[2 * half - 1] ^= 0x5a;
}

/* 64-byte Ethernet frames: mostly IPv4/TCP (some with IP options, some SYNs), and
 * some UDP, IPv6, fragments and bad headers for the parser to drop. */
static void init_packets(uint8_t *mem, size_t len)
{
	uint64_t s = 7;
	size_t off;

	memset(mem, 0, len);
	for (off = 0; off + 64 <= len; off += 64) {
		uint8_t *f = mem + off, *ip = f + 14, *tcp;
		uint64_t r = rng_next(&s), r2 = rng_next(&s);
		unsigned kind = (unsigned)(r % 16), ihl = (r >> 8) % 4 == 0 ? 6 : 5;

		memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
		f[12] = 0x08;
		f[13] = 0x00;
		ip[0] = (uint8_t)(0x40 | ihl);
		ip[2] = 0;
		ip[3] = 46;
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, &r2, 8);		/* addresses */
		tcp = ip + ihl * 4;
		tcp[0] = (uint8_t)(r >> 16);
		tcp[1] = (uint8_t)(r >> 24);
		tcp[2] = 0;
		tcp[3] = (uint8_t)((r >> 32) % 4 == 0 ? 80 : 443);
		tcp[12] = 0x50;
		tcp[13] = (r >> 40) % 8 == 0 ? 0x02 : 0x10;
		switch (kind) {
		case 0: f[12] = 0x86; f[13] = 0xdd; break;	/* IPv6 */
		case 1: ip[9] = 17; break;			/* UDP */
		case 2: ip[6] = 0x20; break;			/* more fragments */
		case 3: ip[0] = 0x44; break;			/* IHL too small */
		default: break;
		}
	}
}

/* ---- the engines ------------------------------------------------------------- */

enum eng_kind { ENG_NATIVE, ENG_BPFVM, ENG_KERNEL };

/* One column each; the JIT adds one line. Native is the reference every other
 * engine's result is checked against and the denominator of the ratio columns. */
static const struct engine_def {
	const char *name;
	enum eng_kind kind;
	enum bpfvm_engine bpfvm;	/* ENG_BPFVM */
} engines[] = {
	{ "interp", ENG_BPFVM, BPFVM_ENGINE_INTERP },
	{ "jit", ENG_BPFVM, BPFVM_ENGINE_JIT },
	{ "native", ENG_NATIVE, BPFVM_ENGINE_DEFAULT },
	{ "kernel", ENG_KERNEL, BPFVM_ENGINE_DEFAULT },
};
#define N_ENGINES (sizeof(engines) / sizeof(engines[0]))

enum cell_state {
	CELL_OK,
	CELL_UNAVAILABLE,	/* kernel: no bpf() here, or --no-kernel */
	CELL_REJECTED,		/* kernel: the verifier refused it */
	CELL_ERROR,		/* could not load or run: a failure */
	CELL_MISMATCH,		/* ran, but the result differs from native's: a failure */
};

struct cell {
	enum cell_state state;
	double ns;		/* per run, CELL_OK */
	char note[256];		/* why not CELL_OK */
};

struct row {
	const struct prog_def *def;
	size_t insn_cnt;
	struct cell cell[N_ENGINES];
	double jit_us_per_kinsn;	/* JIT compile time per 1,000 instructions; 0 = n/a */
};

/* What one batch of runs needs. */
struct runner {
	enum eng_kind kind;
	const struct prog_def *def;
	uint8_t *mem;
	struct bpfvm_prog *prog;	/* ENG_BPFVM */
	enum bpfvm_engine engine;
	struct kbpf_raw kr;		/* ENG_KERNEL */
	uint64_t r0;			/* of the batch's last run */
};

static volatile uint64_t sink;

/* Runs n times on a fresh input. 0 with *per_run (ns) and *wall (ns of the whole
 * batch), or a negative errno with a message in err. */
static int run_batch(struct runner *r, uint32_t n, double *per_run, double *wall,
		     char *err, size_t errlen)
{
	const struct prog_def *d = r->def;
	double t0, t1;
	uint32_t i;
	int rc;

	d->init(r->mem, d->mem_len);
	switch (r->kind) {
	case ENG_NATIVE: {
		uint64_t acc = 0, v = 0;

		t0 = now_ns();
		for (i = 0; i < n; i++) {
			v = d->native(r->mem, d->mem_len);
			acc += v;
		}
		t1 = now_ns();
		sink = acc;
		r->r0 = v;
		*wall = t1 - t0;
		*per_run = *wall / n;
		return 0;
	}
	case ENG_BPFVM: {
		struct bpfvm_run_opts o;

		memset(&o, 0, sizeof(o));
		o.sz = sizeof(o);
		o.mem = r->mem;
		o.mem_len = d->mem_len;
		o.engine = r->engine;
		o.repeat = n;
		t0 = now_ns();
		rc = bpfvm_prog__run_opts(r->prog, &o);
		t1 = now_ns();
		if (rc < 0) {
			char f[192];

			bpfvm_fault__str(&o.fault, f, sizeof(f));
			snprintf(err, errlen, "run: %s (%s)", strerror(-rc), f);
			return rc;
		}
		r->r0 = o.retval;
		*wall = t1 - t0;
		*per_run = *wall / n;
		return 0;
	}
	case ENG_KERNEL: {
		uint32_t dur = 0;

		t0 = now_ns();
		rc = kbpf_raw_run(&r->kr, r->mem, n, &r->r0, &dur);
		t1 = now_ns();
		if (rc < 0) {
			snprintf(err, errlen, "BPF_PROG_TEST_RUN: %s", strerror(-rc));
			return rc;
		}
		*wall = t1 - t0;
		*per_run = dur;
		return 0;
	}
	}
	return -EINVAL;
}

/* Warm up and calibrate: *n runs make a batch of about target_ns. */
static int calibrate(struct runner *r, double target_ns, uint32_t *n_out, char *err,
		     size_t errlen)
{
	double per, wall;
	uint32_t n = 1;
	int rc;

	rc = run_batch(r, 1, &per, &wall, err, errlen);		/* warm up */
	if (rc < 0)
		return rc;
	for (;;) {
		double scale;

		rc = run_batch(r, n, &per, &wall, err, errlen);
		if (rc < 0)
			return rc;
		if (wall >= target_ns || n >= (1u << 30))
			break;
		scale = wall > 1000 ? target_ns / wall * 1.2 : 100;
		if (scale < 2)
			scale = 2;
		if (scale > 100)
			scale = 100;
		n = (double)n * scale > (double)(1u << 30) ? (1u << 30) : (uint32_t)(n * scale);
	}
	*n_out = n;
	return 0;
}

/* Reads DIR/NAME.bin. */
static struct bpf_insn *load_bin(const char *dir, const char *name, size_t *cnt,
				 char *err, size_t errlen)
{
	char path[1024];
	struct bpf_insn *insns = NULL;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || size % 8 != 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: not a whole number of instructions", path);
		fclose(f);
		return NULL;
	}
	insns = malloc((size_t)size);
	if (!insns || fread(insns, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "%s: read failed", path);
		free(insns);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*cnt = (size_t)size / 8;
	return insns;
}

/* Checks the runner's result against native's: r0 and final memory of one run on
 * a fresh input. */
static bool check_result(struct runner *r, uint64_t ref_r0, const uint8_t *ref_mem,
			 struct cell *c)
{
	double per, wall;

	if (run_batch(r, 1, &per, &wall, c->note, sizeof(c->note)) < 0) {
		c->state = CELL_ERROR;
		return false;
	}
	if (r->r0 != ref_r0) {
		c->state = CELL_MISMATCH;
		snprintf(c->note, sizeof(c->note), "r0 = 0x%llx, native 0x%llx",
			 (unsigned long long)r->r0, (unsigned long long)ref_r0);
		return false;
	}
	if (memcmp(r->mem, ref_mem, r->def->mem_len) != 0) {
		c->state = CELL_MISMATCH;
		snprintf(c->note, sizeof(c->note), "final memory differs from native's");
		return false;
	}
	return true;
}

/* Loads the program on engine e and checks one run's result against native's.
 * false (with the cell's state and note set) if the cell will not be timed. */
static bool cell_open(struct runner *r, const struct engine_def *e, const struct prog_def *d,
		      const struct bpf_insn *insns, size_t cnt, uint8_t *mem, uint64_t ref_r0,
		      const uint8_t *ref_mem, bool kernel_ok, const char *kernel_why,
		      struct cell *c)
{
	char log[1 << 16];
	int rc;

	memset(r, 0, sizeof(*r));
	r->kind = e->kind;
	r->def = d;
	r->mem = mem;
	r->engine = e->bpfvm;
	r->kr.mem_map_fd = r->kr.res_map_fd = r->kr.prog_fd = -1;
	c->state = CELL_OK;
	c->note[0] = 0;
	c->ns = INFINITY;

	switch (e->kind) {
	case ENG_NATIVE:
		return true;
	case ENG_BPFVM: {
		struct bpfvm_prog_opts o = { .sz = sizeof(o), .name = d->name };

		last_log[0] = 0;
		r->prog = bpfvm_prog__new(insns, cnt, &o);
		if (!r->prog) {
			c->state = CELL_ERROR;
			snprintf(c->note, sizeof(c->note), "load: %.200s",
				 last_log[0] ? last_log : strerror(errno));
			return false;
		}
		break;
	}
	case ENG_KERNEL:
		if (!kernel_ok) {
			c->state = CELL_UNAVAILABLE;
			snprintf(c->note, sizeof(c->note), "%s", kernel_why);
			return false;
		}
		rc = kbpf_raw_load(&r->kr, insns, cnt, d->mem_len, log, sizeof(log));
		if (rc < 0) {
			char why[200];

			kbpf_log_reason(log, why, sizeof(why));
			c->state = CELL_REJECTED;
			snprintf(c->note, sizeof(c->note), "%s", why[0] ? why : strerror(-rc));
			return false;
		}
		break;
	}
	return check_result(r, ref_r0, ref_mem, c);
}

static void cell_close(struct runner *r)
{
	bpfvm_prog__free(r->prog);
	r->prog = NULL;
	kbpf_raw_close(&r->kr);
}

/* Times one program on every engine: each engine's batch is calibrated to
 * min_time / rounds, then the rounds run every engine's batch in turn, so a burst
 * of load on the shared machine slows all columns alike; a cell is its engine's
 * best batch mean. */
static void bench_row(const struct prog_def *d, const struct bpf_insn *insns, size_t cnt,
		      uint8_t *mem, uint64_t ref_r0, const uint8_t *ref_mem, bool kernel_ok,
		      const char *kernel_why, double min_time_ns, unsigned rounds,
		      struct cell *cells)
{
	struct runner r[N_ENGINES];
	bool live[N_ENGINES];
	uint32_t n[N_ENGINES];
	double per, wall;
	size_t e;

	for (e = 0; e < N_ENGINES; e++) {
		live[e] = cell_open(&r[e], &engines[e], d, insns, cnt, mem, ref_r0, ref_mem,
				    kernel_ok, kernel_why, &cells[e]);
		if (live[e] && calibrate(&r[e], min_time_ns / rounds, &n[e], cells[e].note,
					 sizeof(cells[e].note)) < 0) {
			cells[e].state = CELL_ERROR;
			live[e] = false;
		}
	}
	for (unsigned k = 0; k < rounds; k++) {
		for (e = 0; e < N_ENGINES; e++) {
			if (!live[e])
				continue;
			if (run_batch(&r[e], n[e], &per, &wall, cells[e].note,
				      sizeof(cells[e].note)) < 0) {
				cells[e].state = CELL_ERROR;
				live[e] = false;
				continue;
			}
			if (r[e].r0 != ref_r0) {	/* a batch's last run must agree too */
				cells[e].state = CELL_MISMATCH;
				snprintf(cells[e].note, sizeof(cells[e].note),
					 "r0 = 0x%llx after repeated runs, native 0x%llx",
					 (unsigned long long)r[e].r0, (unsigned long long)ref_r0);
				live[e] = false;
				continue;
			}
			if (per < cells[e].ns)
				cells[e].ns = per;
		}
	}
	for (e = 0; e < N_ENGINES; e++)
		cell_close(&r[e]);
}

/* ---- output ------------------------------------------------------------------ */

static const char *cell_str(const struct cell *c, char *buf, size_t len)
{
	switch (c->state) {
	case CELL_OK:
		if (c->ns < 10)
			snprintf(buf, len, "%.2f", c->ns);
		else if (c->ns < 1000)
			snprintf(buf, len, "%.1f", c->ns);
		else
			snprintf(buf, len, "%.0f", c->ns);
		return buf;
	case CELL_UNAVAILABLE: return "n/a";
	case CELL_REJECTED: return "rejected";
	case CELL_ERROR: return "ERROR";
	case CELL_MISMATCH: return "MISMATCH";
	}
	return "?";
}

static size_t kind_col(enum eng_kind kind)
{
	size_t e;

	for (e = 0; e < N_ENGINES; e++)
		if (engines[e].kind == kind)
			return e;
	return 0;
}
static size_t native_col(void) { return kind_col(ENG_NATIVE); }

/* The JIT's column, or N_ENGINES. */
static size_t jit_col(void)
{
	size_t e;

	for (e = 0; e < N_ENGINES; e++)
		if (engines[e].kind == ENG_BPFVM && engines[e].bpfvm == BPFVM_ENGINE_JIT)
			return e;
	return N_ENGINES;
}

/* JIT compile time: bpfvm_prog__new with the JIT minus without, best of 20. */
static double jit_compile_us_per_kinsn(const struct bpf_insn *insns, size_t cnt)
{
	struct bpfvm_prog_opts nojit = { .sz = sizeof(nojit), .no_jit = true };
	double best[2] = { INFINITY, INFINITY };

	if (!bpfvm_engine_available(BPFVM_ENGINE_JIT))
		return 0;
	for (int k = 0; k < 40; k++) {
		double t0 = now_ns();
		struct bpfvm_prog *p = bpfvm_prog__new(insns, cnt, k & 1 ? &nojit : NULL);
		double t = now_ns() - t0;

		if (!p)
			return 0;
		bpfvm_prog__free(p);
		if (t < best[k & 1])
			best[k & 1] = t;
	}
	return (best[0] - best[1]) / 1e3 / (double)cnt * 1000;
}

static void print_header(void)
{
	size_t e;
	char h[64];

	printf("%-10s %6s", "program", "insns");
	for (e = 0; e < N_ENGINES; e++) {
		snprintf(h, sizeof(h), "%s ns", engines[e].name);
		printf(" %11s", h);
	}
	for (e = 0; e < N_ENGINES; e++) {
		if (engines[e].kind != ENG_BPFVM)
			continue;
		snprintf(h, sizeof(h), "%s/native", engines[e].name);
		printf(" %14s", h);
	}
	if (jit_col() < N_ENGINES)
		printf(" %10s %12s", "jit/kernel", "jit us/1k");
	printf("\n");
}

static void print_row(const struct row *r)
{
	size_t e, nat = native_col();
	char buf[64];

	printf("%-10s %6zu", r->def->name, r->insn_cnt);
	for (e = 0; e < N_ENGINES; e++)
		printf(" %11s", cell_str(&r->cell[e], buf, sizeof(buf)));
	for (e = 0; e < N_ENGINES; e++) {
		if (engines[e].kind != ENG_BPFVM)
			continue;
		if (r->cell[e].state == CELL_OK && r->cell[nat].state == CELL_OK)
			printf(" %14.2f", r->cell[e].ns / r->cell[nat].ns);
		else
			printf(" %14s", "-");
	}
	size_t j = jit_col(), k = kind_col(ENG_KERNEL);
	if (j < N_ENGINES) {
		if (r->cell[j].state == CELL_OK && r->cell[k].state == CELL_OK)
			printf(" %10.2f", r->cell[j].ns / r->cell[k].ns);
		else
			printf(" %10s", "-");
		printf(" %12.1f", r->jit_us_per_kinsn);
	}
	printf("\n");
	fflush(stdout);
}

/* Geometric mean of engine e's column (ratio to native if ratio), over the rows that
 * have a value. *n = how many. */
static double geomean_vs(const struct row *rows, size_t nrows, size_t e, bool ratio,
			 size_t nat, size_t *n)
{
	size_t i;
	double s = 0;

	*n = 0;
	for (i = 0; i < nrows; i++) {
		const struct cell *c = &rows[i].cell[e];
		double v;

		if (c->state != CELL_OK || c->ns <= 0)
			continue;
		v = c->ns;
		if (ratio) {
			if (rows[i].cell[nat].state != CELL_OK || rows[i].cell[nat].ns <= 0)
				continue;
			v /= rows[i].cell[nat].ns;
		}
		s += log(v);
		(*n)++;
	}
	return *n ? exp(s / (double)*n) : 0;
}

static double geomean(const struct row *rows, size_t nrows, size_t e, bool ratio, size_t *n)
{
	return geomean_vs(rows, nrows, e, ratio, native_col(), n);
}

static void print_geomean(const struct row *rows, size_t nrows)
{
	size_t e, n;
	char buf[64];
	struct cell c;

	printf("%-10s %6s", "geomean", "");
	for (e = 0; e < N_ENGINES; e++) {
		c.state = CELL_OK;
		c.ns = geomean(rows, nrows, e, false, &n);
		printf(" %11s", n ? cell_str(&c, buf, sizeof(buf)) : "-");
	}
	for (e = 0; e < N_ENGINES; e++) {
		double g;

		if (engines[e].kind != ENG_BPFVM)
			continue;
		g = geomean(rows, nrows, e, true, &n);
		if (n)
			printf(" %14.2f", g);
		else
			printf(" %14s", "-");
	}
	size_t j = jit_col();
	if (j < N_ENGINES) {
		double g = geomean_vs(rows, nrows, j, true, kind_col(ENG_KERNEL), &n), sl = 0;
		size_t m = 0;

		if (n)
			printf(" %10.2f", g);
		else
			printf(" %10s", "-");
		for (size_t i = 0; i < nrows; i++)
			if (rows[i].jit_us_per_kinsn > 0) {
				sl += log(rows[i].jit_us_per_kinsn);
				m++;
			}
		printf(" %12.1f", m ? exp(sl / (double)m) : 0.0);
	}
	printf("\n");
	for (e = 0; e < N_ENGINES; e++) {
		geomean(rows, nrows, e, false, &n);
		if (n && n < nrows)
			printf("(%s: geomean of the %zu programs it ran)\n", engines[e].name, n);
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static const char *state_name(enum cell_state s)
{
	static const char *const names[] = {
		"ok", "unavailable", "rejected", "error", "mismatch",
	};
	return names[s];
}

static void print_json(const struct row *rows, size_t nrows, const char *date,
		       double min_time_ms)
{
	size_t i, e, n;

	printf("{\n  \"date\": ");
	json_str(date);
	printf(",\n  \"min_time_ms\": %.0f,\n  \"programs\": [\n", min_time_ms);
	for (i = 0; i < nrows; i++) {
		printf("    {\"name\": ");
		json_str(rows[i].def->name);
		printf(", \"insns\": %zu, \"mem_len\": %zu, \"engines\": {", rows[i].insn_cnt,
		       rows[i].def->mem_len);
		for (e = 0; e < N_ENGINES; e++) {
			const struct cell *c = &rows[i].cell[e];

			printf("%s\"%s\": {\"state\": \"%s\"", e ? ", " : "", engines[e].name,
			       state_name(c->state));
			if (c->state == CELL_OK)
				printf(", \"ns\": %.3f", c->ns);
			if (c->note[0]) {
				printf(", \"note\": ");
				json_str(c->note);
			}
			printf("}");
		}
		printf("}}%s\n", i + 1 < nrows ? "," : "");
	}
	printf("  ],\n  \"geomean_ns\": {");
	for (e = 0; e < N_ENGINES; e++) {
		double g = geomean(rows, nrows, e, false, &n);

		printf("%s\"%s\": ", e ? ", " : "", engines[e].name);
		if (n)
			printf("%.3f", g);
		else
			printf("null");
	}
	printf("}\n}\n");
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--filter NAME] [--min-time MS] [--rounds N] [--progs DIR] [--no-kernel] [-j]\n"
		"  --filter NAME   only the programs whose name contains NAME\n"
		"  --min-time MS   time spent per cell (default 200)\n"
		"  --rounds N      interleaved rounds per row; a cell is its best (default 10)\n"
		"  --progs DIR     where the NAME.bin programs are (default %s)\n"
		"  --no-kernel     do not run programs in the kernel\n"
		"  -j, --json      JSON instead of the table\n",
		argv0, BENCH_PROG_DIR);
}

int main(int argc, char **argv)
{
	const char *filter = NULL, *dir = BENCH_PROG_DIR;
	double min_time_ms = 200;
	unsigned rounds = 10;
	bool json = false, no_kernel = false, kernel_ok = false, failed = false;
	char kernel_why[256] = "", date[64], err[2048];
	struct row rows[N_PROGS];
	size_t nrows = 0, i, e;
	struct utsname un;
	time_t t = time(NULL);
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--filter") && a + 1 < argc) {
			filter = argv[++a];
		} else if (!strcmp(argv[a], "--min-time") && a + 1 < argc) {
			char *end;
			min_time_ms = strtod(argv[++a], &end);
			if (*end || !(min_time_ms > 0)) {
				fprintf(stderr, "bpfvm-bench: bad --min-time '%s'\n", argv[a]);
				return 2;
			}
		} else if (!strcmp(argv[a], "--rounds") && a + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++a], &end, 10);
			if (*end || v < 1 || v > 1000) {
				fprintf(stderr, "bpfvm-bench: bad --rounds '%s' (1-1000)\n", argv[a]);
				return 2;
			}
			rounds = (unsigned)v;
		} else if (!strcmp(argv[a], "--progs") && a + 1 < argc) {
			dir = argv[++a];
		} else if (!strcmp(argv[a], "--no-kernel")) {
			no_kernel = true;
		} else if (!strcmp(argv[a], "-j") || !strcmp(argv[a], "--json")) {
			json = true;
		} else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			usage(stderr, argv[0]);
			return 2;
		}
	}
	bpfvm_set_log(log_fn, NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));

	if (no_kernel) {
		snprintf(kernel_why, sizeof(kernel_why), "--no-kernel");
	} else {
		char why[200];
		kernel_ok = kbpf_probe(why, sizeof(why)) == 0;
		if (!kernel_ok)
			snprintf(kernel_why, sizeof(kernel_why), "bpf() unavailable (%s)", why);
	}
	if (!json) {
		printf("bpfvm-bench %s", date);
		if (uname(&un) == 0)
			printf(", %s %s %s", un.sysname, un.release, un.machine);
		printf(", %.0f ms per cell; ns per run, best of %u interleaved rounds%s%s\n\n",
		       min_time_ms, rounds, kernel_ok ? "" : "; kernel: ", kernel_why);
		print_header();
	}

	for (i = 0; i < N_PROGS; i++) {
		const struct prog_def *d = &progs[i];
		struct row *r = &rows[nrows];
		struct bpf_insn *insns;
		uint8_t *mem, *ref_mem;
		uint64_t ref_r0;
		size_t cnt, alloc;

		if (filter && !strstr(d->name, filter))
			continue;
		insns = load_bin(dir, d->name, &cnt, err, sizeof(err));
		if (!insns) {
			fprintf(stderr, "bpfvm-bench: %s\n", err);
			failed = true;
			continue;
		}
		alloc = (d->mem_len + 4095) & ~(size_t)4095;
		mem = aligned_alloc(4096, alloc);
		ref_mem = malloc(d->mem_len);
		if (!mem || !ref_mem) {
			fprintf(stderr, "bpfvm-bench: out of memory\n");
			return 1;
		}
		d->init(mem, d->mem_len);
		ref_r0 = d->native(mem, d->mem_len);
		memcpy(ref_mem, mem, d->mem_len);

		memset(r, 0, sizeof(*r));
		r->def = d;
		r->insn_cnt = cnt;
		r->jit_us_per_kinsn = jit_compile_us_per_kinsn(insns, cnt);
		bench_row(d, insns, cnt, mem, ref_r0, ref_mem, kernel_ok, kernel_why,
			  min_time_ms * 1e6, rounds, r->cell);
		for (e = 0; e < N_ENGINES; e++)
			if (r->cell[e].state == CELL_ERROR || r->cell[e].state == CELL_MISMATCH)
				failed = true;
		nrows++;
		if (!json)
			print_row(r);
		free(insns);
		free(mem);
		free(ref_mem);
	}

	if (json) {
		print_json(rows, nrows, date, min_time_ms);
	} else {
		print_geomean(rows, nrows);
		/* Why cells are empty. */
		for (i = 0; i < nrows; i++) {
			for (e = 0; e < N_ENGINES; e++) {
				const struct cell *c = &rows[i].cell[e];
				if (c->state == CELL_OK || c->state == CELL_UNAVAILABLE)
					continue;
				printf("%s/%s: %s%s%s\n", rows[i].def->name, engines[e].name,
				       state_name(c->state), c->note[0] ? ": " : "", c->note);
			}
		}
	}
	if (failed)
		fprintf(stderr, "bpfvm-bench: FAILED: an engine's result differs from "
			"native's or a program did not run (see above)\n");
	return failed ? 1 : 0;
}
