# Installs mmt into a scratch prefix, then configures, builds and runs a
# consumer that uses find_package(mmt) and one that uses add_subdirectory.
# Arguments: MMT_SOURCE_DIR, WORK_DIR, MMT_TEST_DATA_DIR.
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "failed (${code}): ${ARGN}\n${out}")
  endif()
endfunction()

run(${CMAKE_COMMAND} -S ${MMT_SOURCE_DIR} -B ${WORK_DIR}/mmt-build -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix
    -DMMT_BUILD_TESTS=OFF -DMMT_BUILD_EXAMPLES=OFF)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/mmt-build)

foreach(kind find_package add_subdirectory)
  run(${CMAKE_COMMAND} -S ${MMT_SOURCE_DIR}/tests/consumers/${kind} -B ${WORK_DIR}/${kind}
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DMMT_SOURCE_DIR=${MMT_SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${kind})
  run(${WORK_DIR}/${kind}/consumer ${MMT_TEST_DATA_DIR}/clip-tiny)
  message(STATUS "${kind} consumer: built and ran")
endforeach()
