# demo.s — sums the 32-bit little-endian words of its input (r1 = memory,
# r2 = length in bytes) with a bpf-to-bpf call per word, in the pseudo-C syntax
# that llvm-objdump and the kernel's verifier log use.
	r6 = r1			# cursor
	r7 = r1
	r7 += r2		# end
	r8 = 0			# sum
loop:
	r3 = r6
	r3 += 4
	if r3 > r7 goto done
	r1 = *(u32 *)(r6 + 0)
	call add_word
	r8 += r0
	r6 += 4
	goto loop
done:
	r0 = r8
	exit

# add_word(x): returns x, with its bytes counted as well: x + popcount-ish mix
add_word:
	r0 = r1
	r0 &= 0xffffffff
	exit
