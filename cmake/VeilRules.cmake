# Declarative build rules in the spirit of Tink's TinkBuildRules.cmake.
#
#   veil_cc_library(NAME esdk SRCS a.cc HDRS a.h DEPS veil::crypto)  -> target veil_esdk, alias veil::esdk
#   veil_cc_binary(NAME veil SRCS main.cc DEPS ...)                   -> executable `veil`
#   veil_cc_test(NAME esdk_test SRCS t.cc DEPS ... [LABELS l ...] [TIMEOUT s] [NO_MAIN])
#   veil_cc_benchmark(NAME esdk_benchmark SRCS b.cc DEPS ...)
#   veil_cc_fuzzer(NAME esdk_decrypt_fuzzer SRCS f.cc DEPS ...)       (only with VEIL_FUZZ)
#
# Sources are listed by name; there is no file(GLOB). Warnings are errors for
# Veil's own targets only.

set(VEIL_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(VEIL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(VEIL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VEIL_FUZZ needs clang (use the `fuzz` preset)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(_veil_common target)
  target_compile_options(${target} PRIVATE ${VEIL_WARNINGS})
  target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}")
endfunction()

function(veil_cc_library)
  cmake_parse_arguments(V "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target veil_${V_NAME})
  if(V_SRCS)
    add_library(${target} STATIC ${V_SRCS} ${V_HDRS})
    _veil_common(${target})
    target_link_libraries(${target} PUBLIC ${V_DEPS})
  else()
    add_library(${target} INTERFACE ${V_HDRS})
    target_include_directories(${target} INTERFACE "${PROJECT_SOURCE_DIR}")
    target_link_libraries(${target} INTERFACE ${V_DEPS})
  endif()
  add_library(veil::${V_NAME} ALIAS ${target})
endfunction()

function(veil_cc_binary)
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  _veil_common(${V_NAME})
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS})
  set_target_properties(${V_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/bin")
endfunction()

function(veil_cc_test)
  if(NOT VEIL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(V "NO_MAIN" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  _veil_common(${V_NAME})
  set(main GTest::gtest_main)
  if(V_NO_MAIN)
    set(main GTest::gtest)
  endif()
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS} ${main} GTest::gmock)
  target_compile_definitions(${V_NAME} PRIVATE
    VEIL_SHARED_DIR_DEFAULT="${VEIL_SHARED_DIR}"
    VEIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    VEIL_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT V_TIMEOUT)
    set(V_TIMEOUT 300)
  endif()
  # One ctest entry per test binary: labels stay intact (gtest discovery
  # flattens list-valued properties) and nothing runs at build time.
  add_test(NAME ${V_NAME} COMMAND ${V_NAME} --gtest_color=no)
  set_tests_properties(${V_NAME} PROPERTIES TIMEOUT ${V_TIMEOUT} LABELS "${V_LABELS}")
endfunction()

function(veil_cc_benchmark)
  if(NOT VEIL_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  _veil_common(${V_NAME})
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS} benchmark::benchmark)
  set_target_properties(${V_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/bench")
endfunction()

function(veil_cc_fuzzer)
  if(NOT VEIL_FUZZ)
    return()
  endif()
  cmake_parse_arguments(V "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${V_NAME} ${V_SRCS})
  _veil_common(${V_NAME})
  target_link_libraries(${V_NAME} PRIVATE ${V_DEPS})
  target_link_options(${V_NAME} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${V_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/fuzz")
endfunction()
