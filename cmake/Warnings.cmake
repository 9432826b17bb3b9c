# Warnings are errors on every compiler we support (g++ 12, clang 14).
function(fraiseql_set_warnings target)
  target_compile_options(${target} INTERFACE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
    -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 at -O2/-O3 reports false positives inside libstdc++'s std::string: -Wrestrict in
    # operator+ (GCC bug 105651) and -Wmaybe-uninitialized for strings in brace-initialised
    # aggregates (GCC bug 107138). Both builds at -O0 (Debug, asan) cannot run those analyses;
    # clang (scripts/build clang) sees real uninitialised reads.
    target_compile_options(${target} INTERFACE -Wno-restrict
      $<$<NOT:$<CONFIG:Debug,asan>>:-Wno-maybe-uninitialized>)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Lock annotations (common/thread_annotations.h) are checked under clang.
    target_compile_options(${target} INTERFACE -Wthread-safety)
  endif()
endfunction()
