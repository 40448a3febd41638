/*
 * prog_run.c — see prog_run.h. Output follows bpftool prog run: output data and
 * context first ("-" prints them: a hex dump, or byte arrays in JSON), then
 * "Return value: N, duration (average): Mns" (or "retval"/"duration" in JSON).
 * Ring-buffer records are printed as they arrive: in text, a consumer thread
 * polls the object's ring buffers while the program runs; in JSON (one document)
 * they are consumed after each run (the runs of --repeat are then made one at a
 * time, so a buffer never has to hold more than one run's records).
 * trace_printk lines are printed by the running thread as the program writes
 * them.
 */
#include "prog_run.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "objutil.h"
#include "util.h"

#define DEFAULT_OUT_SIZE (32u * 1024)	/* bpftool's default room for output */
#define MAX_RINGBUFS 64

void run_args_help(FILE *f)
{
	fprintf(f,
		"  --data-in FILE      packet (or a raw program's memory) from FILE ('-' = stdin)\n"
		"  --data-hex HEX      the same given as hex bytes, e.g. \"aa bb 01\"\n"
		"  --ctx-in FILE       context (struct xdp_md, __sk_buff, ...) from FILE\n"
		"  --ctx-hex HEX       the same given as hex bytes\n"
		"  --data-out FILE     write the packet as the program left it ('-' = print)\n"
		"  --ctx-out FILE      write the context as the program left it ('-' = print)\n"
		"  --data-size-out N   room for the output packet (default %u)\n"
		"  --ctx-size-out N    room for the output context (default %u)\n"
		"  --repeat N          run N times; the duration is the mean\n"
		"  --interp | --jit    the interpreter, or the x86-64 JIT (the default)\n"
		"  --engine NAME       jit, interp, switch (interpreter with switch dispatch)\n"
		"  --budget N          stop a run after N instructions (default %llu; 0 = none)\n"
		"  --btf FILE          BTF to resolve CO-RE relocations against (e.g.\n"
		"                      /sys/kernel/btf/vmlinux)\n"
		"  --dump MAP          print MAP after the run (repeatable)\n"
		"  -j, --json          print JSON\n"
		"  -p, --pretty        print indented JSON (implies -j)\n",
		DEFAULT_OUT_SIZE, DEFAULT_OUT_SIZE, CLI_DEFAULT_BUDGET);
}

static int parse_size(const char *sub, const char *opt, const char *arg, uint64_t min,
		      uint64_t max, uint64_t *v)
{
	if (parse_u64(arg, v) < 0 || *v < min || *v > max)
		return usage_error(sub, "%s needs a number from %" PRIu64 " to %" PRIu64 ", not '%s'",
				   opt, min, max, arg);
	return 0;
}

int run_args_parse(const char *sub, int argc, char **argv, struct run_args *a, int *first,
		   void (*help)(FILE *))
{
	static const struct option longopts[] = {
		{ "data-in", required_argument, NULL, 'd' },
		{ "data-hex", required_argument, NULL, 'D' },
		{ "ctx-in", required_argument, NULL, 'c' },
		{ "ctx-hex", required_argument, NULL, 'C' },
		{ "data-out", required_argument, NULL, 'o' },
		{ "ctx-out", required_argument, NULL, 'O' },
		{ "data-size-out", required_argument, NULL, 's' },
		{ "ctx-size-out", required_argument, NULL, 'S' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'b' },
		{ "interp", no_argument, NULL, 'i' },
		{ "jit", no_argument, NULL, 'J' },
		{ "engine", required_argument, NULL, 'e' },
		{ "btf", required_argument, NULL, 'B' },
		{ "dump", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c, err;
	memset(a, 0, sizeof(*a));
	a->repeat = 1;
	a->budget = CLI_DEFAULT_BUDGET;
	a->data_size_out = a->ctx_size_out = DEFAULT_OUT_SIZE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jph", longopts, NULL)) != -1) {
		a->run_opts |= !strchr("jpBh", c);
		switch (c) {
		case 'd': a->data_in = optarg; break;
		case 'D': a->data_hex = optarg; break;
		case 'c': a->ctx_in = optarg; break;
		case 'C': a->ctx_hex = optarg; break;
		case 'o': a->data_out = optarg; break;
		case 'O': a->ctx_out = optarg; break;
		case 's': case 'S':
			if ((err = parse_size(sub, c == 's' ? "--data-size-out" : "--ctx-size-out",
					      optarg, 1, 1u << 30, &v)))
				return err;
			*(c == 's' ? &a->data_size_out : &a->ctx_size_out) = (uint32_t)v;
			break;
		case 'r':
			if ((err = parse_size(sub, "--repeat", optarg, 1, UINT32_MAX, &v)))
				return err;
			a->repeat = (uint32_t)v;
			break;
		case 'b':
			if (parse_u64(optarg, &a->budget) < 0)
				return usage_error(sub, "--budget needs a number, not '%s'", optarg);
			break;
		case 'i': a->engine = BPFVM_ENGINE_INTERP; break;
		case 'J': a->engine = BPFVM_ENGINE_JIT; break;
		case 'e':
			if (parse_engine(optarg, &a->engine) < 0)
				return usage_error(sub, "unknown engine '%s' (interp, switch, jit)",
						   optarg);
			break;
		case 'B': a->btf = optarg; break;
		case 'm':
			if (a->dump_cnt == RUN_MAX_DUMPS)
				return usage_error(sub, "at most %d --dump options", RUN_MAX_DUMPS);
			a->dumps[a->dump_cnt++] = optarg;
			break;
		case 'p': a->pretty = true; /* fall through */
		case 'j': a->json = true; break;
		case 'h': help(stdout); return 1;
		default: return usage_error(sub, "bad option");
		}
	}
	if (a->data_in && a->data_hex)
		return usage_error(sub, "--data-in and --data-hex exclude each other");
	if (a->ctx_in && a->ctx_hex)
		return usage_error(sub, "--ctx-in and --ctx-hex exclude each other");
	if (a->data_in && a->ctx_in && !strcmp(a->data_in, "-") && !strcmp(a->ctx_in, "-"))
		return usage_error(sub, "--data-in and --ctx-in cannot both read stdin");
	*first = optind;
	return 0;
}

/* Input bytes from a file or hex text (neither: none). 0 or EXIT_USAGE. */
static int read_input(const char *sub, const char *opt, const char *file, const char *hex,
		      uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (hex) {
		size_t bad;
		if (parse_hex_bytes(hex, buf, len, &bad) < 0) {
			fprintf(stderr, "bpfvm %s: --%s-hex: bad hex at character %zu of '%s'\n", sub,
				opt, bad, hex);
			return EXIT_USAGE;
		}
	} else if (file) {
		*buf = (uint8_t *)read_file(file, len);
		if (!*buf) {
			fprintf(stderr, "bpfvm %s: --%s-in: %s: %s\n", sub, opt, file, strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (*len > UINT32_MAX) {
		fprintf(stderr, "bpfvm %s: --%s-in: %zu bytes is too much\n", sub, opt, *len);
		return EXIT_USAGE;
	}
	return 0;
}

/* What the ring-buffer callbacks print into. */
struct run_out {
	struct json *j;		/* NULL: text */
	bool rb_open;		/* the JSON "ringbuf" array is open */
};
struct rb_src {
	struct run_out *out;
	const char *map;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct rb_src *src = ctx;
	struct json *j = src->out->j;
	if (!j) {
		flockfile(stdout);	/* one line, even beside the running thread's */
		printf("ringbuf %s: ", src->map);
		print_hex(stdout, data, size);
		printf("\n");
		fflush(stdout);
		funlockfile(stdout);
		return 0;
	}
	if (!src->out->rb_open) {
		json_key(j, "ringbuf");
		json_open(j, '[');
		src->out->rb_open = true;
	}
	json_open(j, '{');
	json_kstr(j, "map", src->map);
	json_key(j, "data");
	json_bytes(j, data, size, false);
	json_close(j, '}');
	return 0;
}

/* Output data or context: printed ("-"), or written to a file. 0 or EXIT_FAIL. */
static int put_output(const char *sub, const char *dest, const char *key, const void *data,
		      size_t len, struct json *j)
{
	if (!strcmp(dest, "-")) {
		if (j) {
			json_key(j, key);
			json_bytes(j, data, len, false);
		} else {
			print_hexdump(stdout, data, len);
		}
		return 0;
	}
	FILE *f = fopen(dest, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok)
		fprintf(stderr, "bpfvm %s: writing %s: %s\n", sub, dest, strerror(errno));
	return ok ? 0 : EXIT_FAIL;
}

struct rings {
	struct bpfvm_ring_buffer *rb[MAX_RINGBUFS];
	struct rb_src src[MAX_RINGBUFS];
	size_t cnt;
	pthread_t thread;	/* the live consumer (text output) ... */
	bool live;		/* ... while this is set */
	atomic_bool stop;
};

/* A consumer for each RINGBUF map of obj. 0 or EXIT_FAIL. */
static int rings_open(const char *sub, struct bpfvm_object *obj, struct run_out *out,
		      struct rings *r)
{
	r->cnt = 0;
	for (struct bpfvm_map *m = bpfvm_object__next_map(obj, NULL); m;
	     m = bpfvm_object__next_map(obj, m)) {
		if (bpfvm_map__type(m) != BPFVM_MAP_TYPE_RINGBUF)
			continue;
		if (r->cnt == MAX_RINGBUFS) {
			fprintf(stderr, "bpfvm %s: more than %d ring buffers\n", sub, MAX_RINGBUFS);
			return EXIT_FAIL;
		}
		r->src[r->cnt] = (struct rb_src){ out, bpfvm_map__name(m) };
		r->rb[r->cnt] = bpfvm_ring_buffer__new(m, on_record, &r->src[r->cnt]);
		if (!r->rb[r->cnt]) {
			fprintf(stderr, "bpfvm %s: ring buffer %s: %s\n", sub, bpfvm_map__name(m),
				strerror(errno));
			return EXIT_FAIL;
		}
		r->cnt++;
	}
	return 0;
}

static void rings_consume(struct rings *r)
{
	for (size_t i = 0; i < r->cnt; i++)
		bpfvm_ring_buffer__consume(r->rb[i]);
}

/* The live consumer: polls every ring buffer until told to stop. */
static void *rings_thread(void *arg)
{
	struct rings *r = arg;
	while (!atomic_load(&r->stop)) {
		if (r->cnt == 1) {
			bpfvm_ring_buffer__poll(r->rb[0], 5);
			continue;
		}
		int got = 0;
		for (size_t i = 0; i < r->cnt; i++)
			got |= bpfvm_ring_buffer__consume(r->rb[i]) > 0;
		if (!got)
			nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	return NULL;
}

/* Starts the live consumer; records are then printed while the program runs. */
static void rings_start(struct rings *r)
{
	atomic_store(&r->stop, false);
	r->live = r->cnt && pthread_create(&r->thread, NULL, rings_thread, r) == 0;
}

/* Stops it; what is left is consumed by the caller (rings_consume). */
static void rings_stop(struct rings *r)
{
	if (!r->live)
		return;
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	r->live = false;
}

static void rings_close(struct rings *r)
{
	for (size_t i = 0; i < r->cnt; i++)
		bpfvm_ring_buffer__free(r->rb[i]);
	r->cnt = 0;
}

/* The runs: all at once, or one at a time with the ring buffers consumed after
 * each (then the duration is the mean of theirs). */
static int do_runs(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *t, uint32_t repeat,
		   struct rings *r)
{
	uint32_t data_room = t->data_size_out, ctx_room = t->ctx_size_out;
	if (!r->cnt || r->live) {	/* nothing to consume, or consumed live */
		t->repeat = repeat;
		return bpfvm_prog__test_run(prog, t);
	}
	uint64_t total = 0;
	uint32_t runs = 0;
	int err = 0;
	t->repeat = 1;
	while (runs < repeat && !err) {
		t->data_size_out = data_room;
		t->ctx_size_out = ctx_room;
		err = bpfvm_prog__test_run(prog, t);
		total += t->duration_ns;
		runs++;
		rings_consume(r);
	}
	t->duration_ns = total / runs;
	return err;
}

/* What a run ended with: the error, or output data and context, the return
 * value and the duration. Returns the exit status. */
static int put_results(const char *sub, const struct run_args *a,
		       const struct bpfvm_test_run_opts *t, int err, struct json *j)
{
	int status = 0;
	if (err && err != -ENOSPC) {
		/* the library logged the reason (a fault names the instruction); input
		 * the program type refuses is -EINVAL or -E2BIG without a fault */
		bool fault = t->fault.kind != BPFVM_FAULT_NONE;
		if (err == -ETIME)
			run_budget_hint(sub, a->budget);
		if (j) {
			char msg[256];
			if (fault)
				bpfvm_fault__str(&t->fault, msg, sizeof(msg));
			json_kstr(j, "error", fault ? msg : strerror(-err));
		}
		return (err == -EINVAL || err == -E2BIG) && !fault ? EXIT_USAGE : EXIT_FAIL;
	}
	uint32_t data_len = t->data_size_out < a->data_size_out ? t->data_size_out :
			    a->data_size_out;
	uint32_t ctx_len = t->ctx_size_out < a->ctx_size_out ? t->ctx_size_out :
			   a->ctx_size_out;
	if (err == -ENOSPC) {
		bool data_cut = t->data_out && t->data_size_out > a->data_size_out;
		fprintf(stderr, "bpfvm %s: the output %s (%" PRIu32 " bytes) does not fit in %" PRIu32
			" bytes: raise %s\n", sub, data_cut ? "data" : "context",
			data_cut ? t->data_size_out : t->ctx_size_out,
			data_cut ? a->data_size_out : a->ctx_size_out,
			data_cut ? "--data-size-out" : "--ctx-size-out");
		status = EXIT_FAIL;
	}
	if (t->data_out && data_len)
		status |= put_output(sub, a->data_out, "data_out", t->data_out, data_len, j);
	if (t->ctx_out && ctx_len)
		status |= put_output(sub, a->ctx_out, "context_out", t->ctx_out, ctx_len, j);
	if (j) {
		json_ku64(j, "retval", t->retval);
		json_ku64(j, "duration", t->duration_ns);
		json_kstr(j, "engine", engine_name(t->engine_used));
	} else {
		printf("Return value: %" PRIu64 ", duration%s: %" PRIu64 "ns\n", t->retval,
		       a->repeat > 1 ? " (average)" : "", t->duration_ns);
	}
	return status;
}

/* The maps of --dump after the run: each its map show line and elements, or in
 * JSON "maps": {NAME: [elements]}. Returns the exit status. */
static int put_dumps(const char *sub, struct bpfvm_map *const *maps, size_t cnt,
		     struct json *j)
{
	int status = 0;
	if (cnt && j) {
		json_key(j, "maps");
		json_open(j, '{');
	}
	for (size_t i = 0; i < cnt; i++) {
		if (j)
			json_key(j, bpfvm_map__name(maps[i]));
		else
			map_describe(maps[i], NULL);
		int st = map_dump(sub, maps[i], j);
		if (st && !status)
			status = st;
	}
	if (cnt && j)
		json_close(j, '}');
	return status;
}

int run_exec(const char *sub, struct bpfvm_object *obj, struct bpfvm_prog *prog,
	     const struct run_args *a)
{
	struct bpfvm_map *dumps[RUN_MAX_DUMPS];
	for (size_t i = 0; i < a->dump_cnt; i++)
		if (!(dumps[i] = obj_map(sub, obj, a->dumps[i])) || map_dump_check(sub, dumps[i]))
			return EXIT_USAGE;
	uint8_t *data_in = NULL, *ctx_in = NULL, *data_out = NULL, *ctx_out = NULL;
	size_t data_len, ctx_len;
	struct rings rings = { .cnt = 0 };
	int status = read_input(sub, "data", a->data_in, a->data_hex, &data_in, &data_len);
	if (!status)
		status = read_input(sub, "ctx", a->ctx_in, a->ctx_hex, &ctx_in, &ctx_len);
	if (status)
		goto out;
	if ((a->data_out && !(data_out = malloc(a->data_size_out))) ||
	    (a->ctx_out && !(ctx_out = malloc(a->ctx_size_out)))) {
		fprintf(stderr, "bpfvm %s: out of memory\n", sub);
		status = EXIT_FAIL;
		goto out;
	}
	struct json jw, *j = a->json ? &jw : NULL;
	struct run_out ro = { j, false };
	if ((status = rings_open(sub, obj, &ro, &rings)))
		goto out;
	if (j) {
		json_init(j, stdout, a->pretty);
		json_open(j, '{');
		json_kstr(j, "program", bpfvm_prog__name(prog));
	}
	struct bpfvm_test_run_opts t = {
		.sz = sizeof(t),
		.data_in = data_in, .data_size_in = (uint32_t)data_len,
		.ctx_in = ctx_in, .ctx_size_in = (uint32_t)ctx_len,
		.data_out = data_out, .data_size_out = data_out ? a->data_size_out : 0,
		.ctx_out = ctx_out, .ctx_size_out = ctx_out ? a->ctx_size_out : 0,
		.engine = a->engine, .budget = a->budget,
	};
	bpfvm_set_trace(trace_print, a->json ? stderr : NULL);
	if (!j)
		rings_start(&rings);
	int err = do_runs(prog, &t, a->repeat, &rings);
	rings_stop(&rings);
	rings_consume(&rings);
	bpfvm_set_trace(NULL, NULL);
	if (ro.rb_open)
		json_close(j, ']');
	status = put_results(sub, a, &t, err, j);
	int st = put_dumps(sub, dumps, a->dump_cnt, j);
	if (!status)
		status = st;
	if (j) {
		json_close(j, '}');
		json_end(j);
	}
out:
	rings_stop(&rings);
	rings_close(&rings);
	free(data_in);
	free(ctx_in);
	free(data_out);
	free(ctx_out);
	return status;
}
