# Runs the real circtl binary on the shipped sample scenario and compares its transitions and
# alerts, line by line, with the reviewed expectation in testdata/. Then checks that a second
# replay of the same file appends nothing (dedupe), that `circtl verify` finds the register sound,
# that `circtl rebuild` recomputes the same projections (and verify stays clean), and that
# `circtl show` names the action an early achievement left open and the lessons shared after
# closure.
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
if(NOT again_err MATCHES "0 appended, 60 duplicates skipped, 0 bad")
  message(FATAL_ERROR "second replay summary unexpected: ${again_err}")
endif()

# circtl COMMAND on the register must exit 0 with standard output matching `pattern`; else the
# test fails with `what`.
function(expect_circtl command pattern what)
  execute_process(COMMAND "${CIRCTL}" ${command} --data-dir "${WORK}/register" ${ARGN}
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "${what} (exit ${rc}):\n${out}")
  endif()
endfunction()

expect_circtl(verify "register OK" "circtl verify failed")
expect_circtl(rebuild "rebuilt projections: 0 differed from what was stored"
              "circtl rebuild found differences")
expect_circtl(verify "initiatives 6, events 65, outbox 0, timers 1\nregister OK"
              "circtl verify after rebuild failed")
expect_circtl(show "action     crm  ACTION_STATUS_UNSPECIFIED  0%  not needed: target met"
              "circtl show FIRST-CONTACT does not name the action not needed" FIRST-CONTACT)
execute_process(COMMAND "${CIRCTL}" show --data-dir "${WORK}/register" ONCALL-PAGES
                OUTPUT_VARIABLE show RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT show MATCHES "timer ALERT_KIND_LESSONS_NOT_RECORDED"
   OR NOT show MATCHES "momentum_recorded  //improvement/register oncall-pages-060\n"
   OR show MATCHES "ignored")
  message(FATAL_ERROR "circtl show ONCALL-PAGES lacks the lessons after closure:\n${show}")
endif()
file(REMOVE_RECURSE "${WORK}")
