# What ggml-cuda needs beyond the CUDA compiler, for a machine that has nvcc and the CUDA runtime but no cuBLAS
# (included by LlamaCppBuild.cmake when GGML_CUDA is on).
#
# ggml-cuda compiles against cuBLAS's headers and links against libcublas. No registry this project uses serves
# cuBLAS for CUDA 13 (Maven Central's org.bytedeco:cuda-redist for 13.x leaves cuBLAS out; npm's prebuilt
# ggml-cuda links libcublas.so.13 without shipping it; PyPI is out of reach), so:
#   - the headers come from Debian's nvidia-cuda-dev 11.8 package (bookworm, non-free), pinned by its SHA256
#     from Debian's signed package index: cublas_api.h and cublas_v2.h declare every function ggml-cuda calls
#     (cublasGemmEx, cublasGemmBatchedEx, cublasGemmStridedBatchedEx, ...) with the signatures cuBLAS 13 still
#     exports;
#   - the link is against a stub made here: one function per name that cublas_api.h declares, each aborting,
#     with the soname of the nvcc's major version (libcublas.so.13). It satisfies the linker and records the
#     dependency; at run time the real cuBLAS is found on the library path. The stub stays in the build tree,
#     reached through -L only, so no RPATH points at it.
# If the CUDA toolkit has cuBLAS of its own, that one is used and nothing is fetched.
#
# Run as a script (cmake -DALIGN4J_DEPS_DIR=DIR -P cmake/CudaDeps.cmake) it fetches and verifies the package
# only: what `make cuda` does first, and what the tests run against a damaged file.

set(ALIGN4J_CUDA_DEV_DEB    "nvidia-cuda-dev_11.8.89~11.8.0-5~deb12u1_amd64.deb")
set(ALIGN4J_CUDA_DEV_URL    "http://deb.debian.org/debian/pool/non-free/n/nvidia-cuda-toolkit/${ALIGN4J_CUDA_DEV_DEB}")
set(ALIGN4J_CUDA_DEV_SHA256 "dc63bf2fb94aaaf903e9bad0c35f631266077d016b34329ec7af456bd7fed5ec")
set(ALIGN4J_CUBLAS_HEADERS  cublas_api.h cublas_v2.h)

# The pinned package in DEPS_DIR, fetched unless there, verified either way; sets OUT_VAR to its path.
function(align4j_fetch_cuda_dev deps_dir out_var)
    set(deb "${deps_dir}/${ALIGN4J_CUDA_DEV_DEB}")
    if (NOT EXISTS "${deb}")
        message(STATUS "align4j: fetching ${ALIGN4J_CUDA_DEV_URL} (774 MB)")
        file(MAKE_DIRECTORY "${deps_dir}")
        file(DOWNLOAD "${ALIGN4J_CUDA_DEV_URL}" "${deb}.part" STATUS status)
        list(GET status 0 code)
        if (NOT code EQUAL 0)
            file(REMOVE "${deb}.part")
            list(GET status 1 why)
            message(FATAL_ERROR "align4j: cannot fetch ${ALIGN4J_CUDA_DEV_URL}: ${why}")
        endif()
        file(RENAME "${deb}.part" "${deb}")
    endif()
    file(SHA256 "${deb}" actual)
    if (NOT actual STREQUAL ALIGN4J_CUDA_DEV_SHA256)
        file(REMOVE "${deb}")
        message(FATAL_ERROR "align4j: ${deb} failed its checksum: a damaged or substituted file\n"
                            "  expected SHA256 ${ALIGN4J_CUDA_DEV_SHA256} (pinned in cmake/CudaDeps.cmake)\n"
                            "  got             ${actual}\n"
                            "The file was removed; run `make cuda` again to fetch it anew.")
    endif()
    message(STATUS "align4j: ${ALIGN4J_CUDA_DEV_DEB} SHA256 verified")
    set(${out_var} "${deb}" PARENT_SCOPE)
endfunction()

if (CMAKE_SCRIPT_MODE_FILE)
    if (NOT ALIGN4J_DEPS_DIR)
        message(FATAL_ERROR "usage: cmake -DALIGN4J_DEPS_DIR=DIR -P cmake/CudaDeps.cmake")
    endif()
    align4j_fetch_cuda_dev("${ALIGN4J_DEPS_DIR}" deb)
    return()
endif()

find_package(CUDAToolkit REQUIRED)
if (TARGET CUDA::cublas)
    message(STATUS "align4j: cuBLAS from the CUDA toolkit: ${CUDA_cublas_LIBRARY}")
    return()
endif()

set(_cuda_deps "${CMAKE_BINARY_DIR}/cuda-deps")
set(_include "${_cuda_deps}/include")
set(_stub_dir "${_cuda_deps}/stub")
set(_soname "libcublas.so.${CUDAToolkit_VERSION_MAJOR}")
set(_stamp "${_cuda_deps}/.stamp")
set(_stamped "${ALIGN4J_CUDA_DEV_SHA256} ${_soname}")

if (NOT EXISTS "${_stamp}" OR NOT EXISTS "${_stub_dir}/${_soname}")
    set(_stamp_text "")
else()
    file(READ "${_stamp}" _stamp_text)
endif()
if (NOT _stamp_text STREQUAL _stamped)
    align4j_fetch_cuda_dev("${ALIGN4J_BUILD_ROOT}/deps" _deb)
    file(REMOVE_RECURSE "${_cuda_deps}")
    file(MAKE_DIRECTORY "${_cuda_deps}/deb" "${_include}" "${_stub_dir}")
    # A .deb is an ar archive; its data.tar.xz holds the headers under ./usr/include.
    execute_process(COMMAND ${CMAKE_COMMAND} -E tar xf "${_deb}" data.tar.xz
                    WORKING_DIRECTORY "${_cuda_deps}/deb" RESULT_VARIABLE rc)
    set(_members "")
    foreach (h IN LISTS ALIGN4J_CUBLAS_HEADERS)
        list(APPEND _members "./usr/include/${h}")
    endforeach()
    if (rc EQUAL 0)
        message(STATUS "align4j: unpacking the cuBLAS headers (a minute: the package is xz-compressed)")
        execute_process(COMMAND ${CMAKE_COMMAND} -E tar xf data.tar.xz ${_members}
                        WORKING_DIRECTORY "${_cuda_deps}/deb" RESULT_VARIABLE rc)
    endif()
    if (NOT rc EQUAL 0)
        message(FATAL_ERROR "align4j: cannot unpack ${ALIGN4J_CUBLAS_HEADERS} from ${_deb}")
    endif()
    foreach (h IN LISTS ALIGN4J_CUBLAS_HEADERS)
        file(RENAME "${_cuda_deps}/deb/usr/include/${h}" "${_include}/${h}")
    endforeach()
    file(REMOVE_RECURSE "${_cuda_deps}/deb")

    # The stub: every function cublas_api.h declares (CUBLASWINAPI NAME), each one aborting if ever called.
    file(READ "${_include}/cublas_api.h" _api)
    string(REGEX MATCHALL "CUBLASWINAPI[ \t\r\n]+[A-Za-z_][A-Za-z0-9_]*[ \t\r\n]*\\(" _decls "${_api}")
    set(_names "")
    foreach (d IN LISTS _decls)
        string(REGEX REPLACE "CUBLASWINAPI[ \t\r\n]+([A-Za-z0-9_]+).*" "\\1" n "${d}")
        list(APPEND _names "${n}")
    endforeach()
    list(REMOVE_DUPLICATES _names)
    list(LENGTH _names _count)
    string(CONCAT _c "/* Generated by cmake/CudaDeps.cmake: a link-time stand-in for ${_soname}, never loaded by a run. */\n"
           "#include <stdio.h>\n#include <stdlib.h>\n"
           "static void stub(const char *name) {\n"
           "    fprintf(stderr, \"align4j: %s was called in the cuBLAS link stub, not the real ${_soname}: put CUDA's cuBLAS on LD_LIBRARY_PATH\\n\", name);\n"
           "    abort();\n}\n")
    foreach (n IN LISTS _names)
        string(APPEND _c "void ${n}(void) { stub(\"${n}\"); }\n")
    endforeach()
    file(WRITE "${_stub_dir}/cublas_stub.c" "${_c}")
    execute_process(COMMAND ${CMAKE_C_COMPILER} -shared -fPIC -o "${_stub_dir}/${_soname}"
                            "-Wl,-soname,${_soname}" "${_stub_dir}/cublas_stub.c"
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    if (NOT rc EQUAL 0)
        message(FATAL_ERROR "align4j: cannot compile the cuBLAS link stub: ${err}")
    endif()
    # libcublas.so for -lcublas; the soname's file for the linker's check of an executable's indirect dependencies.
    file(CREATE_LINK "${_soname}" "${_stub_dir}/libcublas.so" SYMBOLIC)
    message(STATUS "align4j: cuBLAS link stub ${_soname} with ${_count} functions in ${_stub_dir}")
    file(WRITE "${_stamp}" "${_stamped}")
endif()

# What ggml-cuda links as CUDA::cublas: the headers and -L/-l, so no RPATH names the stub's folder.
add_library(CUDA::cublas INTERFACE IMPORTED)
set_target_properties(CUDA::cublas PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_include}"
    INTERFACE_LINK_OPTIONS "-L${_stub_dir}"
    INTERFACE_LINK_LIBRARIES "cublas")
# Executables (llama-batched-bench) that link ggml-cuda check its dependencies at link time: let the linker find the
# stub there without recording its folder in them.
add_link_options("-Wl,-rpath-link,${_stub_dir}")
message(STATUS "align4j: cuBLAS headers from ${ALIGN4J_CUDA_DEV_DEB}; links ${_soname}, found on the library path at run time")
