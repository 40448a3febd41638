# checksum.s — the Internet checksum (RFC 1071) of its input, as IPv4 computes
# over its header: r1 = memory, r2 = its length. Written in the pseudo-C syntax
# of llvm-objdump and the kernel's verifier log.
	r6 = r1			# cursor
	r7 = r1
	r7 += r2		# end of the data
	r0 = 0			# running sum
words:
	r3 = r6
	r3 += 2
	if r3 > r7 goto odd	# fewer than 2 bytes left
	r4 = *(u16 *)(r6 + 0)
	r4 = be16 r4		# 16-bit words in network byte order
	r0 += r4
	r6 += 2
	goto words
odd:
	if r6 >= r7 goto fold
	r4 = *(u8 *)(r6 + 0)	# a last odd byte is the high half of a word
	r4 <<= 8
	r0 += r4
fold:
	r3 = r0
	r3 >>= 16
	if r3 == 0 goto done	# no carries left
	r0 &= 0xffff
	r0 += r3
	goto fold
done:
	r0 ^= 0xffff		# one's complement
	exit
