/* core_native.h — the struct core.c reads with CO-RE; also compiled natively by
 * test_loader.c to compare offsets with offsetof(). */
#ifndef BPFVM_TEST_CORE_NATIVE_H
#define BPFVM_TEST_CORE_NATIVE_H

enum core_color { CORE_RED = 1, CORE_GREEN = 5, CORE_BLUE = 9 };

struct core_inner { unsigned int x; unsigned long long y; };

struct core_rec {
	unsigned char a;
	unsigned long long b;
	struct core_inner inner;
	unsigned short arr[5];
	unsigned int flags;
	int bits_lo : 3;
	int bits_hi : 7;
}
#ifdef __bpf__
__attribute__((preserve_access_index))
#endif
;

#endif
