#!/usr/bin/env bash
# make gpu-pack: what `make gpu-check` runs on a GPU machine that has no Java and builds nothing, in one
# carried file, build/gpu-pack/align4j-gpu.tar.xz:
#   jre/                a runtime linked from JDK with the modules the jars and harnesses use (jdeps)
#   java/               align4j.jar and its dependencies (lib/)
#   benchmarks/classes  the harnesses
#   native/             GPU_NATIVE's libraries and llama-batched-bench (the CUDA build; stripped)
#   llama/models/       the vocab files the synthetic presets gpu-check uses take their tokenizers from
#   pack.txt            where it all came from
# Run from the repository root with JDK, GPU_NATIVE and LLAMA_SRC (the llama.cpp source tree) set; the Makefile sets them.
set -euo pipefail
: "${JDK:?JDK: a JDK >= 25}" "${GPU_NATIVE:?GPU_NATIVE: the native build to pack}" "${LLAMA_SRC:?LLAMA_SRC: the llama.cpp source}"
out=build/gpu-pack/align4j-gpu.tar.xz
limit_mib=55
vocabs=(qwen2 llama-spm) # qwen2.5-0.5b's, and tiny's for GPU_CHECK_DRY=1

if [ ! -f "$GPU_NATIVE/libllama.so" ] || [ ! -f "$GPU_NATIVE/libalign4j_native.so" ] || [ ! -x "$GPU_NATIVE/llama-batched-bench" ]; then
    echo "error: $GPU_NATIVE has no libllama.so, libalign4j_native.so and llama-batched-bench: build them with \`make cuda\`" >&2
    echo "       (or pack another native build: GPU_NATIVE=DIR make gpu-pack)" >&2
    exit 1
fi
for f in java/target/align4j.jar benchmarks/target/classes/org/align4j/bench/GpuParityBench.class; do
    [ -f "$f" ] || { echo "error: $f is missing: build the jars with \`make java\`" >&2; exit 1; }
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# jdeps prints split-package warnings first and the module list last.
modules=$("$JDK/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps -cp 'java/target/lib/*' \
    java/target/align4j.jar java/target/lib/*.jar benchmarks/target/classes 2>/dev/null | tail -n 1)
[[ "$modules" =~ ^[a-z.,]+$ ]] || { echo "error: jdeps found no module list (last line: $modules)" >&2; exit 1; }
modules=$(tr , '\n' <<< "$modules,jdk.incubator.vector" | sort -u | paste -sd,)
echo "gpu-pack: jlink $modules"
"$JDK/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --output "$stage/jre" 2> "$stage/jlink.err" \
    || { cat "$stage/jlink.err" >&2; exit 1; }
mkdir -p "$stage/java/lib" "$stage/benchmarks" "$stage/native" "$stage/llama/models"
cp java/target/align4j.jar "$stage/java/"
cp java/target/lib/*.jar "$stage/java/lib/"
cp -r benchmarks/target/classes "$stage/benchmarks/classes"
cp -a "$GPU_NATIVE"/lib*.so* "$GPU_NATIVE/llama-batched-bench" "$stage/native/"
for v in "${vocabs[@]}"; do
    cp "$LLAMA_SRC/models/ggml-vocab-$v.gguf" "$stage/llama/models/"
done
find "$stage/native" "$stage/jre/lib" -type f \( -name '*.so*' -o -name llama-batched-bench \) -exec strip --strip-unneeded {} +
{
    echo "packed: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "align4j: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "llama.cpp: $(git -C "$LLAMA_SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    echo "native: $GPU_NATIVE ($(ls "$GPU_NATIVE" | grep -c '^libggml-cuda' || true) libggml-cuda files)"
    echo "java: $("$stage/jre/bin/java" -version 2>&1 | head -1)"
} > "$stage/pack.txt"

mkdir -p "$(dirname "$out")"
tar -C "$stage" -cf - . | xz -T0 -6 > "$out.part"
mv "$out.part" "$out"
bytes=$(stat -c %s "$out")
mib=$(( (bytes + 1048575) / 1048576 ))
echo "gpu-pack: $out, $mib MiB ($bytes bytes), from $GPU_NATIVE"
if [ "$mib" -gt "$limit_mib" ]; then
    echo "error: $out is over $limit_mib MiB: the device tool carries 64 MiB in all" >&2
    exit 1
fi
