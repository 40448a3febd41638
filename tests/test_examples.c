/*
 * test_examples.c — the examples (examples/NAME.bpf.c) through the public object API:
 * every compiled set (one per clang) is opened, configured, loaded and run with
 * bpfvm_prog__test_run on the packets of example_pkts.c, on every engine, and
 * every result is checked against a small model of what the program must do:
 * return codes, data_out, map contents (lookup / get_next_key), ring-buffer
 * records, .rodata configuration, tail-call dispatch, loop results, map-in-map
 * counters, CO-RE values against offsetof. Exits 77 when the build compiled no
 * examples (no clang with the BPF target, or no libbpf headers).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "example_pkts.h"
#include "testutil.h"

/* ---- The application's struct request, as core_user.bpf.c sees it and as the
 * two releases of examples/core_user_app.h lay it out. */
struct req_version_local {
	uint16_t major, minor;
};
struct request_local {		/* the program's own definition */
	uint64_t id;
	uint32_t len;
	uint32_t flags;
	const char *path;
	struct req_version_local ver;
	uint64_t trace_id;
};
#define APP_V1
#define APP_REQ request_v1
#define APP_REQ_VERSION req_version_v1
#include "../examples/core_user_app.h"
#undef APP_V1
#undef APP_REQ
#undef APP_REQ_VERSION
#define APP_V2
#define APP_REQ request_v2
#define APP_REQ_VERSION req_version_v2
#include "../examples/core_user_app.h"
#undef APP_V2
#undef APP_REQ
#undef APP_REQ_VERSION

/* core_user.bpf.c's struct req_info */
struct req_info {
	uint64_t id;
	uint64_t trace_id;
	uint32_t len;
	uint32_t flags;
	uint16_t major;
	uint16_t minor;
	uint32_t has_trace_id;
	uint32_t off_len;
	uint32_t off_path;
	uint32_t size_len;
	uint32_t size_request;
	int32_t path_len;
	char path[32];
};

enum { XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT };

#include "test_engines.h"

/* The current case, for messages: "clang-14/jit xdp_firewall ipv4_tcp". */
static char where[256];
static const char *cur_dir;	/* object directory */
static const char *cur_cc;	/* its last component */
static enum bpfvm_engine cur_engine;
static const char *cur_engine_name;

/* The library's last log line, shown when something fails. */
static char last_log[512];

static void log_fn(enum bpfvm_log_level level, const char *msg, void *user)
{
	(void)user;
	if (level == BPFVM_LOG_WARN)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void set_where(const char *what, const char *pkt)
{
	snprintf(where, sizeof(where), "%s/%s %s%s%s", cur_cc, cur_engine_name, what,
		 pkt ? " " : "", pkt ? pkt : "");
}

static struct bpfvm_object *open_example(const char *file, const char *btf)
{
	struct bpfvm_object_open_opts o = { .sz = sizeof(o) };
	char path[1024], btf_path[1024];
	struct bpfvm_object *obj;

	if (btf)
		o.btf_custom_path = example_path(btf_path, sizeof(btf_path), cur_dir, btf);
	last_log[0] = 0;
	obj = bpfvm_object__open_file(example_path(path, sizeof(path), cur_dir, file), &o);
	CHECK(obj != NULL, "%s: open %s: %s (%s)", where, path, strerror(errno), last_log);
	return obj;
}

static int load(struct bpfvm_object *obj)
{
	int err;

	last_log[0] = 0;
	err = bpfvm_object__load(obj);
	CHECK(err == 0, "%s: load: %s (%s)", where, strerror(-err), last_log);
	return err;
}

static struct bpfvm_prog *prog_of(struct bpfvm_object *obj, const char *name, uint32_t type,
				  const char *sec)
{
	struct bpfvm_prog *p = bpfvm_object__find_program_by_name(obj, name);

	CHECK(p != NULL, "%s: no program %s", where, name);
	if (p) {
		CHECK_U64(bpfvm_prog__type(p), type, "%s: %s", where, name);
		CHECK_STR(bpfvm_prog__section_name(p), sec, "%s: %s", where, name);
		CHECK(bpfvm_prog__loaded(p), "%s: %s not loaded", where, name);
	}
	return p;
}

static struct bpfvm_map *map_of(struct bpfvm_object *obj, const char *name)
{
	struct bpfvm_map *m = bpfvm_object__find_map_by_name(obj, name);

	CHECK(m != NULL, "%s: no map %s", where, name);
	return m;
}

/* One XDP test run of p on the current engine: 0 or the negative errno; *ret,
 * out[0..*out_len) the packet as the program left it. */
static int run_xdp(struct bpfvm_prog *prog, const struct pkt *p, uint8_t *out,
		   uint32_t *out_len, uint64_t *ret)
{
	struct bpfvm_test_run_opts t = {
		.sz = sizeof(t),
		.data_in = p->data,
		.data_size_in = p->len,
		.data_out = out,
		.data_size_out = PKT_MAX,
		.engine = cur_engine,
		.budget = 10000000,
	};
	int err;

	last_log[0] = 0;
	err = bpfvm_prog__test_run(prog, &t);
	*ret = t.retval;
	*out_len = t.data_size_out;
	if (!err)
		CHECK(t.engine_used == cur_engine, "%s: ran on engine %d", where,
		      (int)t.engine_used);
	return err;
}

/* Runs p and checks the verdict and that the packet comes back as expect
 * (NULL: unchanged). Runt frames must be refused with EINVAL, as the kernel
 * does. Returns whether the program ran. */
static bool xdp_expect(struct bpfvm_prog *prog, const struct pkt *p, uint64_t verdict,
		       const uint8_t *expect)
{
	uint8_t out[PKT_MAX];
	uint32_t out_len = 0;
	uint64_t ret = 0;
	int err;

	if (!prog)
		return false;
	err = run_xdp(prog, p, out, &out_len, &ret);
	if (pkt_is_runt(p)) {
		CHECK(err == -EINVAL, "%s: a %u-byte frame gave %d, expected -EINVAL (%s)", where,
		      p->len, err, last_log);
		return false;
	}
	CHECK(err == 0, "%s: test run: %s (%s)", where, strerror(-err), last_log);
	if (err)
		return false;
	CHECK_U64(ret, verdict, "%s: verdict", where);
	CHECK_U64(out_len, p->len, "%s: data_size_out", where);
	if (out_len == p->len)
		CHECK(memcmp(out, expect ? expect : p->data, p->len) == 0,
		      "%s: data_out differs from the expected packet", where);
	return true;
}

static uint64_t lookup_u64(const struct bpfvm_map *m, uint32_t key)
{
	uint64_t v = 0;
	int err = bpfvm_map__lookup_elem(m, &key, 4, &v, 8, 0);

	CHECK(err == 0, "%s: %s[%u]: %s", where, bpfvm_map__name(m), key, strerror(-err));
	return v;
}

/* The value of a global-data map (".bss", ".rodata") into buf[0..len). */
static void read_global(struct bpfvm_object *obj, const char *name, void *buf, size_t len)
{
	struct bpfvm_map *m = map_of(obj, name);
	uint32_t zero = 0;
	int err;

	memset(buf, 0, len);
	if (!m)
		return;
	CHECK_U64(bpfvm_map__value_size(m), len, "%s: %s value size", where, name);
	if (bpfvm_map__value_size(m) != len)
		return;
	err = bpfvm_map__lookup_elem(m, &zero, 4, buf, len, 0);
	CHECK(err == 0, "%s: %s[0]: %s", where, name, strerror(-err));
}

/* A variable of a global-data map by name, found through the object's BTF (the
 * JSON form of bpfvm_map__format): clang decides the order of variables in a
 * section, so their offsets are not assumed. */
static uint64_t global_var(struct bpfvm_object *obj, const char *map, const char *var)
{
	uint8_t buf[256];
	char text[1024], key[64];
	struct bpfvm_map *m = map_of(obj, map);
	uint32_t vs = m ? bpfvm_map__value_size(m) : 0, zero = 0;
	const char *at;
	int err;

	if (!m || vs > sizeof(buf))
		return ~0ull;
	err = bpfvm_map__lookup_elem(m, &zero, 4, buf, vs, 0);
	CHECK(err == 0, "%s: %s[0]: %s", where, map, strerror(-err));
	err = bpfvm_map__format(m, true, buf, vs, BPFVM_FORMAT_JSON, text, sizeof(text));
	CHECK(err >= 0, "%s: format %s: %d", where, map, err);
	snprintf(key, sizeof(key), "\"%s\": ", var);
	at = err >= 0 ? strstr(text, key) : NULL;
	CHECK(at != NULL, "%s: no %s in %s: %s", where, var, map, text);
	return at ? strtoull(at + strlen(key), NULL, 0) : ~0ull;
}

/* Checks that the u32 -> u64 map m holds exactly model[k] != 0 for k < n. */
static void check_u32_u64_map(const struct bpfvm_map *m, const uint64_t *model, uint32_t n)
{
	uint32_t key, *prev = NULL, keys = 0, expected = 0;

	if (!m)
		return;
	for (uint32_t k = 0; k < n; k++)
		expected += model[k] != 0;
	while (bpfvm_map__get_next_key(m, prev, &key, 4) == 0 && keys <= n) {
		CHECK(key < n && model[key], "%s: %s has key %u", where, bpfvm_map__name(m), key);
		if (key < n)
			CHECK_U64(lookup_u64(m, key), model[key], "%s: %s[%u]", where,
				  bpfvm_map__name(m), key);
		keys++;
		prev = &key;
	}
	CHECK_U64(keys, expected, "%s: keys in %s", where, bpfvm_map__name(m));
}

/* ---- xdp_proto_count ------------------------------------------------------------ */
static void t_proto_count(void)
{
	struct proto_counters model[256], v;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpfvm_map *stats;
	uint32_t key, *prev = NULL, keys = 0, expected = 0;
	size_t n;
	const struct pkt *pk = example_packets(&n);

	set_where("xdp_proto_count", NULL);
	obj = open_example("xdp_proto_count.bpf.o", NULL);
	if (!obj || load(obj)) {
		bpfvm_object__close(obj);
		return;
	}
	CHECK_STR(bpfvm_object__license(obj), "GPL", "%s", where);
	prog = prog_of(obj, "xdp_proto_count", BPFVM_PROG_TYPE_XDP, "xdp");
	stats = map_of(obj, "proto_stats");
	memset(model, 0, sizeof(model));
	for (size_t i = 0; i < n; i++) {
		const struct pkt *p = &pk[i];

		set_where("xdp_proto_count", p->name);
		if (xdp_expect(prog, p, XDP_PASS, NULL) && p->ip_version && p->ip_complete) {
			model[p->proto].packets++;
			model[p->proto].bytes += p->len;
		}
	}
	set_where("xdp_proto_count", "(map)");
	if (stats) {
		CHECK_U64(bpfvm_map__type(stats), BPFVM_MAP_TYPE_HASH, "%s", where);
		while (bpfvm_map__get_next_key(stats, prev, &key, 4) == 0 && keys < 300) {
			int err = bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0);

			CHECK(err == 0 && key < 256, "%s: key %u: %d", where, key, err);
			if (!err && key < 256)
				CHECK(v.packets == model[key].packets && v.bytes == model[key].bytes,
				      "%s: proto %u: {%" PRIu64 ", %" PRIu64 "}, expected {%" PRIu64
				      ", %" PRIu64 "}", where, key, v.packets, v.bytes,
				      model[key].packets, model[key].bytes);
			keys++;
			prev = &key;
		}
		for (int k = 0; k < 256; k++)
			expected += model[k].packets != 0;
		CHECK_U64(keys, expected, "%s: protocols counted", where);
		/* By hand: TCP frames of 70, 1054, 54, 62, 54 (bad ihl), 38, 46 (cut),
		 * 84 (IPv6); one ICMP echo of 98; ICMPv6 70; GRE 38. */
		key = 6;
		CHECK(bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0) == 0 &&
		      v.packets == 8 && v.bytes == 1462, "%s: TCP", where);
		key = 1;
		CHECK(bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0) == 0 &&
		      v.packets == 1 && v.bytes == 98, "%s: ICMP", where);
		key = 58;
		CHECK(bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0) == 0 &&
		      v.packets == 1 && v.bytes == 70, "%s: ICMPv6", where);
		key = 47;
		CHECK(bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0) == 0 &&
		      v.packets == 1 && v.bytes == 38, "%s: GRE", where);
		key = 99;
		CHECK(bpfvm_map__lookup_elem(stats, &key, 4, &v, sizeof(v), 0) == -ENOENT,
		      "%s: protocol 99", where);
	}
	bpfvm_object__close(obj);
}

/* ---- xdp_firewall ---------------------------------------------------------------- */
static void fw_block(struct bpfvm_map *bl, uint32_t prefixlen, uint32_t addr)
{
	struct ipv4_lpm_key k = { prefixlen, __builtin_bswap32(addr) };
	uint64_t zero = 0;
	int err = bpfvm_map__update_elem(bl, &k, sizeof(k), &zero, 8, BPFVM_ANY);

	CHECK(err == 0, "%s: blocklist update: %s", where, strerror(-err));
}

static void t_firewall(const struct fw_config *cfg, const char *label)
{
	uint8_t rodata[64], back[64];
	uint64_t stats_model[FW_STAT_MAX] = { 0 }, net_hits = 0, host_hits = 0, v;
	struct bpfvm_map *ro, *bl, *stats;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	uint32_t zero = 0, vs;
	char text[512];
	size_t n;
	const struct pkt *pk = example_packets(&n);
	int err;

	set_where(label, NULL);
	obj = open_example("xdp_firewall.bpf.o", NULL);
	if (!obj)
		return;
	ro = map_of(obj, ".rodata");
	bl = map_of(obj, "blocklist");
	stats = map_of(obj, "stats");
	if (!ro || !bl || !stats)
		goto out;
	CHECK_U64(bpfvm_map__type(bl), BPFVM_MAP_TYPE_LPM_TRIE, "%s", where);
	CHECK(bpfvm_map__flags(ro) & BPFVM_F_RDONLY_PROG, "%s: .rodata flags %#x", where,
	      bpfvm_map__flags(ro));
	/* .rodata as compiled: drop_ipv6 0, default_action XDP_PASS, blocked_port 0. */
	vs = bpfvm_map__value_size(ro);
	CHECK_U64(vs, FW_RODATA_SIZE, "%s: .rodata size", where);
	if (vs != FW_RODATA_SIZE)
		goto out;
	err = bpfvm_map__lookup_elem(ro, &zero, 4, rodata, vs, 0);
	CHECK(err == 0, "%s: .rodata lookup: %d", where, err);
	{
		struct fw_config dflt = { 0, XDP_PASS, 0 };

		memset(back, 0, sizeof(back));
		fw_rodata_fill(back, &dflt);
		CHECK(memcmp(rodata, back, vs) == 0, "%s: .rodata initial value", where);
	}
	/* Configure before load, as a skeleton would, and check the layout through
	 * the object's BTF. */
	fw_rodata_fill(rodata, cfg);
	err = bpfvm_map__update_elem(ro, &zero, 4, rodata, vs, BPFVM_ANY);
	CHECK(err == 0, "%s: .rodata update before load: %s", where, strerror(-err));
	err = bpfvm_map__format(ro, true, rodata, vs, BPFVM_FORMAT_JSON, text, sizeof(text));
	CHECK(err >= 0, "%s: format .rodata: %d", where, err);
	if (err >= 0) {
		char want[128];

		snprintf(want, sizeof(want), "\"drop_ipv6\": %u", cfg->drop_ipv6);
		CHECK_CONTAINS(text, want, "%s", where);
		snprintf(want, sizeof(want), "\"default_action\": %u", cfg->default_action);
		CHECK_CONTAINS(text, want, "%s", where);
		snprintf(want, sizeof(want), "\"blocked_port\": %u", cfg->blocked_port);
		CHECK_CONTAINS(text, want, "%s", where);
	}
	if (load(obj))
		goto out;
	/* Frozen now: user space cannot change the configuration under the program. */
	err = bpfvm_map__update_elem(ro, &zero, 4, rodata, vs, BPFVM_ANY);
	CHECK(err < 0, "%s: .rodata update after load succeeded", where);
	err = bpfvm_map__lookup_elem(ro, &zero, 4, back, vs, 0);
	CHECK(err == 0 && memcmp(back, rodata, vs) == 0, "%s: .rodata after load", where);

	prog = prog_of(obj, "xdp_firewall", BPFVM_PROG_TYPE_XDP, "xdp");
	fw_block(bl, 24, FW_BLOCK_NET);
	fw_block(bl, 32, FW_BLOCK_HOST);
	for (size_t i = 0; i < n; i++) {
		const struct pkt *p = &pk[i];
		int reason, verdict = fw_model(p, cfg, &reason);

		set_where(label, p->name);
		if (!xdp_expect(prog, p, (uint64_t)verdict, NULL))
			continue;
		if (reason >= 0)
			stats_model[reason]++;
		if (reason == FW_BLOCKED) {
			if (p->saddr == FW_BLOCK_HOST)
				host_hits++;
			else
				net_hits++;
		}
	}
	set_where(label, "(maps)");
	for (uint32_t r = 0; r < FW_STAT_MAX; r++)
		CHECK_U64(lookup_u64(stats, r), stats_model[r], "%s: stats[%u]", where, r);
	/* By hand, for the default configuration: blocked 203.0.113.7 and
	 * 198.51.100.42; malformed eth_only, ipv4_truncated, ipv4_bad_ihl,
	 * ipv6_truncated. */
	if (!cfg->blocked_port && !cfg->drop_ipv6) {
		CHECK_U64(stats_model[FW_BLOCKED], 2, "%s", where);
		CHECK_U64(stats_model[FW_MALFORMED], 4, "%s", where);
	}
	/* The prefixes' hit counters; a /32 lookup inside the /24 finds the /24. */
	{
		struct ipv4_lpm_key k = { 32, __builtin_bswap32(FW_BLOCK_NET | 200) };

		v = ~0ull;
		err = bpfvm_map__lookup_elem(bl, &k, sizeof(k), &v, 8, 0);
		CHECK(err == 0 && v == net_hits, "%s: hits of the /24: %d, %" PRIu64, where, err,
		      v);
		k.addr = __builtin_bswap32(FW_BLOCK_HOST);
		v = ~0ull;
		err = bpfvm_map__lookup_elem(bl, &k, sizeof(k), &v, 8, 0);
		CHECK(err == 0 && v == host_hits, "%s: hits of the /32: %d, %" PRIu64, where,
		      err, v);
		k.addr = __builtin_bswap32(FW_BLOCK_HOST + 1);
		err = bpfvm_map__lookup_elem(bl, &k, sizeof(k), &v, 8, 0);
		CHECK(err == -ENOENT, "%s: 198.51.100.43 in the blocklist: %d", where, err);
	}
out:
	bpfvm_object__close(obj);
}

/* ---- ringbuf_events ---------------------------------------------------------------- */
struct rb_records {
	uint8_t data[8][64];
	size_t size[8];
	size_t cnt;
};

static int rb_collect(void *ctx, void *data, size_t size)
{
	struct rb_records *r = ctx;

	if (r->cnt < 8) {
		memcpy(r->data[r->cnt], data, size < 64 ? size : 64);
		r->size[r->cnt] = size;
	}
	r->cnt++;
	return 0;
}

static void t_ringbuf(void)
{
	struct bpfvm_ring_buffer *rb = NULL;
	struct {
		uint32_t seq, discarded;
	} model_g = { 0, 0 };
	uint64_t seq, discarded, lost;
	struct rb_records rec;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpfvm_map *events;
	size_t n;
	const struct pkt *pk = example_packets(&n);

	set_where("ringbuf_events", NULL);
	obj = open_example("ringbuf_events.bpf.o", NULL);
	if (!obj || load(obj))
		goto out;
	prog = prog_of(obj, "xdp_events", BPFVM_PROG_TYPE_XDP, "xdp");
	events = map_of(obj, "events");
	if (!prog || !events)
		goto out;
	CHECK_U64(bpfvm_map__type(events), BPFVM_MAP_TYPE_RINGBUF, "%s", where);
	CHECK_U64(bpfvm_map__max_entries(events), 64 * 1024, "%s", where);
	rb = bpfvm_ring_buffer__new(events, rb_collect, &rec);
	CHECK(rb != NULL, "%s: ring_buffer__new: %s", where, strerror(errno));
	if (!rb)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct pkt *p = &pk[i];
		int got;

		set_where("ringbuf_events", p->name);
		memset(&rec, 0, sizeof(rec));
		if (!xdp_expect(prog, p, XDP_PASS, NULL)) {
			CHECK(bpfvm_ring_buffer__consume(rb) == 0, "%s: records", where);
			continue;
		}
		got = bpfvm_ring_buffer__consume(rb);
		if (p->ethertype == 0x0800 || p->ethertype == 0x86dd) {
			struct pkt_event e;

			if (!p->ip_complete) {
				CHECK(got == 0 && rec.cnt == 0, "%s: %d records of a discarded one",
				      where, got);
				model_g.discarded++;
				continue;
			}
			memset(&e, 0, sizeof(e));
			e.kind = p->ip_version == 4 ? 1 : 2;
			e.seq = model_g.seq++;
			e.len = p->len;
			e.proto = p->proto;
			e.ttl = p->ttl;
			if (p->ip_version == 4) {
				memcpy(e.saddr, p->data + 14 + 12, 4);
				memcpy(e.daddr, p->data + 14 + 16, 4);
			} else {
				memcpy(e.saddr, p->data + 14 + 8, 16);
				memcpy(e.daddr, p->data + 14 + 24, 16);
			}
			CHECK(got == 1 && rec.cnt == 1, "%s: %d records", where, got);
			CHECK_U64(rec.size[0], sizeof(e), "%s: record size", where);
			if (rec.cnt == 1 && rec.size[0] == sizeof(e))
				CHECK(memcmp(rec.data[0], &e, sizeof(e)) == 0,
				      "%s: pkt_event differs (seq %u, kind %u, len %u)", where,
				      ((struct pkt_event *)rec.data[0])->seq,
				      ((struct pkt_event *)rec.data[0])->kind,
				      ((struct pkt_event *)rec.data[0])->len);
		} else {
			struct other_event o = {
				.kind = 3, .seq = model_g.seq++, .len = p->len,
				.ethertype = p->ethertype,
			};

			CHECK(got == 1 && rec.cnt == 1, "%s: %d records", where, got);
			CHECK_U64(rec.size[0], sizeof(o), "%s: record size", where);
			if (rec.cnt == 1 && rec.size[0] == sizeof(o))
				CHECK(memcmp(rec.data[0], &o, sizeof(o)) == 0,
				      "%s: other_event differs", where);
		}
	}
	set_where("ringbuf_events", "(.bss)");
	seq = global_var(obj, ".bss", "seq");
	discarded = global_var(obj, ".bss", "discarded");
	lost = global_var(obj, ".bss", "lost");
	CHECK(seq == model_g.seq && discarded == model_g.discarded && lost == 0,
	      "%s: seq %" PRIu64 " discarded %" PRIu64 " lost %" PRIu64 ", expected %u %u 0",
	      where, seq, discarded, lost, model_g.seq, model_g.discarded);
	/* By hand: eth_only, ipv4_truncated and ipv6_truncated are discarded. */
	CHECK_U64(model_g.discarded, 3, "%s", where);
out:
	bpfvm_ring_buffer__free(rb);
	bpfvm_object__close(obj);
}

/* ---- tail_dispatch ---------------------------------------------------------------- */
/* What tail_dispatch must do with p: the verdict, the packet in *out. */
static int dispatch_model(const struct pkt *p, const bool *slots, uint8_t *out,
			  uint64_t *hits, uint64_t *misses)
{
	memcpy(out, p->data, p->len);
	if (p->len < 14 || !p->ip_version || !p->ip_complete)
		return XDP_PASS;
	if (!slots[p->proto]) {
		(*misses)++;
		return XDP_PASS;
	}
	switch (p->proto) {
	case 6:					/* swap the MAC addresses */
		hits[6]++;
		memcpy(out, p->data + 6, 6);
		memcpy(out + 6, p->data, 6);
		return XDP_TX;
	case 17:
		hits[17]++;
		if (p->ttl <= 1)
			return XDP_DROP;
		if (p->ip_version == 4) {
			uint32_t hl = (p->data[14] & 15) * 4;

			out[14 + 8]--;
			out[14 + 10] = out[14 + 11] = 0;
			uint16_t c = inet_csum(out + 14, hl);
			out[14 + 10] = (uint8_t)(c >> 8);
			out[14 + 11] = (uint8_t)c;
		} else {
			out[14 + 7]--;
		}
		return XDP_PASS;
	default:				/* handle_icmp, in whatever slot */
		hits[1]++;
		return XDP_DROP;
	}
}

static void t_tail_dispatch(void)
{
	uint64_t hits[256] = { 0 }, misses = 0, bss = 0;
	bool slots[256] = { false };
	uint8_t expect[PKT_MAX];
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog, *tcp, *udp, *icmp;
	struct bpfvm_map *handlers, *hitmap;
	uint32_t key;
	size_t n;
	const struct pkt *pk = example_packets(&n);
	int err;

	set_where("tail_dispatch", NULL);
	obj = open_example("tail_dispatch.bpf.o", NULL);
	if (!obj || load(obj))
		goto out;
	prog = prog_of(obj, "xdp_dispatch", BPFVM_PROG_TYPE_XDP, "xdp");
	tcp = prog_of(obj, "handle_tcp", BPFVM_PROG_TYPE_XDP, "xdp");
	udp = prog_of(obj, "handle_udp", BPFVM_PROG_TYPE_XDP, "xdp");
	icmp = prog_of(obj, "handle_icmp", BPFVM_PROG_TYPE_XDP, "xdp");
	handlers = map_of(obj, "handlers");
	hitmap = map_of(obj, "hits");
	if (!prog || !tcp || !udp || !icmp || !handlers || !hitmap)
		goto out;
	CHECK_U64(bpfvm_map__type(handlers), BPFVM_MAP_TYPE_PROG_ARRAY, "%s", where);
	slots[1] = slots[6] = slots[17] = true;	/* from .values */

	/* Phase 1: the slots as loaded. Phase 2: ICMP's slot emptied, ICMPv6 (58)
	 * given handle_icmp from user space. */
	for (int phase = 1; phase <= 2; phase++) {
		if (phase == 2) {
			set_where("tail_dispatch", "(slots)");
			key = 1;
			err = bpfvm_map__delete_elem(handlers, &key, 4, 0);
			CHECK(err == 0, "%s: delete handlers[1]: %s", where, strerror(-err));
			err = bpfvm_map__update_prog(handlers, 58, icmp, BPFVM_ANY);
			CHECK(err == 0, "%s: handlers[58] = handle_icmp: %s", where, strerror(-err));
			slots[1] = false;
			slots[58] = true;
		}
		for (size_t i = 0; i < n; i++) {
			const struct pkt *p = &pk[i];
			char name[64];
			uint64_t verdict;

			snprintf(name, sizeof(name), "%s (phase %d)", p->name, phase);
			set_where("tail_dispatch", name);
			verdict = (uint64_t)dispatch_model(p, slots, expect, hits, &misses);
			xdp_expect(prog, p, verdict, expect);
			if (phase == 1 && p->ip_version == 4 && p->proto == 17 && p->ttl > 1 &&
			    p->ip_complete)	/* the incremental update gives a valid sum */
				CHECK_U64(inet_csum(expect + 14, (p->data[14] & 15) * 4), 0,
					  "%s: IPv4 header checksum", where);
		}
	}
	/* A handler run directly: handle_tcp on a UDP packet still swaps. */
	set_where("tail_dispatch", "handle_tcp direct");
	{
		const struct pkt *p = example_packet("ipv4_udp");

		memcpy(expect, p->data, p->len);
		memcpy(expect, p->data + 6, 6);
		memcpy(expect + 6, p->data, 6);
		xdp_expect(tcp, p, XDP_TX, expect);
		hits[6]++;
		xdp_expect(icmp, p, XDP_DROP, NULL);
		hits[1]++;
	}
	set_where("tail_dispatch", "(maps)");
	for (uint32_t k = 0; k < 256; k++)		/* an ARRAY: every key exists */
		CHECK_U64(lookup_u64(hitmap, k), hits[k], "%s: hits[%u]", where, k);
	read_global(obj, ".bss", &bss, sizeof(bss));
	CHECK_U64(bss, misses, "%s: misses", where);
	/* By hand: phase 1 misses GRE and ICMPv6, phase 2 GRE and ICMP. */
	CHECK_U64(misses, 4, "%s", where);
out:
	bpfvm_object__close(obj);
}

/* ---- loops ------------------------------------------------------------------------- */
static void t_loops(void)
{
	static const uint64_t weights1[8] = { 5, 10, 20, 2000, 1, 2, 3, 4 };
	struct bpfvm_object *obj;
	struct bpfvm_prog *sum, *loop, *each;
	struct bpfvm_map *weights;
	struct loop_results r;
	size_t n;
	const struct pkt *pk = example_packets(&n);
	int err;

	set_where("loops", NULL);
	obj = open_example("loops.bpf.o", NULL);
	if (!obj || load(obj))
		goto out;
	sum = prog_of(obj, "xdp_sum_bytes", BPFVM_PROG_TYPE_XDP, "xdp");
	loop = prog_of(obj, "xdp_bpf_loop", BPFVM_PROG_TYPE_XDP, "xdp");
	each = prog_of(obj, "xdp_for_each", BPFVM_PROG_TYPE_XDP, "xdp");
	weights = map_of(obj, "weights");
	if (!sum || !loop || !each || !weights)
		goto out;
	for (uint32_t k = 0; k < 8; k++) {
		err = bpfvm_map__update_elem(weights, &k, 4, &weights1[k], 8, BPFVM_ANY);
		CHECK(err == 0, "%s: weights[%u]: %d", where, k, err);
	}
	for (size_t i = 0; i < n; i++) {
		const struct pkt *p = &pk[i];
		uint64_t bsum = 0, sq = 0;
		uint32_t seen = p->len < 64 ? p->len : 64, x = 0, iters = 0;

		for (uint32_t j = 0; j < seen; j++)
			bsum += (uint64_t)(j + 1) * p->data[j];
		for (uint32_t j = 0; j < 12 && p->len >= 12; j++)
			x ^= p->data[j];
		while (iters < p->len) {
			sq += (uint64_t)iters * iters;
			iters++;
			if (sq > 100000)
				break;
		}
		set_where("loops xdp_sum_bytes", p->name);
		if (xdp_expect(sum, p, XDP_PASS, NULL)) {
			read_global(obj, ".bss", &r, sizeof(r));
			CHECK(r.byte_sum == bsum && r.bytes_seen == seen && r.mac_xor == x,
			      "%s: sum %" PRIu64 " seen %u xor %#x, expected %" PRIu64 " %u %#x",
			      where, r.byte_sum, r.bytes_seen, r.mac_xor, bsum, seen, x);
		}
		set_where("loops xdp_bpf_loop", p->name);
		if (xdp_expect(loop, p, XDP_PASS, NULL)) {
			read_global(obj, ".bss", &r, sizeof(r));
			CHECK(r.squares == sq && r.loop_iters == iters,
			      "%s: squares %" PRIu64 " in %u calls, expected %" PRIu64 " in %u",
			      where, r.squares, r.loop_iters, sq, iters);
		}
	}
	/* By hand: 14 bytes: 0 + 1 + ... + 169 = 819 in 14 calls; 1054 bytes:
	 * stops at i = 67 (sum 102510 > 100000) after 68 calls. */
	set_where("loops xdp_bpf_loop", "by hand");
	if (xdp_expect(loop, example_packet("eth_only"), XDP_PASS, NULL)) {
		read_global(obj, ".bss", &r, sizeof(r));
		CHECK(r.squares == 819 && r.loop_iters == 14, "%s", where);
	}
	if (xdp_expect(loop, example_packet("ipv4_tcp_big"), XDP_PASS, NULL)) {
		read_global(obj, ".bss", &r, sizeof(r));
		CHECK(r.squares == 102510 && r.loop_iters == 68, "%s", where);
	}
	/* for_each: stops after 2000 (4 visited, sum 2035); with it replaced by 7,
	 * all 8 are visited, sum 52. */
	set_where("loops xdp_for_each", "weights 1");
	if (xdp_expect(each, example_packet("ipv4_tcp"), XDP_PASS, NULL)) {
		read_global(obj, ".bss", &r, sizeof(r));
		CHECK(r.each_sum == 2035 && r.each_visited == 4, "%s: sum %" PRIu64 " visited %u",
		      where, r.each_sum, r.each_visited);
	}
	{
		uint32_t k = 3;
		uint64_t v = 7;

		err = bpfvm_map__update_elem(weights, &k, 4, &v, 8, BPFVM_ANY);
		CHECK(err == 0, "%s: weights[3]: %d", where, err);
	}
	set_where("loops xdp_for_each", "weights 2");
	if (xdp_expect(each, example_packet("ipv4_tcp"), XDP_PASS, NULL)) {
		read_global(obj, ".bss", &r, sizeof(r));
		CHECK(r.each_sum == 52 && r.each_visited == 8, "%s: sum %" PRIu64 " visited %u",
		      where, r.each_sum, r.each_visited);
	}
out:
	bpfvm_object__close(obj);
}

/* ---- map_in_map -------------------------------------------------------------------- */
static void t_map_in_map(void)
{
	static uint64_t v4[256], v6[256], tcp[65536], udp[65536];
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpfvm_map *by_version, *by_proto, *m_v4, *m_v6, *m_tcp, *m_udp;
	uint32_t key;
	size_t n;
	const struct pkt *pk = example_packets(&n);
	int err;

	memset(v4, 0, sizeof(v4));
	memset(v6, 0, sizeof(v6));
	memset(tcp, 0, sizeof(tcp));
	memset(udp, 0, sizeof(udp));
	set_where("map_in_map", NULL);
	obj = open_example("map_in_map.bpf.o", NULL);
	if (!obj || load(obj))
		goto out;
	prog = prog_of(obj, "xdp_mim", BPFVM_PROG_TYPE_XDP, "xdp");
	by_version = map_of(obj, "by_version");
	by_proto = map_of(obj, "by_proto");
	m_v4 = map_of(obj, "v4_protos");
	m_v6 = map_of(obj, "v6_protos");
	m_tcp = map_of(obj, "tcp_ports");
	m_udp = map_of(obj, "udp_ports");
	if (!prog || !by_version || !by_proto || !m_v4 || !m_v6 || !m_tcp || !m_udp)
		goto out;
	CHECK_U64(bpfvm_map__type(by_version), BPFVM_MAP_TYPE_ARRAY_OF_MAPS, "%s", where);
	CHECK_U64(bpfvm_map__type(by_proto), BPFVM_MAP_TYPE_HASH_OF_MAPS, "%s", where);

	/* Phase 1 as loaded; phase 2: by_version[0] = v6_protos (IPv4 counted with
	 * IPv6) and no UDP ports (by_proto[17] deleted). */
	for (int phase = 1; phase <= 2; phase++) {
		if (phase == 2) {
			set_where("map_in_map", "(swap)");
			key = 0;
			err = bpfvm_map__update_inner_map(by_version, &key, 4, m_v6, BPFVM_ANY);
			CHECK(err == 0, "%s: by_version[0] = v6_protos: %s", where, strerror(-err));
			key = 17;
			err = bpfvm_map__delete_elem(by_proto, &key, 4, 0);
			CHECK(err == 0, "%s: delete by_proto[17]: %s", where, strerror(-err));
			key = 17;
			err = bpfvm_map__delete_elem(by_proto, &key, 4, 0);
			CHECK(err == -ENOENT, "%s: delete by_proto[17] again: %d", where, err);
		}
		for (size_t i = 0; i < n; i++) {
			const struct pkt *p = &pk[i];
			char name[64];

			snprintf(name, sizeof(name), "%s (phase %d)", p->name, phase);
			set_where("map_in_map", name);
			if (!xdp_expect(prog, p, XDP_PASS, NULL) || !p->ip_version || !p->ip_complete ||
			    !p->ihl_valid)
				continue;
			if (p->ip_version == 4 && phase == 1)
				v4[p->proto]++;
			else
				v6[p->proto]++;
			if (p->proto == 6 && p->ports_complete)
				tcp[p->dport]++;
			if (p->proto == 17 && p->ports_complete && phase == 1)
				udp[p->dport]++;
		}
	}
	set_where("map_in_map", "(maps)");
	for (uint32_t k = 0; k < 256; k++) {
		CHECK_U64(lookup_u64(m_v4, k), v4[k], "%s: v4_protos[%u]", where, k);
		CHECK_U64(lookup_u64(m_v6, k), v6[k], "%s: v6_protos[%u]", where, k);
	}
	check_u32_u64_map(m_tcp, tcp, 65536);
	check_u32_u64_map(m_udp, udp, 65536);
	/* By hand: port 22 over TCP: ipv4_ssh, ipv4_tcp_short (12 bytes of TCP:
	 * enough for the ports) in both phases; not ipv4_tcp_cut nor ipv4_bad_ihl.
	 * UDP port 53 (phase 1 only): 4 IPv4 and 2 IPv6 frames. */
	CHECK_U64(tcp[22], 4, "%s", where);
	CHECK_U64(udp[53], 6, "%s", where);
out:
	bpfvm_object__close(obj);
}

/* ---- core_user --------------------------------------------------------------------- */
struct core_layout {
	const char *btf;		/* btf_custom_path in the object directory, or NULL */
	const char *label;
	size_t size, off_len, off_path;
	bool has_trace_id;
};

/* Fills the native struct of layout l at buf; returns it. */
static void *core_request(const struct core_layout *l, void *buf, const char *path)
{
	if (!l->btf) {
		struct request_local *r = buf;

		memset(r, 0, sizeof(*r));
		r->id = 0x1122334455667788ull;
		r->len = 4096;
		r->flags = 0x5;
		r->path = path;
		r->ver.major = 2;
		r->ver.minor = 7;
		r->trace_id = 0xabcdef0123456789ull;
	} else if (!l->has_trace_id) {
		struct request_v1 *r = buf;

		memset(r, 0, sizeof(*r));
		r->id = 0x1122334455667788ull;
		r->len = 4096;
		r->flags = 0x5;
		r->path = path;
		r->ver.major = 2;
		r->ver.minor = 7;
	} else {
		struct request_v2 *r = buf;

		memset(r, 0, sizeof(*r));
		r->id = 0x1122334455667788ull;
		r->len = 4096;
		r->flags = 0x5;
		r->path = path;
		r->ver.major = 2;
		r->ver.minor = 7;
		r->trace_id = 0xabcdef0123456789ull;
		memcpy(r->tag, "TAGTAGTA", 8);
	}
	return buf;
}

static void t_core_user(const struct core_layout *l)
{
	static const char path[] = "/srv/uploads/report.pdf";
	uint64_t regs[21], req_buf[16], seen = 0, ret = 0;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpfvm_map *last;
	struct req_info info;
	uint32_t zero = 0;
	int err;

	set_where(l->label, NULL);
	obj = open_example("core_user.bpf.o", l->btf);
	if (!obj || load(obj))
		goto out;
	prog = prog_of(obj, "on_request", BPFVM_PROG_TYPE_KPROBE, "uprobe/handle_request");
	last = map_of(obj, "last_request");
	if (!prog || !last)
		goto out;
	CHECK_U64(bpfvm_map__value_size(last), sizeof(info), "%s: req_info size", where);

	/* handle_request(req): x86-64 passes req in rdi, struct pt_regs offset 112. */
	memset(regs, 0, sizeof(regs));
	regs[112 / 8] = (uint64_t)(uintptr_t)core_request(l, req_buf, path);
	{
		struct bpfvm_test_run_opts t = {
			.sz = sizeof(t),
			.ctx_in = regs,
			.ctx_size_in = sizeof(regs),
			.engine = cur_engine,
		};

		last_log[0] = 0;
		err = bpfvm_prog__test_run(prog, &t);
		CHECK(err == 0 && t.retval == 0, "%s: test run: %d, r0 %" PRIu64 " (%s)", where,
		      err, t.retval, last_log);
	}
	memset(&info, 0xee, sizeof(info));
	err = bpfvm_map__lookup_elem(last, &zero, 4, &info, sizeof(info), 0);
	CHECK(err == 0, "%s: last_request: %d", where, err);
	CHECK_U64(info.id, 0x1122334455667788ull, "%s: id", where);
	CHECK_U64(info.len, 4096, "%s: len", where);
	CHECK_U64(info.flags, 5, "%s: flags", where);
	CHECK_U64(info.major, 2, "%s: ver.major", where);
	CHECK_U64(info.minor, 7, "%s: ver.minor", where);
	CHECK_U64(info.has_trace_id, l->has_trace_id, "%s: trace_id exists", where);
	CHECK_U64(info.trace_id, l->has_trace_id ? 0xabcdef0123456789ull : 0, "%s: trace_id",
		  where);
	CHECK_U64(info.off_len, l->off_len, "%s: offsetof(len)", where);
	CHECK_U64(info.off_path, l->off_path, "%s: offsetof(path)", where);
	CHECK_U64(info.size_len, 4, "%s: sizeof(len)", where);
	CHECK_U64(info.size_request, l->size, "%s: sizeof(struct request)", where);
	CHECK_U64((uint64_t)(int64_t)info.path_len, sizeof(path), "%s: path length", where);
	CHECK(memcmp(info.path, path, sizeof(path)) == 0, "%s: path \"%.32s\"", where, info.path);

	/* bpfvm_prog__run with the context itself; a NULL path: -EFAULT and zeroes. */
	core_request(l, req_buf, NULL);
	if (cur_engine == BPFVM_ENGINE_JIT || cur_engine == BPFVM_ENGINE_INTERP) {
		last_log[0] = 0;
		err = bpfvm_prog__run(prog, regs, &ret);
		CHECK(err == 0 && ret == 0, "%s: prog__run: %d (%s)", where, err, last_log);
		err = bpfvm_map__lookup_elem(last, &zero, 4, &info, sizeof(info), 0);
		CHECK(err == 0 && info.path_len == -EFAULT && info.path[0] == 0 &&
		      info.id == 0x1122334455667788ull,
		      "%s: NULL path: %d, path_len %d", where, err, info.path_len);
		read_global(obj, ".bss", &seen, sizeof(seen));
		CHECK_U64(seen, 2, "%s: requests_seen", where);
	}
out:
	bpfvm_object__close(obj);
}

static void t_core_all(void)
{
	const struct core_layout layouts[] = {
		{ NULL, "core_user (own BTF)", sizeof(struct request_local),
		  offsetof(struct request_local, len), offsetof(struct request_local, path), true },
		{ "app_v1.btf.o", "core_user (app v1)", sizeof(struct request_v1),
		  offsetof(struct request_v1, len), offsetof(struct request_v1, path), false },
		{ "app_v2.btf.o", "core_user (app v2)", sizeof(struct request_v2),
		  offsetof(struct request_v2, len), offsetof(struct request_v2, path), true },
	};

	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		t_core_user(&layouts[i]);
}

int main(void)
{
	const char *dirs[8];
	size_t ndirs = example_obj_dirs(dirs, 8);
	static const struct fw_config fw_configs[] = {
		{ 0, XDP_PASS, 0 },
		{ 1, XDP_TX, 22 },
		{ 0, XDP_DROP, 53 },
	};

	if (!ndirs) {
		printf("test_examples: skipped: no compiled examples (no clang with the BPF "
		       "target or no <bpf/bpf_helpers.h> when the build was configured)\n");
		return TEST_SKIP;
	}
	bpfvm_set_log(log_fn, NULL);
	for (size_t d = 0; d < ndirs; d++) {
		cur_dir = dirs[d];
		cur_cc = strrchr(cur_dir, '/') ? strrchr(cur_dir, '/') + 1 : cur_dir;
		for (size_t e = 0; e < N_ENGINES; e++) {
			int before = t_fail;

			if (!bpfvm_engine_available(engines[e].engine))
				continue;
			cur_engine = engines[e].engine;
			cur_engine_name = engines[e].name;
			t_proto_count();
			for (size_t c = 0; c < sizeof(fw_configs) / sizeof(fw_configs[0]); c++) {
				char label[64];

				snprintf(label, sizeof(label), "xdp_firewall (config %zu)", c + 1);
				t_firewall(&fw_configs[c], label);
			}
			t_ringbuf();
			t_tail_dispatch();
			t_loops();
			t_map_in_map();
			t_core_all();
			printf("%s/%s: %s\n", cur_cc, cur_engine_name,
			       t_fail == before ? "all examples as expected" : "FAILURES");
		}
	}
	return test_summary();
}
