# extract_prog.cmake — cmake -P script, run at build time for each benchmark program:
# checks that the BPF object OBJ holds the entry function bench_NAME at offset 0 of
# section "bench/NAME" with no relocations against that section, then writes the
# section's bytes (the program's instructions) to OUT.
#
#   cmake -DOBJ=x.o -DNAME=x -DOUT=x.bin -DOBJCOPY=llvm-objcopy -DREADELF=llvm-readelf
#         -P extract_prog.cmake
foreach(v OBJ NAME OUT OBJCOPY READELF)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "extract_prog.cmake: ${v} not set")
  endif()
endforeach()
set(sec "bench/${NAME}")

# Relocations: every one names something outside the section (a global, a map, a
# function in another section); the extracted bytes could not run.
execute_process(COMMAND ${READELF} -r ${OBJ}
  OUTPUT_VARIABLE relocs ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -r ${OBJ} failed: ${err}")
endif()
string(FIND "${relocs}" "'.rel${sec}'" hit_rel)
string(FIND "${relocs}" "'.rela${sec}'" hit_rela)
if(NOT hit_rel EQUAL -1 OR NOT hit_rela EQUAL -1)
  message(FATAL_ERROR
    "bench program ${NAME}: section ${sec} of ${OBJ} has relocations: it uses a global, "
    "a string literal, a library call or a function outside the section "
    "(declare helpers BENCH_FUNC(${NAME}); see bench/progs/bench_prog.h):\n${relocs}")
endif()

# The entry point must be the first instruction.
execute_process(COMMAND ${READELF} -s ${OBJ}
  OUTPUT_VARIABLE syms ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -s ${OBJ} failed: ${err}")
endif()
if(NOT syms MATCHES "[ \t]0+[ \t]+[0-9]+[ \t]+FUNC[ \t]+GLOBAL[ \t]+[A-Z]+[ \t]+[0-9]+[ \t]+bench_${NAME}\n")
  message(FATAL_ERROR
    "bench program ${NAME}: bench_${NAME} is not a global function at offset 0 of its "
    "section in ${OBJ} (define the entry function first, with BENCH_PROG(${NAME})):\n${syms}")
endif()

execute_process(COMMAND ${OBJCOPY} -O binary --only-section=${sec} ${OBJ} ${OUT}
  ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJCOPY} --only-section=${sec} ${OBJ} failed: ${err}")
endif()
file(SIZE ${OUT} size)
math(EXPR rem "${size} % 8")
if(size EQUAL 0 OR NOT rem EQUAL 0)
  message(FATAL_ERROR "bench program ${NAME}: ${OUT} is ${size} bytes, not whole instructions")
endif()
