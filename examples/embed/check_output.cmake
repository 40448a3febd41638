# check_output.cmake — runs the embedding example and compares its output with
# the expected text: cmake -DEXE=embed -DOBJ=embed_hook.bpf.o -DEXPECTED=F -P this
execute_process(COMMAND ${EXE} ${OBJ} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
file(READ ${EXPECTED} expected)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed exited with ${rc}\n--- stdout:\n${out}--- stderr:\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "embed printed:\n${out}--- expected:\n${expected}--- stderr:\n${err}")
endif()
message(STATUS "embed: output as expected")
