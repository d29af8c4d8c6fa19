# The test venv: a Python virtual environment with the pinned test-only packages of
# (and, made by the same target, the pinned npm packages of tests/web/package.json in
# ${CMAKE_BINARY_DIR}/npm: playwright-core for the web view's browser test)
# tests/requirements.txt (pyarrow, numpy, eclipse-zenoh, mcap, pytest), for tests that check
# dora against them. Nothing at run time needs these packages, and a plain build never touches the
# network: the venv is made only by the `test_venv` target (scripts/test.sh builds it), with the
# interpreter the project was configured with (Python_EXECUTABLE), and reused while the pins and
# the interpreter are unchanged (scripts/make_test_venv.sh).
#
#   DORA_TEST_VENV          cache variable: where the venv lives (default ${CMAKE_BINARY_DIR}/venv)
#   DORA_TEST_VENV_PYTHON   its interpreter (${DORA_TEST_VENV}/bin/python)
#   dora_venv_test(NAME n COMMAND cmd... [LABELS l...] [TIMEOUT s] [ENVIRONMENT k=v...])
#       a ctest test run in the venv (its bin/ first on PATH, so `python3` is the venv's, in the
#       test and in the Python nodes a `dora run` it starts spawns); reported as skipped, naming
#       the command that creates the venv, while the venv does not exist.
if(Python_EXECUTABLE)
    set(dora_venv_base_python ${Python_EXECUTABLE})
else()
    find_program(DORA_TEST_VENV_BASE_PYTHON python3)
    set(dora_venv_base_python ${DORA_TEST_VENV_BASE_PYTHON})
endif()

set(DORA_TEST_VENV ${CMAKE_BINARY_DIR}/venv CACHE PATH
    "The test venv (test-only Python packages of tests/requirements.txt)")
set(DORA_TEST_VENV_PYTHON ${DORA_TEST_VENV}/bin/python)
set(DORA_TEST_REQUIREMENTS ${PROJECT_SOURCE_DIR}/tests/requirements.txt)
# The test-only npm packages (tests/web/package.json: playwright-core for the browser test).
set(DORA_TEST_NPM ${CMAKE_BINARY_DIR}/npm CACHE PATH "The test-only npm packages")

if(dora_venv_base_python)
    add_custom_target(test_venv
        COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/make_test_venv.sh ${dora_venv_base_python}
            ${DORA_TEST_VENV} ${DORA_TEST_REQUIREMENTS}
        COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/make_test_npm.sh ${DORA_TEST_NPM}
            ${PROJECT_SOURCE_DIR}/tests/web/package.json
        COMMENT "Test venv ${DORA_TEST_VENV} from tests/requirements.txt, npm packages in ${DORA_TEST_NPM}"
        USES_TERMINAL VERBATIM)
else()
    add_custom_target(test_venv
        COMMAND ${CMAKE_COMMAND} -E echo "test_venv: no python3 found; configure with -DPython_EXECUTABLE=..."
        COMMAND ${CMAKE_COMMAND} -E false
        VERBATIM)
endif()

function(dora_venv_test)
    cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "COMMAND;LABELS;ENVIRONMENT" ${ARGN})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    add_test(NAME ${ARG_NAME}
        COMMAND bash ${PROJECT_SOURCE_DIR}/tests/python/run_in_venv.sh ${DORA_TEST_VENV}
            ${DORA_TEST_REQUIREMENTS} ${ARG_COMMAND})
    set_tests_properties(${ARG_NAME} PROPERTIES
        TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77 ENVIRONMENT "${ARG_ENVIRONMENT}")
    if(ARG_LABELS)
        set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}")
    endif()
endfunction()
