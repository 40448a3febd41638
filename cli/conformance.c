/*
 * conformance.c — runs one conformance .data file and judges it (see conformance.h).
 */
#include "conformance.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "util.h"

/* Instructions a conformance program may execute before it counts as hung. */
#define CONF_BUDGET 100000000u

/* The suite's helper 5: returns r1; when r1 is 0 the program unwinds (ends) with
 * r0 = 0 — call_unwind_fail.data checks that it does not when r1 != 0. */
static uint64_t conf_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	if (r1 == 0)
		bpfvm_run_stop(0);
	return r1;
}

const struct bpfvm_helper conf_helpers[] = {
	{ .id = 5, .name = "unwind", .fn = conf_unwind },
};
const size_t conf_helper_cnt = sizeof(conf_helpers) / sizeof(conf_helpers[0]);

bool conf_judge(struct conf_result *res, const struct datafile *df)
{
	if (df->has_error) {
		res->pass = res->stage != CONF_OK;
		if (!res->pass)
			snprintf(res->message, sizeof(res->message), "expected an error%s%s%s, but "
				 "the program ran to r0 = 0x%" PRIx64, df->error[0] ? " (\"" : "",
				 df->error, df->error[0] ? "\")" : "", res->retval);
		return res->pass;
	}
	res->pass = res->stage == CONF_OK && res->retval == df->result;
	if (res->stage == CONF_OK && !res->pass)
		snprintf(res->message, sizeof(res->message), "expected 0x%" PRIx64 ", got 0x%"
			 PRIx64, df->result, res->retval);
	return res->pass;
}

bool conf_run_file(const char *path, enum bpfvm_engine engine, struct conf_result *res)
{
	struct datafile df;
	struct bpf_insn *insns = NULL;
	size_t cnt = 0;
	struct bpfvm_prog *prog = NULL;
	struct log_capture cap;

	memset(res, 0, sizeof(*res));
	if (datafile_parse(path, &df, res->message, sizeof(res->message)) < 0) {
		/* Rejected while parsing: a pass only for a file that expects an error. */
		res->stage = CONF_BAD_FILE;
		res->pass = df.has_error;
		datafile_free(&df);
		return res->pass;
	}
	res->has_expected = df.has_result;
	res->expected = df.result;
	if (df.has_error)
		snprintf(res->expected_error, sizeof(res->expected_error), "%s", df.error);

	if (datafile_program(&df, &insns, &cnt, res->message, sizeof(res->message)) < 0) {
		res->stage = CONF_ASM_ERROR;
		goto done;
	}
	log_capture_begin(&cap, res->message, sizeof(res->message));
	struct bpfvm_prog_opts popts = { .sz = sizeof(popts), .name = path,
					 .helpers = conf_helpers, .helper_cnt = conf_helper_cnt };
	prog = bpfvm_prog__new(insns, cnt, &popts);
	if (!prog) {
		res->stage = CONF_LOAD_ERROR;
		log_capture_end(&cap);
		goto done;
	}
	/* The program may write its memory: run on a copy. */
	uint8_t *mem = df.mem_len ? malloc(df.mem_len) : NULL;
	if (df.mem_len && !mem) {
		log_capture_end(&cap);
		snprintf(res->message, sizeof(res->message), "out of memory");
		res->stage = CONF_RUN_ERROR;
		goto done;
	}
	if (mem)
		memcpy(mem, df.mem, df.mem_len);
	struct bpfvm_run_opts ropts = { .sz = sizeof(ropts), .mem = mem, .mem_len = df.mem_len,
					.engine = engine, .budget = CONF_BUDGET };
	int err = bpfvm_prog__run_opts(prog, &ropts);
	log_capture_end(&cap);
	free(mem);
	if (err) {
		res->stage = CONF_RUN_ERROR;
	} else {
		res->stage = CONF_OK;
		res->retval = ropts.retval;
		res->message[0] = 0;
	}
done:
	conf_judge(res, &df);
	bpfvm_prog__free(prog);
	free(insns);
	datafile_free(&df);
	return res->pass;
}
