/*
 * kernel_bpf.c — bpf() system call wrappers for the kernel differential test and the
 * benchmark runner (see kernel_bpf.h). Everything degrades to a negative errno where
 * the system call is missing or forbidden; nothing here prints.
 */
#include "kernel_bpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/syscall.h>
#endif

#if defined(__linux__) && defined(__NR_bpf)

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	long r = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
	return r < 0 ? -errno : (int)r;
}

static uint64_t ptr_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

int kbpf_array_create(uint32_t value_size, uint32_t max_entries)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

int kbpf_array_update(int map_fd, uint32_t key, const void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = ptr_u64(&key);
	attr.value = ptr_u64(value);
	attr.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &attr);
}

int kbpf_array_lookup(int map_fd, uint32_t key, void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = ptr_u64(&key);
	attr.value = ptr_u64(value);
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
}

static int prog_load_type(uint32_t prog_type, const struct bpf_insn *insns, size_t cnt,
			  uint32_t log_level, char *log, size_t log_len)
{
	static const char license[] = "GPL";
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = prog_type;
	attr.insns = ptr_u64(insns);
	attr.insn_cnt = (uint32_t)cnt;
	attr.license = ptr_u64(license);
	if (log_level && log && log_len) {
		attr.log_level = log_level;
		attr.log_buf = ptr_u64(log);
		attr.log_size = log_len > UINT32_MAX ? UINT32_MAX : (uint32_t)log_len;
	}
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

static int prog_load(const struct bpf_insn *insns, size_t cnt, uint32_t log_level,
		     char *log, size_t log_len)
{
	return prog_load_type(BPF_PROG_TYPE_XDP, insns, cnt, log_level, log, log_len);
}

int kbpf_prog_load_xdp(const struct bpf_insn *insns, size_t cnt, char *log, size_t log_len)
{
	int fd, err;

	if (log && log_len)
		log[0] = 0;
	if (cnt > UINT32_MAX)
		return -E2BIG;
	/* First without a log: with one, a successful load whose log overflows the
	 * buffer fails with ENOSPC on some kernels. */
	fd = prog_load(insns, cnt, 0, NULL, 0);
	if (fd >= 0 || !log || log_len < 2)
		return fd;
	/* Again with a log, only to learn why. Kernels >= 6.4 keep the log's tail when
	 * it overflows, which is where the reason is. */
	err = prog_load(insns, cnt, 1, log, log_len);
	if (err >= 0) {		/* accepted the second time?! keep it */
		return err;
	}
	log[log_len - 1] = 0;
	return fd;
}

int kbpf_prog_test_run(int prog_fd, const void *data, uint32_t data_len, uint32_t repeat,
		       uint32_t *retval, uint32_t *duration_ns)
{
	union bpf_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)prog_fd;
	attr.test.data_in = ptr_u64(data);
	attr.test.data_size_in = data_len;
	attr.test.repeat = repeat;
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr);
	if (err < 0)
		return err;
	if (retval)
		*retval = attr.test.retval;
	if (duration_ns)
		*duration_ns = attr.test.duration;
	return 0;
}

int kbpf_probe(char *reason, size_t len)
{
	/* r0 = XDP_PASS; exit */
	static const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[64] = { 0 };
	uint32_t ret = 0;
	const char *what;
	int fd, map, err;

	if (reason && len)
		reason[0] = 0;
	what = "BPF_MAP_CREATE";
	map = kbpf_array_create(8, 1);
	if (map < 0) {
		err = map;
		goto fail;
	}
	close(map);
	what = "BPF_PROG_LOAD";
	fd = kbpf_prog_load_xdp(pass, 2, NULL, 0);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	what = "BPF_PROG_TEST_RUN";
	err = kbpf_prog_test_run(fd, pkt, sizeof(pkt), 1, &ret, NULL);
	close(fd);
	if (err < 0)
		goto fail;
	if (ret != XDP_PASS) {
		if (reason)
			snprintf(reason, len, "BPF_PROG_TEST_RUN returned %u, expected %u",
				 ret, (unsigned)XDP_PASS);
		return -EIO;
	}
	return 0;
fail:
	if (reason)
		snprintf(reason, len, "%s: %s", what, strerror(-err));
	return err;
}

int kbpf_raw_load(struct kbpf_raw *kr, const struct bpf_insn *insns, size_t cnt,
		  size_t mem_len, char *log, size_t log_len)
{
	struct bpf_insn *all;
	int err;

	kr->mem_map_fd = kr->res_map_fd = kr->prog_fd = -1;
	kr->mem_len = mem_len;
	if (log && log_len)
		log[0] = 0;
	if (mem_len > KBPF_RAW_MAX_MEM)
		return -E2BIG;
	if (cnt > UINT32_MAX - KBPF_RAW_PROLOG_CNT)
		return -E2BIG;
	all = calloc(cnt + KBPF_RAW_PROLOG_CNT, sizeof(*all));
	if (!all)
		return -ENOMEM;
	err = kr->res_map_fd = kbpf_array_create(8, 1);
	if (err < 0)
		goto fail;
	if (mem_len) {
		err = kr->mem_map_fd = kbpf_array_create((uint32_t)mem_len, 1);
		if (err < 0)
			goto fail;
	}

	/* 0-1: r6 = &result[0] */
	all[0].code = BPF_LD | BPF_DW | BPF_IMM;
	all[0].dst_reg = BPF_REG_6;
	all[0].src_reg = BPF_PSEUDO_MAP_VALUE;
	all[0].imm = kr->res_map_fd;
	all[1].imm = 0;				/* offset into the value */
	/* 2-3: r1 = &mem[0], or 0 without memory */
	all[2].code = BPF_LD | BPF_DW | BPF_IMM;
	all[2].dst_reg = BPF_REG_1;
	if (mem_len) {
		all[2].src_reg = BPF_PSEUDO_MAP_VALUE;
		all[2].imm = kr->mem_map_fd;
	}
	/* 4: r2 = mem_len */
	all[4].code = BPF_ALU64 | BPF_MOV | BPF_K;
	all[4].dst_reg = BPF_REG_2;
	all[4].imm = (int32_t)mem_len;
	/* 5: call prog (insn KBPF_RAW_PROLOG_CNT = 5 + 1 + imm) */
	all[5].code = BPF_JMP | BPF_CALL;
	all[5].src_reg = BPF_PSEUDO_CALL;
	all[5].imm = KBPF_RAW_PROLOG_CNT - 6;
	/* 6: *(u64 *)(r6 + 0) = r0 */
	all[6].code = BPF_STX | BPF_DW | BPF_MEM;
	all[6].dst_reg = BPF_REG_6;
	all[6].src_reg = BPF_REG_0;
	/* 7: r0 = XDP_PASS; 8: exit */
	all[7].code = BPF_ALU64 | BPF_MOV | BPF_K;
	all[7].dst_reg = BPF_REG_0;
	all[7].imm = XDP_PASS;
	all[8].code = BPF_JMP | BPF_EXIT;
	memcpy(all + KBPF_RAW_PROLOG_CNT, insns, cnt * sizeof(*insns));

	err = kr->prog_fd = kbpf_prog_load_xdp(all, cnt + KBPF_RAW_PROLOG_CNT, log, log_len);
	free(all);
	all = NULL;
	if (err < 0)
		goto fail;
	return 0;
fail:
	free(all);
	kbpf_raw_close(kr);
	return err;
}

int kbpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
		    uint32_t max_entries, uint32_t map_flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key_size;
	attr.value_size = value_size;
	attr.max_entries = max_entries;
	attr.map_flags = map_flags;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

int kbpf_map_update(int map_fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = ptr_u64(key);
	attr.value = ptr_u64(value);
	attr.flags = flags;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &attr);
}

int kbpf_map_lookup(int map_fd, const void *key, void *value)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = ptr_u64(key);
	attr.value = ptr_u64(value);
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &attr);
}

int kbpf_map_delete(int map_fd, const void *key)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = ptr_u64(key);
	return sys_bpf(BPF_MAP_DELETE_ELEM, &attr);
}


int kbpf_prog_load(uint32_t prog_type, const struct bpf_insn *insns, size_t cnt,
		   char *log, size_t log_len)
{
	int fd, again;

	if (log && log_len)
		log[0] = 0;
	if (cnt > UINT32_MAX)
		return -E2BIG;
	/* Without a log first, then with one only to learn why (as kbpf_prog_load_xdp:
	 * a log that overflows can fail an otherwise good load). */
	fd = prog_load_type(prog_type, insns, cnt, 0, NULL, 0);
	if (fd >= 0 || !log || log_len < 2)
		return fd;
	again = prog_load_type(prog_type, insns, cnt, 1, log, log_len);
	if (again >= 0)
		return again;
	log[log_len - 1] = 0;
	return fd;
}

#else /* no bpf() on this system */

int kbpf_array_create(uint32_t value_size, uint32_t max_entries)
{
	(void)value_size; (void)max_entries;
	return -ENOSYS;
}
int kbpf_array_update(int map_fd, uint32_t key, const void *value)
{
	(void)map_fd; (void)key; (void)value;
	return -ENOSYS;
}
int kbpf_array_lookup(int map_fd, uint32_t key, void *value)
{
	(void)map_fd; (void)key; (void)value;
	return -ENOSYS;
}
int kbpf_prog_test_run(int prog_fd, const void *data, uint32_t data_len, uint32_t repeat,
		       uint32_t *retval, uint32_t *duration_ns)
{
	(void)prog_fd; (void)data; (void)data_len; (void)repeat; (void)retval;
	(void)duration_ns;
	return -ENOSYS;
}
int kbpf_probe(char *reason, size_t len)
{
	if (reason)
		snprintf(reason, len, "no bpf() system call on this platform");
	return -ENOSYS;
}
int kbpf_map_create(uint32_t type, uint32_t key_size, uint32_t value_size,
		    uint32_t max_entries, uint32_t map_flags)
{
	(void)type; (void)key_size; (void)value_size; (void)max_entries; (void)map_flags;
	return -ENOSYS;
}
int kbpf_map_update(int map_fd, const void *key, const void *value, uint64_t flags)
{
	(void)map_fd; (void)key; (void)value; (void)flags;
	return -ENOSYS;
}
int kbpf_map_lookup(int map_fd, const void *key, void *value)
{
	(void)map_fd; (void)key; (void)value;
	return -ENOSYS;
}
int kbpf_map_delete(int map_fd, const void *key)
{
	(void)map_fd; (void)key;
	return -ENOSYS;
}

#endif

int kbpf_raw_run(struct kbpf_raw *kr, void *mem, uint32_t repeat, uint64_t *r0,
		 uint32_t *duration_ns)
{
	uint8_t pkt[64] = { 0 };
	uint64_t res = 0;
	uint32_t ret = 0;
	int err;

	if (kr->res_map_fd < 0 || kr->prog_fd < 0 || (kr->mem_len && kr->mem_map_fd < 0))
		return -EBADF;
	if (kr->mem_len) {
		err = kbpf_array_update(kr->mem_map_fd, 0, mem);
		if (err < 0)
			return err;
	}
	err = kbpf_array_update(kr->res_map_fd, 0, &res);
	if (err < 0)
		return err;
	err = kbpf_prog_test_run(kr->prog_fd, pkt, sizeof(pkt), repeat, &ret, duration_ns);
	if (err < 0)
		return err;
	if (ret != 2 /* XDP_PASS */)
		return -EIO;
	if (kr->mem_len) {
		err = kbpf_array_lookup(kr->mem_map_fd, 0, mem);
		if (err < 0)
			return err;
	}
	err = kbpf_array_lookup(kr->res_map_fd, 0, &res);
	if (err < 0)
		return err;
	if (r0)
		*r0 = res;
	return 0;
}

void kbpf_raw_close(struct kbpf_raw *kr)
{
	if (!kr)
		return;
	if (kr->prog_fd >= 0)
		close(kr->prog_fd);
	if (kr->mem_map_fd >= 0)
		close(kr->mem_map_fd);
	if (kr->res_map_fd >= 0)
		close(kr->res_map_fd);
	kr->prog_fd = kr->mem_map_fd = kr->res_map_fd = -1;
}

int kbpf_num_possible_cpus(void)
{
	/* A list of ranges: "0-3", "0,2-5,7". */
	char buf[4096];
	unsigned long lo, hi;
	const char *p;
	char *end;
	size_t n;
	int cnt = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (p = buf; *p && *p != '\n';) {
		lo = strtoul(p, &end, 10);
		if (end == p)
			return -EINVAL;
		hi = lo;
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				return -EINVAL;
			p = end;
		}
		if (hi - lo >= (unsigned long)(1 << 20) - (unsigned long)cnt)
			return -E2BIG;
		cnt += (int)(hi - lo + 1);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return cnt > 0 ? cnt : -EINVAL;
}

/* Lines of the verifier log that are not the reason for a rejection. */
static int is_trace_line(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return 1;
	/* "12: (b7) r0 = 1" / "12: R0=..." — an instruction or a state line */
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i > 0 && i < n && s[i] == ':')
		return 1;
	if (n >= 5 && !memcmp(s, "from ", 5))
		return 1;
	if (s[0] == ';' || s[0] == ' ' || s[0] == '\t')
		return 1;
	return 0;
}

static int is_trailer_line(const char *s, size_t n)
{
	static const char *const trailers[] = {
		"processed ", "verification time", "stack depth", "max_states_per_insn",
	};
	size_t i;

	if (n == 0)
		return 1;
	for (i = 0; i < sizeof(trailers) / sizeof(trailers[0]); i++) {
		size_t l = strlen(trailers[i]);
		if (n >= l && !memcmp(s, trailers[i], l))
			return 1;
	}
	return 0;
}

void kbpf_log_reason(const char *log, char *out, size_t len)
{
	const char *line[2048];
	size_t llen[2048];
	size_t nl = 0, i, pick;
	const char *p;

	if (!out || !len)
		return;
	out[0] = 0;
	if (!log)
		return;
	/* Keep the last lines only: the reason is at the end. */
	for (p = log; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (nl == sizeof(line) / sizeof(line[0])) {
			memmove(line, line + 1, (nl - 1) * sizeof(line[0]));
			memmove(llen, llen + 1, (nl - 1) * sizeof(llen[0]));
			nl--;
		}
		line[nl] = p;
		llen[nl] = n;
		nl++;
		p = e ? e + 1 : p + n;
	}
	while (nl > 0 && is_trailer_line(line[nl - 1], llen[nl - 1]))
		nl--;
	if (nl == 0)
		return;
	/* The reason starts after the last instruction/state line. */
	pick = nl - 1;
	for (i = nl; i-- > 0;) {
		if (is_trace_line(line[i], llen[i])) {
			if (i + 1 < nl)
				pick = i + 1;
			break;
		}
		pick = i;
	}
	snprintf(out, len, "%.*s", (int)llen[pick], line[pick]);
}

/* ---- Program types (tests/test_progtypes.c): the full BPF_PROG_TEST_RUN ------------- */
#if defined(__linux__) && defined(__NR_bpf)

int kbpf_test_run_full(int prog_fd, struct kbpf_test_run *t)
{
	union bpf_attr attr;
	int err;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)prog_fd;
	attr.test.data_in = ptr_u64(t->data_in);
	attr.test.data_size_in = t->data_size_in;
	attr.test.data_out = ptr_u64(t->data_out);
	attr.test.data_size_out = t->data_size_out;
	attr.test.ctx_in = ptr_u64(t->ctx_in);
	attr.test.ctx_size_in = t->ctx_size_in;
	attr.test.ctx_out = ptr_u64(t->ctx_out);
	attr.test.ctx_size_out = t->ctx_size_out;
	attr.test.repeat = t->repeat;
	err = sys_bpf(BPF_PROG_TEST_RUN, &attr);
	/* The kernel writes the outputs back before reporting -ENOSPC. */
	if (err == 0 || err == -ENOSPC) {
		t->data_size_out = attr.test.data_size_out;
		t->ctx_size_out = attr.test.ctx_size_out;
		t->retval = attr.test.retval;
		t->duration_ns = attr.test.duration;
	}
	return err < 0 ? err : 0;
}

#else

int kbpf_test_run_full(int prog_fd, struct kbpf_test_run *t)
{
	(void)prog_fd; (void)t;
	return -ENOSYS;
}

#endif
