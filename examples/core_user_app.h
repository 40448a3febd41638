/*
 * core_user_app.h — struct request as two releases of an imaginary application
 * lay it out; core_user.bpf.c reads it with CO-RE, built once for both.
 *
 *	APP_V1: { len, flags, id, path, ver }                 (no trace_id)
 *	APP_V2: { id, trace_id, path, ver, flags, len, tag[8] }
 *
 * Define exactly one of APP_V1 / APP_V2, and APP_REQ / APP_REQ_VERSION as the
 * names the two structs get (the BTF files use "request" and "req_version", the
 * names the program looks for; the test includes this file once per release
 * under other names). With APP_EMIT_BTF a variable of the type is defined so
 * that `clang -g -target bpf -c -x c` writes its BTF (examples/CMakeLists.txt
 * builds app_v1.btf.o and app_v2.btf.o this way for btf_custom_path).
 */
#include <linux/types.h>

struct APP_REQ_VERSION {
	__u16 major;
	__u16 minor;
};

#if defined(APP_V1)
struct APP_REQ {
	__u32 len;
	__u32 flags;
	__u64 id;
	const char *path;
	struct APP_REQ_VERSION ver;
};
#elif defined(APP_V2)
struct APP_REQ {
	__u64 id;
	__u64 trace_id;
	const char *path;
	struct APP_REQ_VERSION ver;
	__u32 flags;
	__u32 len;
	__u8 tag[8];
};
#else
#error "define APP_V1 or APP_V2"
#endif

#ifdef APP_EMIT_BTF
struct APP_REQ app_request_btf;
#endif
