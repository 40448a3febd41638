/*
 * kernel_examples.c — the examples against the kernel: every example the kernel
 * can test-run (the XDP ones) is loaded twice, into bpfvm through the public
 * object API and into the kernel with libbpf (bpf_object__open_file / load), with
 * the same .rodata configuration and the same map set-up; both run the same
 * packets (example_pkts.c) with BPF_PROG_TEST_RUN semantics, and must agree
 * exactly on:
 *  - every run: error code, return value, data_out (bytes and length);
 *  - after every packet, every map, all keys and values (hash and LPM keys as
 *    sets; maps of maps and prog arrays by which slots are filled);
 *  - every ring-buffer record, in order;
 *  - the relocated instructions of every program (CO-RE included: core_user,
 *    which the kernel cannot test-run, is loaded against each application BTF
 *    and its instructions compared);
 *  - the .rodata layout bpfvm's tests assume (from libbpf's BTF).
 * Every bpfvm engine is compared, each with fresh objects on both sides. The
 * number of agreeing cases is printed. Exits 77 (skipped) where bpf() does not
 * work (not root, seccomp, no BPF_PROG_TEST_RUN) or no examples were compiled.
 */
#include "kernel_bpf.h"	/* before the bpfvm headers: brings <linux/bpf.h> */

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "example_pkts.h"
#include "testutil.h"

#include "test_engines.h"

/* Cases: runs, map comparisons, record comparisons, instruction comparisons. */
static unsigned agreed, disagreed;
static unsigned n_runs, n_maps, n_records, n_insns, n_layout;

static char where[256];
static const char *cur_dir, *cur_cc, *cur_engine_name;
static enum bpfvm_engine cur_engine;

static char vm_log[512];
static char kernel_log[8192];
static size_t kernel_log_len;

static void vm_log_fn(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		snprintf(vm_log, sizeof(vm_log), "%s", msg);
}

/* libbpf's messages, kept (last 8 KiB) for when a load fails. */
static int libbpf_log_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (kernel_log_len > sizeof(kernel_log) - 512)
		kernel_log_len = 0;
	n = vsnprintf(kernel_log + kernel_log_len, sizeof(kernel_log) - kernel_log_len, fmt, ap);
	if (n > 0)
		kernel_log_len += (size_t)n < sizeof(kernel_log) - kernel_log_len
				  ? (size_t)n : sizeof(kernel_log) - kernel_log_len - 1;
	return 0;
}

/* One case: counted, and reported when the two sides differ. */
static bool agree(bool same, unsigned *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool agree(bool same, unsigned *kind, const char *fmt, ...)
{
	va_list ap;

	(*kind)++;
	if (same) {
		agreed++;
		t_pass++;
		return true;
	}
	disagreed++;
	t_fail++;
	fprintf(stderr, "DISAGREE %s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* ---- One example loaded on both sides ----------------------------------------- */
struct pair {
	struct bpf_object *k;
	struct bpfvm_object *v;
	struct ring_buffer *k_rb;
	struct bpfvm_ring_buffer *v_rb;
};

/* A configuration step, applied to both sides the same way. */
typedef void (*pair_fn)(struct pair *p);

struct scenario {
	const char *label;
	const char *file;
	const char *progs[5];		/* run on each packet, in this order */
	const struct fw_config *fw;	/* xdp_firewall's .rodata, or NULL */
	pair_fn setup;			/* after load */
	pair_fn phase2;			/* between two passes over the packets (or NULL) */
	const char *ringbuf;		/* the ring buffer to compare, or NULL */
};

static struct bpf_map *k_map(struct pair *p, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->k, name);

	CHECK(m != NULL, "%s: kernel: no map %s", where, name);
	return m;
}

static struct bpfvm_map *v_map(struct pair *p, const char *name)
{
	struct bpfvm_map *m = bpfvm_object__find_map_by_name(p->v, name);

	CHECK(m != NULL, "%s: bpfvm: no map %s", where, name);
	return m;
}

/* Updates key -> value in the map called name on both sides. */
static void both_update(struct pair *p, const char *name, const void *key, size_t ksz,
			const void *val, size_t vsz)
{
	struct bpf_map *km = k_map(p, name);
	struct bpfvm_map *vm = v_map(p, name);
	int kerr, verr;

	if (!km || !vm)
		return;
	kerr = bpf_map_update_elem(bpf_map__fd(km), key, val, BPF_ANY);
	verr = bpfvm_map__update_elem(vm, key, ksz, val, vsz, BPFVM_ANY);
	CHECK(kerr == 0 && verr == 0, "%s: update %s: kernel %d, bpfvm %d", where, name,
	      kerr ? -errno : 0, verr);
}

static void both_delete(struct pair *p, const char *name, uint32_t key)
{
	struct bpf_map *km = k_map(p, name);
	struct bpfvm_map *vm = v_map(p, name);
	int kerr, verr;

	if (!km || !vm)
		return;
	kerr = bpf_map_delete_elem(bpf_map__fd(km), &key) ? -errno : 0;
	verr = bpfvm_map__delete_elem(vm, &key, 4, 0);
	CHECK(kerr == 0 && verr == 0, "%s: delete %s[%u]: kernel %d, bpfvm %d", where, name,
	      key, kerr, verr);
}

/* xdp_firewall: the blocklist. */
static void fw_setup(struct pair *p)
{
	struct ipv4_lpm_key net = { 24, __builtin_bswap32(FW_BLOCK_NET) };
	struct ipv4_lpm_key host = { 32, __builtin_bswap32(FW_BLOCK_HOST) };
	uint64_t zero = 0;

	both_update(p, "blocklist", &net, sizeof(net), &zero, 8);
	both_update(p, "blocklist", &host, sizeof(host), &zero, 8);
}

/* loops: the weights, then one changed. */
static void loops_setup(struct pair *p)
{
	static const uint64_t w[8] = { 5, 10, 20, 2000, 1, 2, 3, 4 };

	for (uint32_t k = 0; k < 8; k++)
		both_update(p, "weights", &k, 4, &w[k], 8);
}

static void loops_phase2(struct pair *p)
{
	uint32_t k = 3;
	uint64_t v = 7;

	both_update(p, "weights", &k, 4, &v, 8);
}

/* tail_dispatch: ICMP's slot emptied, ICMPv6's given handle_icmp. */
static void tail_phase2(struct pair *p)
{
	struct bpf_program *kp = bpf_object__find_program_by_name(p->k, "handle_icmp");
	struct bpfvm_prog *vp = bpfvm_object__find_program_by_name(p->v, "handle_icmp");
	struct bpf_map *km = k_map(p, "handlers");
	struct bpfvm_map *vm = v_map(p, "handlers");
	uint32_t key = 58;
	int fd, kerr, verr;

	both_delete(p, "handlers", 1);
	if (!kp || !vp || !km || !vm)
		return;
	fd = bpf_program__fd(kp);
	kerr = bpf_map_update_elem(bpf_map__fd(km), &key, &fd, BPF_ANY) ? -errno : 0;
	verr = bpfvm_map__update_prog(vm, key, vp, BPFVM_ANY);
	CHECK(kerr == 0 && verr == 0, "%s: handlers[58]: kernel %d, bpfvm %d", where, kerr, verr);
}

/* map_in_map: by_version[0] = v6_protos, by_proto[17] deleted. */
static void mim_phase2(struct pair *p)
{
	struct bpf_map *kouter = k_map(p, "by_version"), *kinner = k_map(p, "v6_protos");
	struct bpfvm_map *vouter = v_map(p, "by_version"), *vinner = v_map(p, "v6_protos");
	uint32_t key = 0;
	int fd, kerr, verr;

	if (kouter && kinner && vouter && vinner) {
		fd = bpf_map__fd(kinner);
		kerr = bpf_map_update_elem(bpf_map__fd(kouter), &key, &fd, BPF_ANY) ? -errno : 0;
		verr = bpfvm_map__update_inner_map(vouter, &key, 4, vinner, BPFVM_ANY);
		CHECK(kerr == 0 && verr == 0, "%s: by_version[0]: kernel %d, bpfvm %d", where,
		      kerr, verr);
	}
	both_delete(p, "by_proto", 17);
}

/* ---- Opening and loading both sides --------------------------------------------- */

/* Sets xdp_firewall's .rodata on both sides, after checking from the kernel
 * object's BTF that the variables sit where example_pkts.h says. */
static bool set_fw_rodata(struct pair *p, const struct fw_config *cfg)
{
	static const struct {
		const char *name;
		uint32_t off;
	} vars[] = {
		{ "drop_ipv6", FW_RODATA_DROP_IPV6 },
		{ "default_action", FW_RODATA_DEFAULT },
		{ "blocked_port", FW_RODATA_PORT },
	};
	struct btf *btf = bpf_object__btf(p->k);
	struct bpf_map *km = NULL, *m;
	struct bpfvm_map *vm = v_map(p, ".rodata");
	const struct btf_type *sec;
	uint8_t data[FW_RODATA_SIZE];
	uint32_t zero = 0;
	size_t sz = 0;
	int id, err;

	bpf_object__for_each_map(m, p->k) {
		const char *n = bpf_map__name(m);

		if (bpf_map__is_internal(m) && strlen(n) >= 7 &&
		    strcmp(n + strlen(n) - 7, ".rodata") == 0)
			km = m;
	}
	CHECK(km && vm && btf, "%s: .rodata / BTF missing", where);
	if (!km || !vm || !btf)
		return false;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	sec = id > 0 ? btf__type_by_id(btf, (uint32_t)id) : NULL;
	CHECK(sec != NULL, "%s: no DATASEC .rodata", where);
	if (!sec)
		return false;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const struct btf_var_secinfo *vsi = btf_var_secinfos(sec);
		int found = -1;

		for (unsigned j = 0; j < btf_vlen(sec); j++, vsi++) {
			const struct btf_type *var = btf__type_by_id(btf, vsi->type);

			if (var && strcmp(btf__name_by_offset(btf, var->name_off), vars[i].name) == 0)
				found = (int)vsi->offset;
		}
		agree(found == (int)vars[i].off, &n_layout, ".rodata %s at %d, assumed %u",
		      vars[i].name, found, vars[i].off);
	}
	if (bpf_map__initial_value(km, &sz) == NULL || sz != FW_RODATA_SIZE ||
	    bpfvm_map__value_size(vm) != FW_RODATA_SIZE) {
		CHECK(0, "%s: .rodata sizes: kernel %zu, bpfvm %u", where, sz,
		      bpfvm_map__value_size(vm));
		return false;
	}
	memcpy(data, bpf_map__initial_value(km, &sz), sizeof(data));
	fw_rodata_fill(data, cfg);
	err = bpf_map__set_initial_value(km, data, sizeof(data));
	CHECK(err == 0, "%s: bpf_map__set_initial_value: %d", where, err);
	err = bpfvm_map__update_elem(vm, &zero, 4, data, sizeof(data), BPFVM_ANY);
	CHECK(err == 0, "%s: bpfvm .rodata update: %d", where, err);
	return true;
}

struct rb_log {
	uint8_t buf[64][64];
	size_t size[64];
	size_t cnt;
};
static struct rb_log k_records, v_records;

static int rb_append(void *ctx, void *data, size_t size)
{
	struct rb_log *l = ctx;

	if (l->cnt < 64) {
		memset(l->buf[l->cnt], 0, 64);
		memcpy(l->buf[l->cnt], data, size < 64 ? size : 64);
		l->size[l->cnt] = size;
	}
	l->cnt++;
	return 0;
}

static void pair_close(struct pair *p)
{
	ring_buffer__free(p->k_rb);
	bpfvm_ring_buffer__free(p->v_rb);
	bpf_object__close(p->k);
	bpfvm_object__close(p->v);
	memset(p, 0, sizeof(*p));
}

static bool pair_open(struct pair *p, const struct scenario *s, const char *btf)
{
	char path[1024], btf_path[1024];
	struct bpfvm_object_open_opts vo = { .sz = sizeof(vo) };
	LIBBPF_OPTS(bpf_object_open_opts, ko);
	int err;

	memset(p, 0, sizeof(*p));
	example_path(path, sizeof(path), cur_dir, s->file);
	if (btf) {
		example_path(btf_path, sizeof(btf_path), cur_dir, btf);
		ko.btf_custom_path = btf_path;
		vo.btf_custom_path = btf_path;
	}
	kernel_log_len = 0;
	kernel_log[0] = 0;
	p->k = bpf_object__open_file(path, &ko);
	if (!p->k) {
		CHECK(0, "%s: libbpf: open %s: %s\n%s", where, path, strerror(errno), kernel_log);
		return false;
	}
	vm_log[0] = 0;
	p->v = bpfvm_object__open_file(path, &vo);
	if (!p->v) {
		CHECK(0, "%s: bpfvm: open %s: %s (%s)", where, path, strerror(errno), vm_log);
		pair_close(p);
		return false;
	}
	if (s->fw && !set_fw_rodata(p, s->fw)) {
		pair_close(p);
		return false;
	}
	err = bpf_object__load(p->k);
	if (err) {
		CHECK(0, "%s: libbpf: load: %s\n%s", where, strerror(-err), kernel_log);
		pair_close(p);
		return false;
	}
	vm_log[0] = 0;
	err = bpfvm_object__load(p->v);
	if (err) {
		CHECK(0, "%s: bpfvm: load: %s (%s)", where, strerror(-err), vm_log);
		pair_close(p);
		return false;
	}
	if (s->ringbuf) {
		struct bpf_map *km = k_map(p, s->ringbuf);
		struct bpfvm_map *vm = v_map(p, s->ringbuf);

		if (km)
			p->k_rb = ring_buffer__new(bpf_map__fd(km), rb_append, &k_records, NULL);
		if (vm)
			p->v_rb = bpfvm_ring_buffer__new(vm, rb_append, &v_records);
		CHECK(p->k_rb && p->v_rb, "%s: ring buffers", where);
		if (!p->k_rb || !p->v_rb) {
			pair_close(p);
			return false;
		}
	}
	if (s->setup)
		s->setup(p);
	return true;
}

/* ---- Comparing ------------------------------------------------------------------ */

/* The relocated instructions of every program: equal but for map references
 * (fds in the kernel, handles or indexes in bpfvm). */
static void compare_insns(struct pair *p)
{
	struct bpf_program *kp;

	bpf_object__for_each_program(kp, p->k) {
		const char *name = bpf_program__name(kp);
		struct bpfvm_prog *vp = bpfvm_object__find_program_by_name(p->v, name);
		const struct bpf_insn *ki = bpf_program__insns(kp), *vi;
		size_t kn = bpf_program__insn_cnt(kp), vn, bad = (size_t)-1;

		if (!agree(vp != NULL, &n_insns, "program %s only in the kernel", name))
			continue;
		vi = bpfvm_prog__insns(vp);
		vn = bpfvm_prog__insn_cnt(vp);
		for (size_t i = 0; i < kn && i < vn && bad == (size_t)-1; i++) {
			const struct bpf_insn *a = &ki[i], *b = &vi[i];
			bool map_ref = a->code == (BPF_LD | BPF_IMM | BPF_DW) &&
				       a->src_reg != BPF_PSEUDO_FUNC;

			if (map_ref) {		/* lddw of a map or map value: 2 slots */
				if (b->code != a->code || b->dst_reg != a->dst_reg)
					bad = i;
				i++;
				continue;
			}
			if (memcmp(a, b, sizeof(*a)) != 0)
				bad = i;
		}
		if (bad == (size_t)-1 && kn != vn)
			bad = kn < vn ? kn : vn;
		if (bad == (size_t)-1) {
			agree(true, &n_insns, "%s", name);
		} else {
			const struct bpf_insn *a = bad < kn ? &ki[bad] : NULL;
			const struct bpf_insn *b = bad < vn ? &vi[bad] : NULL;

			agree(false, &n_insns,
			      "program %s: %zu / %zu instructions; insn %zu: kernel %02x %u %u %d %d, "
			      "bpfvm %02x %u %u %d %d", name, kn, vn, bad,
			      a ? a->code : 0, a ? a->dst_reg : 0, a ? a->src_reg : 0,
			      a ? a->off : 0, a ? a->imm : 0, b ? b->code : 0, b ? b->dst_reg : 0,
			      b ? b->src_reg : 0, b ? b->off : 0, b ? b->imm : 0);
		}
	}
}

/* The kernel map paired with bpfvm's map m: by name; bpfvm's ".bss" is libbpf's
 * "<object prefix>.bss". */
static struct bpf_map *k_peer(struct pair *p, const struct bpfvm_map *m)
{
	const char *name = bpfvm_map__name(m);
	struct bpf_map *km;

	if (name[0] != '.')
		return bpf_object__find_map_by_name(p->k, name);
	bpf_object__for_each_map(km, p->k) {
		const char *n = bpf_map__name(km);
		size_t nl = strlen(n), l = strlen(name);

		if (bpf_map__is_internal(km) && nl >= l && strcmp(n + nl - l, name) == 0)
			return km;
	}
	return NULL;
}

#define MAX_KEYS 4096
static uint8_t k_keys[MAX_KEYS][16], v_keys[MAX_KEYS][16];

/* Every key and value of one map, both sides. */
static void compare_map(struct pair *p, struct bpfvm_map *vm, const char *when)
{
	struct bpf_map *km = k_peer(p, vm);
	uint32_t type = bpfvm_map__type(vm), ks = bpfvm_map__key_size(vm);
	uint32_t vs = bpfvm_map__value_size(vm);
	bool slots = type == BPFVM_MAP_TYPE_ARRAY_OF_MAPS || type == BPFVM_MAP_TYPE_HASH_OF_MAPS ||
		     type == BPFVM_MAP_TYPE_PROG_ARRAY, prog_array;
	size_t kn = 0, vn = 0, bad = 0;
	uint8_t kv[4096], vv[4096];
	const void *prev;
	char first[160] = "";
	int fd;

	if (type == BPFVM_MAP_TYPE_RINGBUF)
		return;		/* compared record by record */
	/* A PROG_ARRAY's slots hold program ids in the kernel, and bpfvm has no ids
	 * (its lookup from user space is -EOPNOTSUPP): only the keys are compared;
	 * the tail calls the runs make show what the slots hold. */
	prog_array = type == BPFVM_MAP_TYPE_PROG_ARRAY;
	if (!agree(km != NULL, &n_maps, "map %s only in bpfvm", bpfvm_map__name(vm)))
		return;
	if (!agree(bpf_map__key_size(km) == ks && (slots || bpf_map__value_size(km) == vs) &&
		   bpf_map__type(km) == type, &n_maps, "map %s: shape", bpfvm_map__name(vm)))
		return;
	if (ks > 16 || vs > sizeof(vv))
		return;
	fd = bpf_map__fd(km);
	for (prev = NULL; kn < MAX_KEYS && bpf_map_get_next_key(fd, prev, k_keys[kn]) == 0;
	     prev = k_keys[kn++])
		;
	for (prev = NULL; vn < MAX_KEYS && bpfvm_map__get_next_key(vm, prev, v_keys[vn], ks) == 0;
	     prev = v_keys[vn++])
		;
	/* Each kernel key: same value in bpfvm (slots: both filled or both empty). */
	for (size_t i = 0; i < kn && !prog_array; i++) {
		int ke = bpf_map_lookup_elem(fd, k_keys[i], kv) ? -errno : 0;
		int ve = bpfvm_map__lookup_elem(vm, k_keys[i], ks, vv, vs, 0);

		if (slots) {
			/* A filled slot holds an id in the kernel, a handle in bpfvm:
			 * compare only whether it is filled. */
			if ((ke == 0) != (ve == 0) && !bad++)
				snprintf(first, sizeof(first), "slot %u: kernel %d, bpfvm %d",
					 *(uint32_t *)k_keys[i], ke, ve);
			continue;
		}
		if ((ke != ve || (ke == 0 && memcmp(kv, vv, vs) != 0)) && !bad++) {
			uint64_t a = 0, b = 0;

			memcpy(&a, kv, vs < 8 ? vs : 8);
			memcpy(&b, vv, vs < 8 ? vs : 8);
			snprintf(first, sizeof(first), "key %08x...: kernel %d %#" PRIx64
				 "..., bpfvm %d %#" PRIx64 "...", *(uint32_t *)k_keys[i], ke, a, ve,
				 b);
		}
	}
	/* Each bpfvm key exists in the kernel (hash and LPM maps: the sets match). */
	if (!slots)
		for (size_t i = 0; i < vn; i++)
			if (bpf_map_lookup_elem(fd, v_keys[i], kv) != 0 && !bad++)
				snprintf(first, sizeof(first), "key %08x... only in bpfvm",
					 *(uint32_t *)v_keys[i]);
	agree(!bad && kn == vn, &n_maps, "map %s %s: %zu / %zu keys, %zu differ: %s",
	      bpfvm_map__name(vm), when, kn, vn, bad, first);
}

static void compare_maps(struct pair *p, const char *when)
{
	struct bpfvm_map *vm = NULL;
	struct bpf_map *km;
	size_t vcnt = 0, kcnt = 0;

	while ((vm = bpfvm_object__next_map(p->v, vm)) != NULL) {
		compare_map(p, vm, when);
		vcnt++;
	}
	bpf_object__for_each_map(km, p->k)
		kcnt++;
	agree(vcnt == kcnt, &n_maps, "%zu maps in the kernel, %zu in bpfvm", kcnt, vcnt);
}

static void compare_records(struct pair *p)
{
	size_t bad = (size_t)-1;

	k_records.cnt = v_records.cnt = 0;
	ring_buffer__consume(p->k_rb);
	bpfvm_ring_buffer__consume(p->v_rb);
	for (size_t i = 0; i < k_records.cnt && i < v_records.cnt && i < 64; i++)
		if (k_records.size[i] != v_records.size[i] ||
		    memcmp(k_records.buf[i], v_records.buf[i], 64) != 0) {
			bad = i;
			break;
		}
	agree(k_records.cnt == v_records.cnt && bad == (size_t)-1, &n_records,
	      "ring buffer: %zu records in the kernel, %zu in bpfvm, first difference %zd",
	      k_records.cnt, v_records.cnt, (ssize_t)bad);
}

/* Runs program name on packet pk on both sides. */
static void compare_run(struct pair *p, const char *name, const struct pkt *pk)
{
	static uint8_t kout[PKT_MAX + 256], vout[PKT_MAX + 256];
	struct bpf_program *kp = bpf_object__find_program_by_name(p->k, name);
	struct bpfvm_prog *vp = bpfvm_object__find_program_by_name(p->v, name);
	LIBBPF_OPTS(bpf_test_run_opts, kt, .data_in = pk->data, .data_size_in = pk->len,
		    .data_out = kout, .data_size_out = sizeof(kout), .repeat = 1);
	struct bpfvm_test_run_opts vt = {
		.sz = sizeof(vt), .data_in = pk->data, .data_size_in = pk->len,
		.data_out = vout, .data_size_out = sizeof(vout), .engine = cur_engine,
		.budget = 10000000,
	};
	int ke, ve;

	if (!kp || !vp) {
		CHECK(0, "%s: program %s missing", where, name);
		return;
	}
	memset(kout, 0xa5, sizeof(kout));
	memset(vout, 0xa5, sizeof(vout));
	ke = bpf_prog_test_run_opts(bpf_program__fd(kp), &kt);
	if (ke > 0)
		ke = -ke;
	vm_log[0] = 0;
	ve = bpfvm_prog__test_run(vp, &vt);
	if (ke || ve) {
		agree(ke == ve, &n_runs, "%s: kernel error %d, bpfvm %d (%s)", name, ke, ve, vm_log);
		return;
	}
	agree(kt.retval == vt.retval && kt.data_size_out == vt.data_size_out &&
	      memcmp(kout, vout, kt.data_size_out < sizeof(kout) ? kt.data_size_out
							      : sizeof(kout)) == 0,
	      &n_runs, "%s: kernel r0 %u, %u bytes; bpfvm r0 %" PRIu64 ", %u bytes%s", name,
	      kt.retval, kt.data_size_out, vt.retval, vt.data_size_out,
	      kt.retval == vt.retval && kt.data_size_out == vt.data_size_out
	      ? " (data_out differs)" : "");
}

static void run_scenario(const struct scenario *s)
{
	struct pair p;
	size_t n;
	const struct pkt *pk = example_packets(&n);

	snprintf(where, sizeof(where), "%s/%s %s", cur_cc, cur_engine_name, s->label);
	if (!pair_open(&p, s, NULL))
		return;
	compare_insns(&p);
	compare_maps(&p, "after load");
	for (int phase = 1; phase <= (s->phase2 ? 2 : 1); phase++) {
		if (phase == 2)
			s->phase2(&p);
		for (size_t i = 0; i < n; i++) {
			snprintf(where, sizeof(where), "%s/%s %s %s (pass %d)", cur_cc,
				 cur_engine_name, s->label, pk[i].name, phase);
			for (size_t j = 0; j < 5 && s->progs[j]; j++)
				compare_run(&p, s->progs[j], &pk[i]);
			if (s->ringbuf)
				compare_records(&p);
			compare_maps(&p, "after the packet");
		}
	}
	pair_close(&p);
}

/* core_user: a uprobe program, which the kernel does not test-run; its CO-RE
 * relocations against each application BTF must be the kernel's (libbpf's).
 * "Own BTF" is the object itself as btf_custom_path: libbpf would otherwise
 * look for struct request in the kernel's BTF. */
static void core_scenario(const char *btf)
{
	static const struct scenario s = { .label = "core_user", .file = "core_user.bpf.o" };
	struct pair p;

	snprintf(where, sizeof(where), "%s/%s core_user (BTF of %s)", cur_cc, cur_engine_name,
		 btf);
	if (!pair_open(&p, &s, btf))
		return;
	compare_insns(&p);
	compare_maps(&p, "after load");
	pair_close(&p);
}

int main(void)
{
	static const struct fw_config fw1 = { 0, 2, 0 }, fw2 = { 1, 3, 22 }, fw3 = { 0, 1, 53 };
	const struct scenario scenarios[] = {
		{ .label = "xdp_proto_count", .file = "xdp_proto_count.bpf.o",
		  .progs = { "xdp_proto_count" } },
		{ .label = "xdp_firewall (config 1)", .file = "xdp_firewall.bpf.o",
		  .progs = { "xdp_firewall" }, .fw = &fw1, .setup = fw_setup },
		{ .label = "xdp_firewall (config 2)", .file = "xdp_firewall.bpf.o",
		  .progs = { "xdp_firewall" }, .fw = &fw2, .setup = fw_setup },
		{ .label = "xdp_firewall (config 3)", .file = "xdp_firewall.bpf.o",
		  .progs = { "xdp_firewall" }, .fw = &fw3, .setup = fw_setup },
		{ .label = "ringbuf_events", .file = "ringbuf_events.bpf.o",
		  .progs = { "xdp_events" }, .ringbuf = "events" },
		{ .label = "tail_dispatch", .file = "tail_dispatch.bpf.o",
		  .progs = { "xdp_dispatch", "handle_tcp", "handle_udp", "handle_icmp" },
		  .phase2 = tail_phase2 },
		{ .label = "loops", .file = "loops.bpf.o",
		  .progs = { "xdp_sum_bytes", "xdp_bpf_loop", "xdp_for_each" },
		  .setup = loops_setup, .phase2 = loops_phase2 },
		{ .label = "map_in_map", .file = "map_in_map.bpf.o", .progs = { "xdp_mim" },
		  .phase2 = mim_phase2 },
	};
	const char *dirs[8];
	size_t ndirs = example_obj_dirs(dirs, 8);
	char reason[256];

	if (!ndirs) {
		printf("test_kernel_examples: skipped: no compiled examples\n");
		return TEST_SKIP;
	}
	if (kbpf_probe(reason, sizeof(reason)) < 0) {
		printf("test_kernel_examples: skipped: bpf() unavailable (%s)\n", reason);
		return TEST_SKIP;
	}
	libbpf_set_print(libbpf_log_fn);
	bpfvm_set_log(vm_log_fn, NULL);
	for (size_t d = 0; d < ndirs; d++) {
		cur_dir = dirs[d];
		cur_cc = strrchr(cur_dir, '/') ? strrchr(cur_dir, '/') + 1 : cur_dir;
		for (size_t e = 0; e < N_ENGINES; e++) {
			unsigned before = disagreed, a0 = agreed;

			if (!bpfvm_engine_available(engines[e].engine))
				continue;
			cur_engine = engines[e].engine;
			cur_engine_name = engines[e].name;
			for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
				run_scenario(&scenarios[i]);
			core_scenario("core_user.bpf.o");	/* its own BTF */
			core_scenario("app_v1.btf.o");
			core_scenario("app_v2.btf.o");
			printf("%s/%s: %u cases agreed, %u disagreed\n", cur_cc, cur_engine_name,
			       agreed - a0, disagreed - before);
		}
	}
	printf("test_kernel_examples: %u cases agreed with the kernel, %u disagreed "
	       "(%u runs, %u map comparisons, %u ring-buffer comparisons, %u programs' "
	       "instructions, %u layout checks)\n", agreed, disagreed, n_runs, n_maps,
	       n_records, n_insns, n_layout);
	if (!agreed)
		t_fail++;
	return test_summary();
}
