# Obtains the pinned llama.cpp source tree and sets LLAMA_CPP_SOURCE_DIR.
#
# The source comes from the npm registry package node-llama-cpp@3.22.1, which ships llama.cpp's
# release as a git bundle at llama/gitRelease.bundle. We check the tarball against its pinned
# SRI integrity, clone the bundle into the build tree and check the commit we got. A stamp file
# records a verified clone so that later configures skip all of this.
#
# LLAMA_CPP_DIR (CMake variable or environment variable) builds a user's own checkout instead.

set(ALIGN4J_NPM_PACKAGE   "node-llama-cpp@3.22.1")
set(ALIGN4J_NPM_TARBALL   "node-llama-cpp-3.22.1.tgz")
set(ALIGN4J_NPM_INTEGRITY "sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==")
set(ALIGN4J_LLAMA_COMMIT  "de3ff815ea7d559ee917f063901b8986f038abc6")  # llama.cpp release of 2026-09-28, ggml 0.25.1

if (NOT LLAMA_CPP_DIR AND DEFINED ENV{LLAMA_CPP_DIR} AND NOT "$ENV{LLAMA_CPP_DIR}" STREQUAL "")
    set(LLAMA_CPP_DIR "$ENV{LLAMA_CPP_DIR}")
endif()

if (LLAMA_CPP_DIR)
    if (NOT EXISTS "${LLAMA_CPP_DIR}/include/llama.h")
        message(FATAL_ERROR "LLAMA_CPP_DIR=${LLAMA_CPP_DIR} is not a llama.cpp checkout (no include/llama.h there)")
    endif()
    message(STATUS "align4j: using the user's llama.cpp at ${LLAMA_CPP_DIR} (not the pinned release)")
    set(LLAMA_CPP_SOURCE_DIR "${LLAMA_CPP_DIR}")
    return()
endif()

set(_deps  "${ALIGN4J_BUILD_ROOT}/deps")
set(_src   "${ALIGN4J_BUILD_ROOT}/llama.cpp")
set(_stamp "${_src}/.align4j-verified")

if (EXISTS "${_stamp}")
    file(READ "${_stamp}" _stamped)
    if (_stamped STREQUAL "${ALIGN4J_LLAMA_COMMIT}")
        set(LLAMA_CPP_SOURCE_DIR "${_src}")
        return()
    endif()
endif()

function(_align4j_run what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if (NOT rc EQUAL 0)
        message(FATAL_ERROR "align4j: ${what} failed (exit ${rc}):\n${out}\n${err}")
    endif()
endfunction()

find_program(NPM_EXECUTABLE npm)
find_program(NODE_EXECUTABLE node)
find_package(Git QUIET)
if (NOT NPM_EXECUTABLE OR NOT NODE_EXECUTABLE OR NOT GIT_FOUND)
    message(FATAL_ERROR "align4j: obtaining the pinned llama.cpp needs npm, node and git on PATH "
                        "(or set LLAMA_CPP_DIR=/path/to/llama.cpp to build your own checkout)")
endif()

file(MAKE_DIRECTORY "${_deps}")
set(_tgz "${_deps}/${ALIGN4J_NPM_TARBALL}")
if (NOT EXISTS "${_tgz}")
    message(STATUS "align4j: fetching ${ALIGN4J_NPM_PACKAGE} from the npm registry")
    _align4j_run("npm pack ${ALIGN4J_NPM_PACKAGE}"
        ${NPM_EXECUTABLE} pack ${ALIGN4J_NPM_PACKAGE} --silent --pack-destination "${_deps}")
endif()

# The SRI string is base64 of the raw SHA-512 digest; node computes it the way npm does.
execute_process(
    COMMAND ${NODE_EXECUTABLE} -e
        "const c=require('crypto'),f=require('fs');process.stdout.write('sha512-'+c.createHash('sha512').update(f.readFileSync(process.argv[1])).digest('base64'))"
        "${_tgz}"
    OUTPUT_VARIABLE _integrity RESULT_VARIABLE _rc)
if (NOT _rc EQUAL 0 OR NOT _integrity STREQUAL "${ALIGN4J_NPM_INTEGRITY}")
    file(REMOVE "${_tgz}")
    message(FATAL_ERROR "align4j: ${_tgz} failed its integrity check\n  expected ${ALIGN4J_NPM_INTEGRITY}\n  got      ${_integrity}\n"
                        "The file was removed; configure again to fetch it anew.")
endif()
message(STATUS "align4j: ${ALIGN4J_NPM_TARBALL} integrity verified")

file(REMOVE_RECURSE "${_deps}/package" "${_src}")
_align4j_run("extracting the git bundle"
    ${CMAKE_COMMAND} -E chdir "${_deps}" ${CMAKE_COMMAND} -E tar xzf "${_tgz}" package/llama/gitRelease.bundle)
_align4j_run("cloning the llama.cpp bundle"
    ${GIT_EXECUTABLE} -c advice.detachedHead=false clone --quiet "${_deps}/package/llama/gitRelease.bundle" "${_src}")
execute_process(COMMAND ${GIT_EXECUTABLE} -C "${_src}" rev-parse HEAD OUTPUT_VARIABLE _head OUTPUT_STRIP_TRAILING_WHITESPACE)
if (NOT _head STREQUAL "${ALIGN4J_LLAMA_COMMIT}")
    message(FATAL_ERROR "align4j: the bundle holds llama.cpp ${_head}, expected ${ALIGN4J_LLAMA_COMMIT}")
endif()
file(REMOVE_RECURSE "${_deps}/package")
file(WRITE "${_stamp}" "${ALIGN4J_LLAMA_COMMIT}")
message(STATUS "align4j: llama.cpp ${ALIGN4J_LLAMA_COMMIT} cloned into ${_src}")
set(LLAMA_CPP_SOURCE_DIR "${_src}")
