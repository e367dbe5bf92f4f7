# cmake -DFUZZER=<binary> -DCORPUS=<seed dir> -DWORK=<scratch dir> -P run_fuzzer.cmake
# Runs one libFuzzer target for $ENV{MMT_FUZZ_SECONDS} seconds (default 10) and
# fails on any finding; the inputs it discovers and any crash file stay in WORK.
# Each input has a budget, so a hang or a blow-up is a finding and not a slow run:
# 10 s (-timeout) and 512 MB of resident memory (-rss_limit_mb, which also caps any
# one malloc at 512 MB). Every parser refuses sizes from headers before allocating,
# and the targets run with small limits (4 megapixels, 10 minutes of audio), so an
# input that needs more than that, ASan's shadow included, is a missed limit. A run
# without findings peaks at 270-380 MB (wav, config, image over 20-60 s), most of it
# ASan's quarantine of freed blocks (256 MB by default), which stops growing there.
set(timeout_seconds 10)
set(rss_limit_mb 512)
set(seconds 10)
if(DEFINED ENV{MMT_FUZZ_SECONDS})
  set(seconds $ENV{MMT_FUZZ_SECONDS})
endif()
file(MAKE_DIRECTORY ${WORK}/corpus)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${seconds} -timeout=${timeout_seconds} -rss_limit_mb=${rss_limit_mb} -print_final_stats=1
          -artifact_prefix=${WORK}/ ${WORK}/corpus ${CORPUS}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${result}); the input is in ${WORK}/ (crash-*, leak-*, timeout-*, oom-*)")
endif()
