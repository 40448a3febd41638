/*
 * xdp.c — the XDP program type (BPF_PROG_TYPE_XDP = 6): context struct xdp_md
 * (read-only), the packet [data_meta, data_end) writable, the XDP helpers
 * (bpf_xdp_adjust_head / _meta / _tail, bpf_xdp_get_buff_len, bpf_xdp_load_bytes /
 * _store_bytes) and BPF_PROG_TEST_RUN as Linux 6.18 does it (net/bpf/test_run.c,
 * bpf_prog_test_run_xdp; checked against the kernel by tests/test_progtypes.c).
 *
 * A test run builds a frame like the kernel's: one page below 4 GiB (the u32
 * data fields are real addresses), the first XDP_FRAME_HDR bytes reserved for the
 * kernel's struct xdp_frame, XDP_PACKET_HEADROOM bytes of headroom of which the
 * metadata (ctx_in.data bytes) is the end, the packet, and VM_SHINFO_ROOM bytes of
 * tailroom at the page's end. What does not fit in the page (or lies past ctx_in's
 * data_end) goes into fragments of one page each, which programs reach only
 * through the helpers, and which data_out returns after the linear part.
 *
 * The context the program sees is the xdp_md at the start of struct xdp_frame_ctx;
 * the helpers find the rest (frame, fragments) through a per-thread pointer to the
 * frame being test-run. On an embedder's own xdp_md (bpfvm_prog__run) they work on
 * the packet it describes, with no head- or tailroom.
 */
#include <linux/bpf.h>	/* struct xdp_md; before the bpfvm headers (see bpfvm/insn.h) */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "log.h"
#include "prog.h"
#include "progtypes/progtype.h"

#define XDP_PACKET_HEADROOM 256
#define XDP_FRAME_HDR 40	/* sizeof(struct xdp_frame), kept free at the frame's start */
#define XDP_META_MAX 252	/* metadata: 4-byte units, at most what a u8 counts */
#define XDP_MAX_FRAGS 17	/* MAX_SKB_FRAGS */
#define XDP_ACCESS_MAX 0xffff	/* bpf_xdp_load_bytes / _store_bytes: offset and length */
#define ENOTSUPP 524		/* the kernel's internal "not supported" */

struct xdp_frame_ctx {
	struct xdp_md md;	/* r1: first */
	uint8_t *frame;		/* VM_PKT_PAGE bytes below 4 GiB */
	uint32_t nr_frags;
	uint32_t frag_len[XDP_MAX_FRAGS];
	uint8_t *frags;		/* fragment i at frags + i * VM_PKT_PAGE */
};

/* The frame this thread is test-running, for the helpers. */
static _Thread_local struct xdp_frame_ctx *cur_frame;

static void *ptr(uint64_t a) { return (void *)(uintptr_t)a; }
static uint32_t low32(const void *p) { return (uint32_t)(uintptr_t)p; }

/* The xdp_md of the running XDP program, if r1 is its context; else NULL. */
static struct xdp_md *running_md(uint64_t r1)
{
	const struct vm_run *run = vm_current_run;
	if (!run || !run->ctx || (uint64_t)(uintptr_t)run->ctx != r1 ||
	    run->prog->type != &vm_prog_type_xdp)
		return NULL;
	return run->ctx;
}

static struct xdp_frame_ctx *frame_of(const struct xdp_md *md)
{
	return cur_frame && &cur_frame->md == md ? cur_frame : NULL;
}

/* data_meta is meaningful (the kernel's "meta supported": data_meta <= data). */
static bool meta_ok(const struct xdp_md *md)
{
	return md->data_meta && md->data_meta <= md->data;
}

static uint32_t pkt_start(const struct xdp_md *md)
{
	return meta_ok(md) ? md->data_meta : md->data;
}

/* [*lo, *hi): how far the packet may grow: a test-run frame without its xdp_frame
 * header and tailroom; an embedder's packet as it is. */
static void grow_bounds(const struct xdp_md *md, uint64_t *lo, uint64_t *hi)
{
	const struct xdp_frame_ctx *f = frame_of(md);
	if (f) {
		*lo = (uint64_t)(uintptr_t)f->frame + XDP_FRAME_HDR;
		*hi = (uint64_t)(uintptr_t)f->frame + VM_PKT_PAGE - VM_SHINFO_ROOM;
	} else {
		*lo = pkt_start(md);
		*hi = md->data_end;
	}
}

static uint64_t frags_size(const struct xdp_frame_ctx *f)
{
	uint64_t n = 0;
	for (uint32_t i = 0; f && i < f->nr_frags; i++)
		n += f->frag_len[i];
	return n;
}

/* After a helper moved the packet's bounds: checked mode may touch the new ones. */
static void packet_moved(const struct xdp_md *md)
{
	uint32_t s = pkt_start(md);
	if (md->data_end > s)
		vm_run_add_region(ptr(s), md->data_end - s, true);
}

static size_t xdp_ctx_regions(const void *ctx, struct bpfvm_region *r, size_t max)
{
	const struct xdp_md *md = ctx;
	uint32_t s = pkt_start(md);
	if (!max || md->data_end <= s)
		return 0;
	r[0] = (struct bpfvm_region){ ptr(s), md->data_end - s, true };
	return 1;
}

/* ---- Helpers ---------------------------------------------------------------------- */

/* bpf_xdp_adjust_head(ctx, delta): data += delta, the metadata moving with it. */
static uint64_t xdp_adjust_head(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct xdp_md *md = running_md(r1);
	if (!md)
		return (uint64_t)-EINVAL;
	int64_t delta = (int32_t)r2;
	uint64_t lo, hi, meta = pkt_start(md), metalen = md->data - meta;
	grow_bounds(md, &lo, &hi);
	int64_t data = (int64_t)md->data + delta;
	if (data < (int64_t)(lo + metalen) || data > (int64_t)md->data_end - VM_ETH_HLEN)
		return (uint64_t)-EINVAL;
	if (metalen)
		memmove(ptr(meta + delta), ptr(meta), metalen);
	if (meta_ok(md))
		md->data_meta = (uint32_t)(meta + delta);
	md->data = (uint32_t)data;
	packet_moved(md);
	return 0;
}

/* bpf_xdp_adjust_meta(ctx, delta): data_meta += delta. */
static uint64_t xdp_adjust_meta(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct xdp_md *md = running_md(r1);
	if (!md)
		return (uint64_t)-EINVAL;
	if (!meta_ok(md))
		return (uint64_t)-ENOTSUPP;
	uint64_t lo, hi;
	grow_bounds(md, &lo, &hi);
	int64_t meta = (int64_t)md->data_meta + (int32_t)r2;
	if (meta < (int64_t)lo || meta > (int64_t)md->data)
		return (uint64_t)-EINVAL;
	uint64_t metalen = md->data - (uint64_t)meta;
	if (metalen % 4 || metalen > XDP_META_MAX)
		return (uint64_t)-EACCES;
	md->data_meta = (uint32_t)meta;
	packet_moved(md);
	return 0;
}

/* Multi-buffer frames: the tail is in the fragments (bpf_xdp_frags_shrink_tail /
 * _increase_tail). */
static uint64_t frags_adjust_tail(struct xdp_md *md, struct xdp_frame_ctx *f, int64_t delta)
{
	if (delta >= 0) {
		uint32_t last = f->nr_frags - 1;
		if (delta > VM_PKT_PAGE - f->frag_len[last])
			return (uint64_t)-EINVAL;
		memset(f->frags + (size_t)last * VM_PKT_PAGE + f->frag_len[last], 0, (size_t)delta);
		f->frag_len[last] += (uint32_t)delta;
		return 0;
	}
	uint64_t shrink = (uint64_t)-delta, len = md->data_end - md->data + frags_size(f);
	if (shrink + VM_ETH_HLEN > len)
		return (uint64_t)-EINVAL;
	while (f->nr_frags && shrink) {
		uint32_t *last = &f->frag_len[f->nr_frags - 1];
		uint64_t n = shrink < *last ? shrink : *last;
		shrink -= n;
		*last -= (uint32_t)n;
		if (*last)
			break;
		f->nr_frags--;
	}
	if (!f->nr_frags)
		md->data_end -= (uint32_t)shrink;
	return 0;
}

/* bpf_xdp_adjust_tail(ctx, delta): data_end += delta; grown bytes are zeroed. */
static uint64_t xdp_adjust_tail(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r3, (void)r4, (void)r5;
	struct xdp_md *md = running_md(r1);
	if (!md)
		return (uint64_t)-EINVAL;
	int64_t delta = (int32_t)r2;
	struct xdp_frame_ctx *f = frame_of(md);
	if (f && f->nr_frags)
		return frags_adjust_tail(md, f, delta);
	uint64_t lo, hi;
	grow_bounds(md, &lo, &hi);
	int64_t end = (int64_t)md->data_end + delta;
	if (end > (int64_t)hi || end < (int64_t)md->data + VM_ETH_HLEN)
		return (uint64_t)-EINVAL;
	if (delta > 0)
		memset(ptr(md->data_end), 0, (size_t)delta);
	md->data_end = (uint32_t)end;
	packet_moved(md);
	return 0;
}

/* bpf_xdp_get_buff_len(ctx): the packet's length with its fragments. */
static uint64_t xdp_get_buff_len(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	const struct xdp_md *md = running_md(r1);
	if (!md)
		return 0;
	return md->data_end - md->data + frags_size(frame_of(md));
}

/* Copies len bytes at offset off of the packet (linear part, then fragments) to
 * buf, or buf to them when store (bpf_xdp_load_bytes / _store_bytes). */
static uint64_t xdp_copy(uint64_t r1, uint32_t off, uint64_t buf, uint32_t len, bool store)
{
	const struct xdp_md *md = running_md(r1);
	if (!md)
		return (uint64_t)-EINVAL;
	if (!vm_mem_ok(buf, len, !store))
		return (uint64_t)-EFAULT;
	if (off > XDP_ACCESS_MAX || len > XDP_ACCESS_MAX)
		return (uint64_t)-EFAULT;
	const struct xdp_frame_ctx *f = frame_of(md);
	uint64_t linear = md->data_end - md->data;
	if ((uint64_t)off + len > linear + frags_size(f))
		return (uint64_t)-EINVAL;
	uint8_t *b = ptr(buf);
	while (len) {
		uint8_t *p;
		uint64_t avail;
		if (off < linear) {
			p = ptr(md->data + off);
			avail = linear - off;
		} else {
			uint64_t rel = off - linear;
			uint32_t i = 0;
			while (rel >= f->frag_len[i])
				rel -= f->frag_len[i++];
			p = f->frags + (size_t)i * VM_PKT_PAGE + rel;
			avail = f->frag_len[i] - rel;
		}
		uint32_t n = avail < len ? (uint32_t)avail : len;
		if (store)
			memcpy(p, b, n);
		else
			memcpy(b, p, n);
		b += n;
		off += n;
		len -= n;
	}
	return 0;
}

static uint64_t xdp_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	return xdp_copy(r1, (uint32_t)r2, r3, (uint32_t)r4, false);
}

static uint64_t xdp_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r5;
	return xdp_copy(r1, (uint32_t)r2, r3, (uint32_t)r4, true);
}

#define A(T) BPFVM_ARG_##T
static const struct bpfvm_helper xdp_helpers[] = {
	{ 44, "bpf_xdp_adjust_head", xdp_adjust_head, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX), A(ANYTHING) } },
	{ 54, "bpf_xdp_adjust_meta", xdp_adjust_meta, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX), A(ANYTHING) } },
	{ 65, "bpf_xdp_adjust_tail", xdp_adjust_tail, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX), A(ANYTHING) } },
	{ 188, "bpf_xdp_get_buff_len", xdp_get_buff_len, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX) } },
	{ 189, "bpf_xdp_load_bytes", xdp_load_bytes, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX), A(ANYTHING), A(PTR_TO_UNINIT_MEM), A(CONST_SIZE) } },
	{ 190, "bpf_xdp_store_bytes", xdp_store_bytes, BPFVM_RET_INTEGER,
	  { A(PTR_TO_CTX), A(ANYTHING), A(PTR_TO_MEM), A(CONST_SIZE) } },
};
#undef A

/* ---- Test run --------------------------------------------------------------------- */

/* Whether a run may move the packet's bounds (an adjust helper, or a call we cannot
 * see through: callx, a tail call). Repeated runs of such a program go one at a
 * time, so each starts with its packet as the last one left it, as the kernel's. */
static bool may_move_packet(const struct bpfvm_prog *prog)
{
	for (size_t i = 0; i < prog->cnt; i++) {
		const struct bpf_insn *in = &prog->insns[i];
		if (in->code == (BPF_JMP | BPF_CALL | BPF_X))
			return true;
		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    (in->imm == 44 || in->imm == 54 || in->imm == 65 || in->imm == 12))
			return true;
	}
	return false;
}

static int run_frame(struct bpfvm_prog *prog, struct xdp_frame_ctx *f,
		     struct bpfvm_test_run_opts *opts)
{
	uint32_t repeat = opts->repeat ? opts->repeat : 1;
	if (repeat == 1 || !may_move_packet(prog))
		return vm_test_run_ctx(prog, &f->md, sizeof(f->md), opts);
	struct bpfvm_test_run_opts one = *opts;
	one.repeat = 1;
	uint64_t total = 0;
	int err = 0;
	for (uint32_t i = 0; i < repeat && !err; i++) {
		err = vm_test_run_ctx(prog, &f->md, sizeof(f->md), &one);
		total += one.duration_ns;
	}
	opts->retval = one.retval;
	opts->fault = one.fault;
	opts->engine_used = one.engine_used;
	opts->duration_ns = total / repeat;
	return err;
}

/* data_out: the packet from data_meta to data_end, then the fragments. */
static int copy_data_out(const struct xdp_frame_ctx *f, struct bpfvm_test_run_opts *opts)
{
	const struct xdp_md *md = &f->md;
	uint64_t linear = md->data_end - md->data_meta, n = linear + frags_size(f);
	if (!f->nr_frags)
		return vm_test_copy_out(opts->data_out, &opts->data_size_out, ptr(md->data_meta),
					linear);
	uint8_t *all = malloc(n);
	if (!all)
		return vm_err(-ENOMEM, "out of memory");
	memcpy(all, ptr(md->data_meta), linear);
	for (uint32_t i = 0, at = (uint32_t)linear; i < f->nr_frags; at += f->frag_len[i++])
		memcpy(all + at, f->frags + (size_t)i * VM_PKT_PAGE, f->frag_len[i]);
	int err = vm_test_copy_out(opts->data_out, &opts->data_size_out, all, n);
	free(all);
	return err;
}

static int xdp_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	struct xdp_md in;
	const char *name = prog->name;
	if (vm_test_ctx_in(opts, &in, sizeof(in)))
		return vm_err(-E2BIG, "%s: ctx_in has non-zero bytes past struct xdp_md", name);
	bool has_ctx = opts->ctx_in || opts->ctx_out;
	uint32_t size = opts->data_size_in, meta = 0, linear = size;
	uint32_t headroom = XDP_PACKET_HEADROOM;
	if (has_ctx) {
		if (in.data_meta || in.data_end > size || in.data > in.data_end)
			return vm_err(-EINVAL, "%s: ctx_in needs data_meta 0 and data <= data_end "
				      "<= data_size_in", name);
		meta = in.data;
		if (meta % 4 || meta > XDP_META_MAX || meta > headroom - XDP_FRAME_HDR)
			return vm_err(-EINVAL, "%s: %u bytes of metadata (ctx_in.data): it must be "
				      "a multiple of 4, at most %u", name, meta,
				      XDP_PACKET_HEADROOM - XDP_FRAME_HDR);
		headroom -= meta;
		linear = in.data_end;
	}
	uint32_t max_linear = VM_PKT_PAGE - headroom - VM_SHINFO_ROOM;
	if (linear > max_linear)
		linear = max_linear;
	if (size - meta < VM_ETH_HLEN)
		return vm_err(-EINVAL, "%s: the packet is %u bytes, at least %d are needed", name,
			      size - meta, VM_ETH_HLEN);
	if (in.egress_ifindex || (!in.ingress_ifindex && in.rx_queue_index))
		return vm_err(-EINVAL, "%s: ctx_in: egress_ifindex must be 0, and rx_queue_index "
			      "needs an ingress_ifindex", name);
	uint32_t nfrags = (size - linear + VM_PKT_PAGE - 1) / VM_PKT_PAGE;
	if (nfrags > XDP_MAX_FRAGS)
		return vm_err(-ENOMEM, "%s: %u bytes do not fit in a frame and %d fragments", name,
			      size, XDP_MAX_FRAGS);

	struct xdp_frame_ctx f = { .frame = vm_lowmem_alloc(VM_PKT_PAGE) };
	if (nfrags)
		f.frags = malloc((size_t)nfrags * VM_PKT_PAGE);
	if (!f.frame || (nfrags && !f.frags)) {
		vm_lowmem_free(f.frame, VM_PKT_PAGE);
		free(f.frags);
		return vm_err(-ENOMEM, "%s: no memory below 4 GiB for the frame", name);
	}
	const uint8_t *data = opts->data_in;
	uint8_t *start = f.frame + headroom;
	if (linear)
		memcpy(start, data, linear);
	for (uint32_t at = linear; at < size; f.nr_frags++) {
		uint32_t n = size - at < VM_PKT_PAGE ? size - at : VM_PKT_PAGE;
		memcpy(f.frags + (size_t)f.nr_frags * VM_PKT_PAGE, data + at, n);
		f.frag_len[f.nr_frags] = n;
		at += n;
	}
	f.md = (struct xdp_md){
		.data_meta = low32(start), .data = low32(start + meta),
		.data_end = low32(start + linear),
		.ingress_ifindex = in.ingress_ifindex ? in.ingress_ifindex : VM_LOOPBACK_IFINDEX,
		.rx_queue_index = in.rx_queue_index,
	};

	struct xdp_frame_ctx *outer = cur_frame;
	cur_frame = &f;
	int err = run_frame(prog, &f, opts);
	cur_frame = outer;
	opts->retval = (uint32_t)opts->retval;	/* the kernel's XDP action is a u32 */
	if (!err)
		err = copy_data_out(&f, opts);
	if (!err && opts->ctx_out) {
		in.data = f.md.data - f.md.data_meta;
		in.data_end = f.md.data_end - f.md.data_meta;
		err = vm_test_copy_out(opts->ctx_out, &opts->ctx_size_out, &in, sizeof(in));
	}
	vm_lowmem_free(f.frame, VM_PKT_PAGE);
	free(f.frags);
	return err;
}

static const char *const xdp_sections[] = { "xdp", NULL };

const struct vm_prog_type vm_prog_type_xdp = {
	.type = BPFVM_PROG_TYPE_XDP,
	.name = "xdp",
	.sec_prefixes = xdp_sections,
	.ctx_size = sizeof(struct xdp_md),
	.helpers = xdp_helpers,
	.helper_cnt = sizeof(xdp_helpers) / sizeof(xdp_helpers[0]),
	.ctx_regions = xdp_ctx_regions,
	.test_run = xdp_test_run,
};
