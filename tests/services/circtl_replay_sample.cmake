# Runs the real circtl binary on the shipped sample scenario and compares its transitions and
# alerts, line by line, with the reviewed expectation in testdata/. Then checks that a second
# replay of the same file appends nothing (dedupe) and that `circtl verify` finds the register sound.
# Invoked by ctest with -DCIRCTL -DSCENARIO -DEXPECTED -DWORK.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

execute_process(COMMAND "${CIRCTL}" replay --data-dir "${WORK}/register" "${SCENARIO}"
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "circtl replay exited ${rc}\n${err}")
endif()
file(WRITE "${WORK}/actual.jsonl" "${out}")
file(READ "${EXPECTED}" expected)
if(NOT out STREQUAL expected)
  execute_process(COMMAND diff -u "${EXPECTED}" "${WORK}/actual.jsonl")
  message(FATAL_ERROR "circtl replay output differs from ${EXPECTED} (actual: ${WORK}/actual.jsonl)")
endif()

execute_process(COMMAND "${CIRCTL}" replay --data-dir "${WORK}/register" "${SCENARIO}"
                OUTPUT_VARIABLE again ERROR_VARIABLE again_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT again STREQUAL "")
  message(FATAL_ERROR "second replay should append and print nothing (exit ${rc}):\n${again}")
endif()
if(NOT again_err MATCHES "0 appended, 42 duplicates skipped, 0 bad")
  message(FATAL_ERROR "second replay summary unexpected: ${again_err}")
endif()

execute_process(COMMAND "${CIRCTL}" verify --data-dir "${WORK}/register"
                OUTPUT_VARIABLE verify RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT verify MATCHES "register OK")
  message(FATAL_ERROR "circtl verify failed (exit ${rc}):\n${verify}")
endif()
file(REMOVE_RECURSE "${WORK}")
