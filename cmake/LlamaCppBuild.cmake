# Adds llama.cpp (from LLAMA_CPP_SOURCE_DIR) to this build as shared libraries.
#
# Only what a target depends on is built: the whole tree is EXCLUDE_FROM_ALL, so `all` builds
# libllama + libggml* (through align4j_native) and nothing else. The baseline tools
# llama-batched-bench, llama-perplexity and llama-export-lora are built on request (target `baselines`);
# the tests compare against llama-export-lora (target `test_baselines`, which `make test` builds).

set(BUILD_SHARED_LIBS ON CACHE BOOL "" FORCE)
set(GGML_NATIVE ON CACHE BOOL "")
set(LLAMA_BUILD_APP      OFF CACHE BOOL "" FORCE)  # the unified app wants a generated build-info.h
set(LLAMA_BUILD_COMMON   ON  CACHE BOOL "" FORCE)  # the baseline tools need it
set(LLAMA_BUILD_TOOLS    ON  CACHE BOOL "" FORCE)
set(LLAMA_BUILD_TESTS    OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_EXAMPLES OFF CACHE BOOL "" FORCE)
set(LLAMA_BUILD_SERVER   OFF CACHE BOOL "" FORCE)
set(LLAMA_OPENSSL        OFF CACHE BOOL "" FORCE)
set(LLAMA_CURL           OFF CACHE BOOL "" FORCE)
set(GGML_CCACHE          OFF CACHE BOOL "")

if (GGML_CUDA)
    # cuBLAS's headers and a link stub where the toolkit has no cuBLAS (cmake/CudaDeps.cmake). Without VMM,
    # ggml-cuda does not link the driver library (libcuda.so), which a machine without a GPU lacks; the CUDA
    # runtime still loads the driver at run time.
    include(CudaDeps)
    set(GGML_CUDA_NO_VMM ON CACHE BOOL "" FORCE)
endif()

add_subdirectory("${LLAMA_CPP_SOURCE_DIR}" llama.cpp EXCLUDE_FROM_ALL)

add_custom_target(baselines DEPENDS llama-batched-bench llama-perplexity llama-export-lora)
add_custom_target(test_baselines DEPENDS llama-export-lora)
