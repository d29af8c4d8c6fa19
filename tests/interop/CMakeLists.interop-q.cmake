# Query and liveliness cases of the interop suite (tests/interop/test_query*.py,
# test_liveliness*.py; fixtures in query_fixtures.py): real Zenoh (eclipse-zenoh in the test venv)
# against `dora router` and the `dora zenoh` tools. Included by tests/interop/CMakeLists.txt; one
# ctest entry per module so that ctest -j overlaps them.
set(interop_q_dir ${CMAKE_CURRENT_LIST_DIR})
foreach(entry query_router:test_query_router.py:90 query_session:test_query_session.py:120
              liveliness_router:test_liveliness_router.py:90
              liveliness_session:test_liveliness_session.py:120)
    string(REPLACE ":" ";" entry ${entry})
    list(GET entry 0 name)
    list(GET entry 1 module)
    list(GET entry 2 timeout)
    dora_venv_test(NAME interop_${name} LABELS interop TIMEOUT ${timeout}
        COMMAND python3 -m pytest -q -p no:cacheprovider --rootdir=${interop_q_dir}
            ${interop_q_dir}/${module}
        ENVIRONMENT "DORA_CLI=$<TARGET_FILE:dora_cli>" "PYTHONDONTWRITEBYTECODE=1")
    set_tests_properties(interop_${name} PROPERTIES WORKING_DIRECTORY ${interop_q_dir})
endforeach()
