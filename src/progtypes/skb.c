/*
 * skb.c — the socket-buffer program types: SOCKET_FILTER (1) and SCHED_CLS (3, tc).
 * The context is struct __sk_buff, writable (programs set mark, priority, cb[],
 * tc_index ...; checked mode protects regions, not fields); its u32 `data` /
 * `data_end` hold the packet's addresses (below 4 GiB), which is also what
 * LD_ABS / LD_IND and bpf_skb_load_bytes read. Test runs follow Linux 6.18's
 * bpf_prog_test_run_skb (net/bpf/test_run.c), checked against the kernel by
 * tests/test_progtypes.c:
 *  - data_in is an Ethernet frame of VM_ETH_HLEN .. SKB_MAX_DATA bytes, received
 *    on the loopback device (MAC address and broadcast address all zero):
 *    protocol and pkt_type are what eth_type_trans makes of it;
 *  - a socket filter sees the packet from the network header (len = size - 14);
 *    afterwards the kernel pushes the Ethernet header back ZEROED, so data_out
 *    starts with 14 zero bytes. tc sees (and returns) the whole frame;
 *  - ctx_in may set only mark, priority, ingress_ifindex, ifindex, cb[],
 *    tstamp, wire_len, gso_segs, gso_size and hwtstamp (convert___skb_to_skb);
 *    ctx_out gets them back as the run left them.
 * Reading fields the kernel's verifier hides from a type (data of a socket
 * filter, say) gives the values above; bpfvm has no device but the loopback one,
 * so any ifindex is accepted and treated like it.
 */
#include <linux/bpf.h>	/* struct __sk_buff; before the bpfvm headers (see bpfvm/insn.h) */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "helpers/helpers.h"
#include "log.h"
#include "prog.h"
#include "progtypes/progtype.h"

#define SKB_HEADROOM 64		/* NET_SKB_PAD + NET_IP_ALIGN on x86-64 */
#define SKB_MAX_DATA (VM_PKT_PAGE - SKB_HEADROOM - VM_SHINFO_ROOM)
#define GSO_MAX_SEGS 65535
#define GSO_LEGACY_MAX_SIZE 65536
#define PACKET_HOST 0
#define PACKET_MULTICAST 2
#define PACKET_OTHERHOST 3
#define ETH_P_802_3 0x0001
#define ETH_P_802_2 0x0004
#define ETH_P_802_3_MIN 0x0600

static void *ptr(uint64_t a) { return (void *)(uintptr_t)a; }

/* The packet a context describes: [data, data_end). */
static void skb_packet(const void *ctx, const uint8_t **pkt, uint64_t *len)
{
	const struct __sk_buff *skb = ctx;
	bool ok = skb->data && skb->data_end >= skb->data;
	*pkt = ok ? ptr(skb->data) : NULL;
	*len = ok ? skb->data_end - skb->data : 0;
}

static size_t packet_region(const void *ctx, struct bpfvm_region *r, size_t max, bool writable)
{
	const uint8_t *pkt;
	uint64_t len;
	skb_packet(ctx, &pkt, &len);
	if (!max || !pkt || !len)
		return 0;
	r[0] = (struct bpfvm_region){ (void *)pkt, len, writable };
	return 1;
}

/* tc may write the packet; a socket filter only reads it. */
static size_t tc_regions(const void *ctx, struct bpfvm_region *r, size_t max)
{
	return packet_region(ctx, r, max, true);
}

static size_t sf_regions(const void *ctx, struct bpfvm_region *r, size_t max)
{
	return packet_region(ctx, r, max, false);
}

/* bpf_skb_load_bytes(ctx, offset, to, len): from the packet of the run (the one
 * LD_ABS reads, fixed when it started: a program rewriting ctx->data changes
 * nothing). A range outside it zeroes `to` and gives -EFAULT, as the kernel. */
static uint64_t skb_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r5;
	const struct vm_run *run = vm_current_run;
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	if (!vm_mem_ok(r3, len, true))
		return (uint64_t)-EFAULT;
	if (!run || !run->pkt || off > INT32_MAX || (uint64_t)off + len > run->pkt_len) {
		memset(ptr(r3), 0, len);
		return (uint64_t)-EFAULT;
	}
	memcpy(ptr(r3), run->pkt + off, len);
	return 0;
}

static const struct bpfvm_helper skb_helpers[] = {
	{ 26, "bpf_skb_load_bytes", skb_load_bytes, BPFVM_RET_INTEGER,
	  { BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, BPFVM_ARG_PTR_TO_UNINIT_MEM,
	    BPFVM_ARG_CONST_SIZE } },
};

/* ---- Test run --------------------------------------------------------------------- */

/* The __sk_buff fields ctx_in may set (the rest must be zero). */
static const struct { uint16_t off, len; } ctx_in_fields[] = {
#define F(NAME) { offsetof(struct __sk_buff, NAME), sizeof(((struct __sk_buff *)0)->NAME) }
	F(mark), F(priority), F(ingress_ifindex), F(ifindex), F(cb), F(tstamp),
	F(wire_len), F(gso_segs), F(gso_size), F(hwtstamp),
#undef F
};

static bool ctx_in_allowed(size_t byte)
{
	for (size_t i = 0; i < sizeof(ctx_in_fields) / sizeof(ctx_in_fields[0]); i++)
		if (byte - ctx_in_fields[i].off < ctx_in_fields[i].len)
			return true;
	return false;
}

/* skb->protocol (host order) and pkt_type, as eth_type_trans sets them for frame
 * (len >= VM_ETH_HLEN bytes) arriving on the loopback device. */
static uint16_t eth_type_trans(const uint8_t *frame, uint32_t len, uint32_t *pkt_type)
{
	static const uint8_t zero_mac[6];
	if (!memcmp(frame, zero_mac, 6))
		*pkt_type = PACKET_HOST;
	else	/* lo's broadcast address is zero too: ff:ff:.. is plain multicast */
		*pkt_type = frame[0] & 1 ? PACKET_MULTICAST : PACKET_OTHERHOST;
	uint16_t proto = (uint16_t)(frame[12] << 8 | frame[13]);
	if (proto >= ETH_P_802_3_MIN)
		return proto;
	if (len >= VM_ETH_HLEN + 2 && frame[14] == 0xff && frame[15] == 0xff)
		return ETH_P_802_3;	/* raw 802.3 (IPX) */
	return ETH_P_802_2;
}

static int skb_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts, bool l2)
{
	const char *name = prog->name;
	uint32_t size = opts->data_size_in;
	if (size < VM_ETH_HLEN || size > SKB_MAX_DATA)
		return vm_err(-EINVAL, "%s: data_in is %u bytes: an Ethernet frame of %d to %d "
			      "bytes is needed", name, size, VM_ETH_HLEN, SKB_MAX_DATA);
	struct __sk_buff in;
	if (vm_test_ctx_in(opts, &in, sizeof(in)))
		return vm_err(-E2BIG, "%s: ctx_in has non-zero bytes past struct __sk_buff", name);
	bool has_ctx = opts->ctx_in || opts->ctx_out;
	for (size_t i = 0; i < sizeof(in); i++)
		if (((const uint8_t *)&in)[i] && !ctx_in_allowed(i))
			return vm_err(-EINVAL, "%s: ctx_in sets byte %zu of struct __sk_buff; only "
				      "mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, "
				      "gso_segs, gso_size and hwtstamp may be set", name, i);
	uint32_t len = l2 ? size : size - VM_ETH_HLEN;
	if (in.wire_len && (in.wire_len < len || in.wire_len > GSO_LEGACY_MAX_SIZE))
		return vm_err(-EINVAL, "%s: ctx_in.wire_len %u is not in [%u, %d]", name,
			      in.wire_len, len, GSO_LEGACY_MAX_SIZE);
	if (in.gso_segs > GSO_MAX_SEGS)
		return vm_err(-EINVAL, "%s: ctx_in.gso_segs %u is over %d", name, in.gso_segs,
			      GSO_MAX_SEGS);

	uint8_t *buf = vm_lowmem_alloc(VM_PKT_PAGE);
	if (!buf)
		return vm_err(-ENOMEM, "%s: no memory below 4 GiB for the packet", name);
	uint8_t *frame = buf + SKB_HEADROOM, *start = l2 ? frame : frame + VM_ETH_HLEN;
	memcpy(frame, opts->data_in, size);

	struct __sk_buff skb = {
		.len = len,
		.ifindex = in.ifindex > VM_LOOPBACK_IFINDEX ? in.ifindex : VM_LOOPBACK_IFINDEX,
		.data = (uint32_t)(uintptr_t)start,
		.data_end = (uint32_t)(uintptr_t)(start + len),
		.data_meta = (uint32_t)(uintptr_t)start,
	};
	uint16_t proto = eth_type_trans(frame, size, &skb.pkt_type);
	const uint8_t be[2] = { (uint8_t)(proto >> 8), (uint8_t)proto };
	uint16_t proto_be;
	memcpy(&proto_be, be, 2);
	skb.protocol = proto_be;
	if (has_ctx) {	/* what convert___skb_to_skb carries over */
		skb.mark = in.mark;
		skb.priority = in.priority;
		skb.ingress_ifindex = in.ingress_ifindex;
		memcpy(skb.cb, in.cb, sizeof(skb.cb));
		skb.tstamp = in.tstamp;
		skb.wire_len = in.wire_len ? in.wire_len : len;
		skb.gso_segs = in.gso_segs;
		skb.gso_size = in.gso_size;
		skb.hwtstamp = in.hwtstamp;
	}
	const struct __sk_buff before = skb;	/* what programs cannot change */

	int err = vm_test_run_ctx(prog, &skb, sizeof(skb), opts);
	opts->retval = (uint32_t)opts->retval;	/* the kernel's result is a u32 */
	if (!l2)	/* the kernel pushes the Ethernet header back, zeroed */
		memset(frame, 0, VM_ETH_HLEN);
	if (!err)
		err = vm_test_copy_out(opts->data_out, &opts->data_size_out, frame, size);
	if (!err && opts->ctx_out) {	/* convert_skb_to___skb */
		in.mark = skb.mark;
		in.priority = skb.priority;
		in.ingress_ifindex = before.ingress_ifindex;
		in.ifindex = before.ifindex;
		in.tstamp = skb.tstamp;
		memcpy(in.cb, skb.cb, sizeof(in.cb));
		in.wire_len = before.wire_len;
		in.gso_segs = before.gso_segs;
		in.hwtstamp = before.hwtstamp;
		err = vm_test_copy_out(opts->ctx_out, &opts->ctx_size_out, &in, sizeof(in));
	}
	vm_lowmem_free(buf, VM_PKT_PAGE);
	return err;
}

static int sf_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	return skb_test_run(prog, opts, false);
}

static int tc_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	return skb_test_run(prog, opts, true);
}

static const char *const sf_sections[] = { "socket", NULL };
static const char *const tc_sections[] = { "tc", "classifier", "tcx", NULL };

const struct vm_prog_type vm_prog_type_socket_filter = {
	.type = BPFVM_PROG_TYPE_SOCKET_FILTER,
	.name = "socket_filter",
	.sec_prefixes = sf_sections,
	.ctx_size = sizeof(struct __sk_buff),
	.ctx_writable = true,
	.ld_abs = true,
	.helpers = skb_helpers,
	.helper_cnt = sizeof(skb_helpers) / sizeof(skb_helpers[0]),
	.ctx_regions = sf_regions,
	.ctx_packet = skb_packet,
	.test_run = sf_test_run,
};

const struct vm_prog_type vm_prog_type_sched_cls = {
	.type = BPFVM_PROG_TYPE_SCHED_CLS,
	.name = "sched_cls",
	.sec_prefixes = tc_sections,
	.ctx_size = sizeof(struct __sk_buff),
	.ctx_writable = true,
	.ld_abs = true,
	.helpers = skb_helpers,
	.helper_cnt = sizeof(skb_helpers) / sizeof(skb_helpers[0]),
	.ctx_regions = tc_regions,
	.ctx_packet = skb_packet,
	.test_run = tc_test_run,
};
