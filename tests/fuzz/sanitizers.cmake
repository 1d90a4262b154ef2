# Build-wide instrumentation for the hardening builds, included by the top-level
# CMakeLists.txt before any target is defined, so every library, test and the
# mcguard binary of that build are instrumented alike.
#
#   -DMCGUARD_SANITIZE=address,undefined   AddressSanitizer + UndefinedBehaviorSanitizer
#   -DMCGUARD_SANITIZE=thread              ThreadSanitizer
#   -DMCGUARD_FUZZ=ON                      libFuzzer targets in tests/fuzz (clang only);
#                                          combines with MCGUARD_SANITIZE=address,undefined
#
# scripts/hardening configures, builds and runs these builds.
set(MCGUARD_SANITIZE "" CACHE STRING "sanitizers for every target (address,undefined or thread)")
option(MCGUARD_FUZZ "build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang also warns about positional aggregate initializers that leave out members
  # with default initializers, which the code does on purpose.
  add_compile_options(-Wno-missing-field-initializers)
endif()

if(MCGUARD_FUZZ AND NOT MCGUARD_SANITIZE)
  # libFuzzer finds memory errors only with ASan beside it.
  set(MCGUARD_SANITIZE "address,undefined")
endif()

if(MCGUARD_SANITIZE)
  add_compile_options(-fsanitize=${MCGUARD_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MCGUARD_SANITIZE})
  if(MCGUARD_SANITIZE MATCHES "undefined")
    # A finding aborts the process, so a test (or CI) cannot pass over it.
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

if(MCGUARD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MCGUARD_FUZZ needs clang (CXX=clang++): libFuzzer ships with it")
  endif()
  # Coverage feedback from every library the fuzz targets link; the fuzz
  # executables themselves add -fsanitize=fuzzer (libFuzzer's main).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
