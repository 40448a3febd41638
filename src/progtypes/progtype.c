/*
 * progtype.c — the table of program types: the built-in ones by number, the
 * embedders' (bpfvm_prog_type__register), lookups by number, name and SEC(), and
 * the test-run entry point with the generic test run (ctx_in is the context).
 *
 * Registered types are never freed (programs point at them), so lookups return
 * stable pointers; the lock only guards the table while it grows.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "prog.h"
#include "progtypes/progtype.h"

static const struct vm_prog_type *const builtin[] = {
	&vm_prog_type_raw, &vm_prog_type_socket_filter, &vm_prog_type_kprobe,
	&vm_prog_type_sched_cls, &vm_prog_type_tracepoint, &vm_prog_type_xdp,
};
#define BUILTIN_CNT (sizeof(builtin) / sizeof(builtin[0]))

/* An embedder's type: the internal description and the copies it points into. */
struct user_type {
	struct vm_prog_type t;
	const char *prefixes[2];
	size_t (*ctx_regions)(const void *, struct bpfvm_region *, size_t);
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_type **users;
static size_t user_cnt;

/* Calls fn on every type until it returns non-NULL. */
static const struct vm_prog_type *each_type(const struct vm_prog_type *(*fn)(
	const struct vm_prog_type *, const void *), const void *arg)
{
	for (size_t i = 0; i < BUILTIN_CNT; i++)
		if (fn(builtin[i], arg))
			return builtin[i];
	const struct vm_prog_type *found = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < user_cnt && !found; i++)
		if (fn(&users[i]->t, arg))
			found = &users[i]->t;
	pthread_mutex_unlock(&lock);
	return found;
}

static const struct vm_prog_type *has_number(const struct vm_prog_type *t, const void *arg)
{
	return t->type == *(const uint32_t *)arg ? t : NULL;
}

static const struct vm_prog_type *has_name(const struct vm_prog_type *t, const void *arg)
{
	return strcmp(t->name, arg) == 0 ? t : NULL;
}

/* "xdp" matches "xdp", "xdp/anything" and "xdp.frags...". */
static bool prefix_matches(const char *prefix, const char *sec)
{
	size_t n = strlen(prefix);
	return strncmp(sec, prefix, n) == 0 && (!sec[n] || sec[n] == '/' || sec[n] == '.');
}

static const struct vm_prog_type *has_section(const struct vm_prog_type *t, const void *arg)
{
	for (const char *const *p = t->sec_prefixes; p && *p; p++)
		if (prefix_matches(*p, arg))
			return t;
	return NULL;
}

const struct vm_prog_type *vm_prog_type(uint32_t type)
{
	return each_type(has_number, &type);
}

const struct vm_prog_type *vm_prog_type_of_section(const char *sec_name)
{
	return sec_name ? each_type(has_section, sec_name) : NULL;
}

const char *bpfvm_prog_type__name(uint32_t type)
{
	const struct vm_prog_type *t = vm_prog_type(type);
	return t ? t->name : NULL;
}

long long bpfvm_prog_type__from_name(const char *name)
{
	const struct vm_prog_type *t = name ? each_type(has_name, name) : NULL;
	return t ? (long long)t->type : -ENOENT;
}

long long bpfvm_prog_type__from_section(const char *sec_name)
{
	const struct vm_prog_type *t = vm_prog_type_of_section(sec_name);
	return t ? (long long)t->type : -ENOENT;
}

int bpfvm_prog_type__register(const struct bpfvm_prog_type_def *def)
{
	if (!def || def->sz < offsetof(struct bpfvm_prog_type_def, ctx_regions) +
				sizeof(def->ctx_regions))
		return vm_err(-EINVAL, "bpfvm_prog_type__register: needs a def with sz set");
	if (def->type < BPFVM_PROG_TYPE_USER_BASE)
		return vm_err(-EINVAL, "bpfvm_prog_type__register: type %u is below "
			      "BPFVM_PROG_TYPE_USER_BASE", def->type);
	if (!def->name || !*def->name || !def->ctx_size)
		return vm_err(-EINVAL, "bpfvm_prog_type__register: type %u needs a name and a "
			      "context size", def->type);
	if (def->helper_cnt && !def->helpers)
		return vm_err(-EINVAL, "bpfvm_prog_type__register: helper_cnt without helpers");
	if (vm_prog_type(def->type) || bpfvm_prog_type__from_name(def->name) >= 0 ||
	    (def->sec_prefix && vm_prog_type_of_section(def->sec_prefix)))
		return vm_err(-EEXIST, "bpfvm_prog_type__register: type %u, name '%s' or its "
			      "section prefix is taken", def->type, def->name);
	struct user_type *u = calloc(1, sizeof(*u));
	struct bpfvm_helper *h = calloc(def->helper_cnt ? def->helper_cnt : 1, sizeof(*h));
	char *name = strdup(def->name);
	char *prefix = def->sec_prefix ? strdup(def->sec_prefix) : NULL;
	struct user_type **v = NULL;
	pthread_mutex_lock(&lock);
	if (u && h && name && (prefix || !def->sec_prefix))
		v = realloc(users, (user_cnt + 1) * sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&lock);
		free(u);
		free(h);
		free(name);
		free(prefix);
		return vm_err(-ENOMEM, "out of memory registering a program type");
	}
	if (def->helper_cnt)
		memcpy(h, def->helpers, def->helper_cnt * sizeof(*h));
	u->prefixes[0] = prefix;
	u->t = (struct vm_prog_type){
		.type = def->type, .name = name, .sec_prefixes = u->prefixes,
		.ctx_size = def->ctx_size, .ctx_writable = def->ctx_writable,
		.helpers = h, .helper_cnt = def->helper_cnt, .ctx_regions = def->ctx_regions,
	};
	users = v;
	users[user_cnt++] = u;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* ---- Test runs ------------------------------------------------------------------ */

int vm_test_copy_out(void *out, uint32_t *out_size, const void *src, size_t n)
{
	if (!out) {
		*out_size = (uint32_t)n;
		return 0;
	}
	size_t room = *out_size;
	*out_size = (uint32_t)n;
	if (n)
		memcpy(out, src, n < room ? n : room);
	return n > room ? -ENOSPC : 0;
}

int vm_test_run_ctx(struct bpfvm_prog *prog, void *ctx, size_t ctx_len,
		    struct bpfvm_test_run_opts *opts)
{
	struct bpfvm_run_opts o = {
		.sz = sizeof(o), .mem = ctx, .mem_len = ctx_len, .engine = opts->engine,
		.budget = opts->budget, .repeat = opts->repeat,
	};
	int err = bpfvm_prog__run_opts(prog, &o);
	opts->retval = o.retval;
	opts->duration_ns = o.duration_ns;
	opts->fault = o.fault;
	opts->engine_used = o.engine_used;
	return err;
}

/* Types without their own test run: ctx_in is the context, there is no data. */
static int generic_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	const struct vm_prog_type *t = prog->type;
	if (opts->data_in || opts->data_size_in || opts->data_out)
		return vm_err(-EINVAL, "%s: %s programs take no data, only a context (ctx_in)",
			      prog->name, t->name);
	size_t len = t->ctx_size ? t->ctx_size : opts->ctx_size_in;
	if (opts->ctx_size_in > len || !len)
		return vm_err(-EINVAL, "%s: ctx_in is %u bytes, a %s context is %zu", prog->name,
			      opts->ctx_size_in, t->name, len);
	uint8_t *ctx = calloc(1, len);
	if (!ctx)
		return vm_err(-ENOMEM, "out of memory");
	if (opts->ctx_size_in)
		memcpy(ctx, opts->ctx_in, opts->ctx_size_in);
	int err = vm_test_run_ctx(prog, ctx, len, opts);
	if (!err && opts->ctx_out)
		err = vm_test_copy_out(opts->ctx_out, &opts->ctx_size_out, ctx, len);
	free(ctx);
	return err;
}

int bpfvm_prog__test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	if (!prog || !opts || opts->sz < offsetof(struct bpfvm_test_run_opts, engine_used) +
				sizeof(opts->engine_used))
		return vm_err(-EINVAL, "bpfvm_prog__test_run: needs a program and opts with sz set");
	if (!prog->loaded)
		return vm_err(-ENOENT, "%s: not loaded (load its object first)", prog->name);
	if ((opts->data_size_in && !opts->data_in) || (opts->ctx_size_in && !opts->ctx_in))
		return vm_err(-EINVAL, "%s: a size without its buffer (data_in / ctx_in)",
			      prog->name);
	if ((opts->data_out && !opts->data_size_out) || (opts->ctx_out && !opts->ctx_size_out))
		return vm_err(-EINVAL, "%s: data_out / ctx_out without room (data_size_out / "
			      "ctx_size_out)", prog->name);
	memset(&opts->fault, 0, sizeof(opts->fault));
	opts->retval = 0;
	opts->duration_ns = 0;
	return prog->type->test_run ? prog->type->test_run(prog, opts)
				    : generic_test_run(prog, opts);
}

void *bpfvm_packet_alloc(size_t len)
{
	void *p = len ? vm_lowmem_alloc(len) : NULL;
	if (!p)
		errno = -vm_err(-ENOMEM, "bpfvm_packet_alloc: no %zu bytes below 4 GiB", len);
	return p;
}

void bpfvm_packet_free(void *p, size_t len)
{
	if (p)
		vm_lowmem_free(p, len);
}
