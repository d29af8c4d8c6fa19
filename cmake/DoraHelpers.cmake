# Shared CMake helpers: warning flags, module libraries and tests.

set(DORA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion)
if(DORA_WERROR)
    list(APPEND DORA_WARNINGS -Werror)
endif()

# dora_module(NAME [OBJECTS] SOURCES ... DEPS ... PUBLIC_DEPS ...): one static library per
# module, `dora_<NAME>`, with the repository's src/ and include/ on its include path.
#
# OBJECTS: the module is part of libdora-node. Its sources are compiled once into the object
# library `dora_<NAME>_objects`, from which `dora_<NAME>` is archived and the installable
# libdora-node.a is assembled (src/node_api/CMakeLists.txt); they are compiled with hidden
# visibility, so that libdora-node.so exports only what include/dora marks DORA_NODE_API.
# Compile settings of such a module belong on `dora_<NAME>_objects`.
function(dora_module name)
    cmake_parse_arguments(ARG "OBJECTS" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
    if(ARG_OBJECTS)
        set(target dora_${name}_objects)
        add_library(${target} OBJECT ${ARG_SOURCES})
        set_target_properties(${target} PROPERTIES
            CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
        add_library(dora_${name} STATIC)
        # Linked directly, the object library puts its objects into the archive; its usage
        # requirements (include paths, dependencies) pass on to whoever links dora_<NAME>.
        target_link_libraries(dora_${name} PUBLIC ${target})
    else()
        set(target dora_${name})
        add_library(${target} STATIC ${ARG_SOURCES})
    endif()
    target_include_directories(${target} PUBLIC
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
        $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
    target_compile_options(${target} PRIVATE ${DORA_WARNINGS})
    target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

# dora_test(NAME SOURCES ... LIBS ... [LABEL unit|integration|e2e] [TIMEOUT s]):
# a GoogleTest executable registered with ctest under one label and a timeout.
function(dora_test name)
    if(NOT DORA_BUILD_TESTS)
        return()
    endif()
    cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
    if(NOT ARG_LABEL)
        set(ARG_LABEL unit)
    endif()
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    add_executable(${name} ${ARG_SOURCES})
    target_compile_options(${name} PRIVATE ${DORA_WARNINGS})
    target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main Threads::Threads)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()

# dora_fuzzer(NAME SOURCES ... LIBS ...): a libFuzzer target; its seed corpus lives in
# fuzz/corpus/<NAME>/. With DORA_BUILD_FUZZERS (clang) it links libFuzzer and is listed in
# <build>/fuzzers.txt for scripts/fuzz.sh. Otherwise, with tests on, the same code is linked with
# fuzz/replay_main.cpp (any compiler) and the ctest `<NAME>_corpus` runs it over the seed corpus,
# so a target that no longer builds, or a seed that now crashes it, fails the ordinary suite.
function(dora_fuzzer name)
    cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
    set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
    if(NOT IS_DIRECTORY ${corpus})
        message(FATAL_ERROR "fuzz target ${name} has no seed corpus: add files to ${corpus}")
    endif()
    if(DORA_BUILD_FUZZERS)
        add_executable(${name} ${ARG_SOURCES})
        target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address)
        target_link_options(${name} PRIVATE -fsanitize=fuzzer,address)
        target_link_libraries(${name} PRIVATE ${ARG_LIBS})
        set_property(GLOBAL APPEND PROPERTY DORA_FUZZERS ${name})
    elseif(DORA_BUILD_TESTS)
        add_executable(${name}_replay ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cpp)
        target_compile_options(${name}_replay PRIVATE ${DORA_WARNINGS})
        target_link_libraries(${name}_replay PRIVATE ${ARG_LIBS})
        add_test(NAME ${name}_corpus COMMAND ${name}_replay ${corpus})
        set_tests_properties(${name}_corpus PROPERTIES LABELS unit TIMEOUT 120)
    endif()
endfunction()

# Writes every dora_fuzzer target to <build>/fuzzers.txt, one a line: its name, a tab, its
# executable. Call once, after every module is added.
function(dora_write_fuzzer_list)
    get_property(fuzzers GLOBAL PROPERTY DORA_FUZZERS)
    set(text "")
    foreach(fuzzer IN LISTS fuzzers)
        string(APPEND text "${fuzzer}\t$<TARGET_FILE:${fuzzer}>\n")
    endforeach()
    file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/fuzzers.txt CONTENT "${text}")
endfunction()
