# cmake -DFUZZER=<binary> -DCORPUS=<seed dir> -DWORK=<scratch dir> -P run_fuzzer.cmake
# Runs one libFuzzer target for $ENV{MMT_FUZZ_SECONDS} seconds (default 20) and
# fails on any finding; the inputs it discovers and any crash file stay in WORK.
set(seconds 20)
if(DEFINED ENV{MMT_FUZZ_SECONDS})
  set(seconds $ENV{MMT_FUZZ_SECONDS})
endif()
file(MAKE_DIRECTORY ${WORK}/corpus)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${seconds} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix=${WORK}/ ${WORK}/corpus ${CORPUS}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${result}); the input is in ${WORK}/ (crash-*, leak-*, timeout-*, oom-*)")
endif()
