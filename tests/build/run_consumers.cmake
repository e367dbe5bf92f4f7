# Installs mmt into a scratch prefix, then configures, builds and runs a
# consumer that uses find_package(mmt) and one that uses add_subdirectory, and a
# speech-only consumer that links mmt::text where the image codecs are not found.
# Arguments: MMT_SOURCE_DIR, WORK_DIR, MMT_TEST_DATA_DIR. The consumers build
# with no build type (-O0, no debug info): what is checked is that they configure,
# compile, link and compute, and unoptimised they compile in a fraction of the time.
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "failed (${code}): ${ARGN}\n${out}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${MMT_SOURCE_DIR} -B ${WORK_DIR}/mmt-build -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix
    -DMMT_BUILD_TESTS=OFF -DMMT_BUILD_EXAMPLES=OFF -DMMT_BUILD_TOOLS=OFF -DMMT_BUILD_C=OFF)  # headers only: nothing to compile
run(${CMAKE_COMMAND} --install ${WORK_DIR}/mmt-build)

foreach(kind find_package add_subdirectory)
  run(${CMAKE_COMMAND} -S ${MMT_SOURCE_DIR}/tests/consumers/${kind} -B ${WORK_DIR}/${kind}
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DMMT_SOURCE_DIR=${MMT_SOURCE_DIR} -DCMAKE_BUILD_TYPE=)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${kind})
  run(${WORK_DIR}/${kind}/consumer ${MMT_TEST_DATA_DIR}/clip-tiny)
  message(STATUS "${kind} consumer: built and ran")
endforeach()

# Speech alone, on a configuration where libpng and libjpeg cannot be found.
run(${CMAKE_COMMAND} -S ${MMT_SOURCE_DIR}/tests/consumers/speech_only -B ${WORK_DIR}/speech_only
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=
    -DCMAKE_DISABLE_FIND_PACKAGE_PNG=ON -DCMAKE_DISABLE_FIND_PACKAGE_JPEG=ON)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/speech_only)
run(${WORK_DIR}/speech_only/consumer ${MMT_TEST_DATA_DIR}/wav2vec2-tiny-ctc)
message(STATUS "speech-only consumer: built and ran without the image codecs")
