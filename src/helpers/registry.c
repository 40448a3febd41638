/*
 * registry.c — the helper registry: the kernel helpers bpfvm provides
 * (kernel.def), embedders' process-wide helpers, and the per-program snapshot that
 * binds a program to the helpers it may call.
 *
 * A program binds its helpers when it is created — its local ones first, then the
 * registered ones, then the kernel helpers, the first with an id winning — so a
 * run never takes a lock and never sees the registry change under it.
 * bpfvm_run_stop() reaches the run through vm_current_run. vm_mem_ok checks helper
 * pointer arguments against the stack, the static regions and the run's dynamic
 * regions (map values, ring-buffer records) with the engines' region check.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "log.h"
#include "prog.h"

_Thread_local struct vm_run *vm_current_run;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bpfvm_helper *registry;
static size_t registry_cnt, registry_cap;

static const struct bpfvm_helper *find(const struct bpfvm_helper *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

int bpfvm_helper__register(const struct bpfvm_helper *h)
{
	int err = 0;
	if (!h || !h->fn || !h->id)
		return vm_err(-EINVAL, "helper registration needs a non-zero id and a function");
	pthread_mutex_lock(&registry_lock);
	if (find(registry, registry_cnt, h->id) ||
	    find(vm_kernel_helpers, vm_kernel_helper_cnt, h->id)) {
		err = vm_err(-EEXIST, "helper id %u is already registered", h->id);
	} else if (registry_cnt == registry_cap) {
		size_t cap = registry_cap ? registry_cap * 2 : 64;
		struct bpfvm_helper *v = realloc(registry, cap * sizeof(*v));
		if (!v)
			err = vm_err(-ENOMEM, "out of memory registering helper %u", h->id);
		else
			registry = v, registry_cap = cap;
	}
	if (!err)
		registry[registry_cnt++] = *h;
	pthread_mutex_unlock(&registry_lock);
	return err;
}

const char *bpfvm_helper__name(uint32_t id)
{
	const char *name = NULL;
	pthread_mutex_lock(&registry_lock);
	const struct bpfvm_helper *h = find(registry, registry_cnt, id);
	if (!h)
		h = find(vm_kernel_helpers, vm_kernel_helper_cnt, id);
	if (h)
		name = h->name;
	pthread_mutex_unlock(&registry_lock);
	return name;
}

long long bpfvm_helper__id(const char *name)
{
	long long id = -ENOENT;
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_cnt && id < 0; i++)
		if (registry[i].name && strcmp(registry[i].name, name) == 0)
			id = registry[i].id;
	for (size_t i = 0; i < vm_kernel_helper_cnt && id < 0; i++)
		if (strcmp(vm_kernel_helpers[i].name, name) == 0)
			id = vm_kernel_helpers[i].id;
	pthread_mutex_unlock(&registry_lock);
	return id;
}

void bpfvm_run_stop(uint64_t retval)
{
	struct vm_run *run = vm_current_run;
	if (run) {
		run->stop = true;
		run->stop_retval = retval;
	}
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct bpfvm_helper *)a)->id, y = ((const struct bpfvm_helper *)b)->id;
	return x < y ? -1 : x > y;
}

/* Binds prog to its local helpers plus the registry's, sorted by id. */
int vm_bind_helpers(struct bpfvm_prog *prog, const struct bpfvm_helper *local, size_t local_cnt)
{
	pthread_mutex_lock(&registry_lock);
	size_t n = 0, cap = local_cnt + registry_cnt + vm_kernel_helper_cnt;
	struct bpfvm_helper *v = calloc(cap ? cap : 1, sizeof(*v));
	if (!v) {
		pthread_mutex_unlock(&registry_lock);
		return vm_err(-ENOMEM, "out of memory binding helpers");
	}
	for (size_t i = 0; i < local_cnt; i++)
		if (local[i].fn && !find(v, n, local[i].id))
			v[n++] = local[i];
	for (size_t i = 0; i < registry_cnt; i++)
		if (!find(v, n, registry[i].id))
			v[n++] = registry[i];
	pthread_mutex_unlock(&registry_lock);
	for (size_t i = 0; i < vm_kernel_helper_cnt; i++)
		if (!find(v, n, vm_kernel_helpers[i].id))
			v[n++] = vm_kernel_helpers[i];
	qsort(v, n, sizeof(*v), cmp_id);
	prog->helpers = v;
	prog->helper_cnt = n;
	return 0;
}

const struct bpfvm_helper *vm_prog_helper(const struct bpfvm_prog *prog, uint32_t id)
{
	size_t lo = 0, hi = prog->helper_cnt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t m = prog->helpers[mid].id;
		if (m == id)
			return &prog->helpers[mid];
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct bpfvm_helper vm_kernel_helpers[] = {
#define HELPER(ID, NAME, RET, A1, A2, A3, A4, A5) \
	{ .id = ID, .name = "bpf_" #NAME, .fn = h_##NAME, .ret = BPFVM_RET_##RET, \
	  .args = { BPFVM_ARG_##A1, BPFVM_ARG_##A2, BPFVM_ARG_##A3, BPFVM_ARG_##A4, \
		    BPFVM_ARG_##A5 } },
#include "kernel.def"
#undef HELPER
};
const size_t vm_kernel_helper_cnt = sizeof(vm_kernel_helpers) / sizeof(vm_kernel_helpers[0]);

bool vm_mem_ok(uint64_t addr, uint64_t len, bool write)
{
	const struct vm_run *run = vm_current_run;
	if (!run)
		return true;
	if (len == 0)
		return true;
	/* the stack in use: the frames from the current one up to the main frame's
	 * top, as the engines' own checks (frames below are stale, maybe another
	 * run's) */
	if (run->stack) {
		uint64_t top = (uint64_t)(uintptr_t)run->stack + VM_STACK_TOTAL;
		uint64_t depth = run->engine ? run->engine->depth(run) : 0;
		uint64_t span = (depth + 1) * BPFVM_STACK_SIZE;
		if (span <= VM_STACK_TOTAL && top - addr <= span && len <= top - addr)
			return true;
	}
	return vm_region_ok(run, run->regions, run->region_cnt, addr, len, write);
}
