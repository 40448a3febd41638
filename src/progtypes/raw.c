/*
 * raw.c — bpfvm's own program type: r1 = memory, r2 = its length (the conformance
 * suite's convention, and what bpfvm_prog__new makes by default). A test run
 * copies data_in into fresh memory, runs on it and returns it as data_out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "prog.h"
#include "progtypes/progtype.h"

static int raw_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	if (opts->ctx_in || opts->ctx_out)
		return vm_err(-EINVAL, "%s: raw programs take data (their memory), no context",
			      prog->name);
	size_t len = opts->data_size_in;
	uint8_t *mem = len ? malloc(len) : NULL;
	if (len && !mem)
		return vm_err(-ENOMEM, "out of memory");
	if (len)
		memcpy(mem, opts->data_in, len);
	int err = vm_test_run_ctx(prog, mem, len, opts);
	if (!err && opts->data_out)
		err = vm_test_copy_out(opts->data_out, &opts->data_size_out, mem, len);
	free(mem);
	return err;
}

static const char *const raw_sections[] = { "raw", NULL };

const struct vm_prog_type vm_prog_type_raw = {
	.type = BPFVM_PROG_TYPE_RAW,
	.name = "raw",
	.sec_prefixes = raw_sections,
	.ctx_writable = true,
	.raw = true,
	.test_run = raw_test_run,
};
