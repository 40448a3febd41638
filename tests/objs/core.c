/* CO-RE: reads of a user struct marked preserve_access_index (field offsets,
 * a bitfield, existence, sizes, an enum value). core_native.h holds the same struct
 * for the native side of the test (offsetof). */
#include "bpf_defs.h"
#include "core_native.h"

#define __core(x) __builtin_preserve_access_index(x)

SEC("uprobe/core")
int core_read(struct core_rec *r)
{
	__u64 out = 0;
	out += __core(r->b);
	out += __core(r->inner.y);
	out += __core(r->arr[2]);
	out += __builtin_preserve_field_info(r->flags, 0);	/* FIELD_BYTE_OFFSET */
	out += __builtin_preserve_field_info(r->flags, 1);	/* FIELD_BYTE_SIZE */
	out += __builtin_preserve_field_info(r->bits_hi, 2);	/* FIELD_EXISTS */
	out += __builtin_preserve_field_info(r->bits_hi, 3);	/* FIELD_SIGNED */
	out += __builtin_preserve_field_info(r->bits_hi, 4);	/* FIELD_LSHIFT_U64 */
	out += __builtin_preserve_field_info(r->bits_hi, 5);	/* FIELD_RSHIFT_U64 */
	out += __builtin_preserve_type_info(*r, 0);		/* TYPE_EXISTS */
	out += __builtin_preserve_type_info(*r, 1);		/* TYPE_SIZE */
	out += __builtin_preserve_enum_value(*(enum core_color *)CORE_BLUE, 0); /* EXISTS */
	out += __builtin_preserve_enum_value(*(enum core_color *)CORE_BLUE, 1); /* VALUE */
	return (int)out;
}

char LICENSE[] SEC("license") = "GPL";
