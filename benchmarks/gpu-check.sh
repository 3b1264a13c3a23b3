#!/usr/bin/env bash
# make gpu-check (issue 18), on a GPU machine with build/gpu-pack/align4j-gpu.tar.xz carried (`make gpu-pack` made it
# where the CUDA build is). Builds nothing and needs no Java there: it unpacks the pack, writes ./align4j for its
# runtime and jars, puts CUDA 13's cuBLAS and runtime (pip's nvidia wheels or a toolkit) on LD_LIBRARY_PATH, checks
# that align4j sees a CUDA device, then runs the GPU parity harness, Best-of-N sampling at N = 1, 16, 64, 256 and
# scoring, each against llama-batched-bench on the GPU, and writes benchmarks/results/gpu.md. With $OUT set, the
# report, this script's log, the harness logs' tails and pack.txt are copied there as they come.
#
# GPU_CHECK_DRY=1: the same on the CPU (--gpu-layers 0, tiny sizes, no GPU checks), report in /tmp: checks the
# script end to end on a machine without a GPU. GPU_CHECK_REPORT=FILE writes the report elsewhere.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pack=build/gpu-pack/align4j-gpu.tar.xz
dry=${GPU_CHECK_DRY:-}
report=${GPU_CHECK_REPORT:-$([ -n "$dry" ] && echo /tmp/align4j-gpu-check-dry/gpu.md || echo benchmarks/results/gpu.md)}
out=${OUT:-}
start=$SECONDS

if [ -n "$out" ]; then
    mkdir -p "$out"
    exec > >(tee -a "$out/gpu-check.log") 2>&1
fi
say() { echo "gpu-check [$((SECONDS - start)) s]: $*"; }
fail() { echo "gpu-check: error: $*" >&2; exit 1; }

[ -f "$pack" ] || fail "$pack is missing: run \`make cuda\` and \`make gpu-pack\` where the CUDA build is, and carry build/gpu-pack"
tmp=$(mktemp -d /tmp/align4j-gpu.XXXXXX)
say "unpacking $pack into $tmp"
tar -C "$tmp" -xJf "$pack" || fail "cannot unpack $pack"
[ -n "$out" ] && cp "$tmp/pack.txt" "$out/"
native=$tmp/native
work=$tmp/work
reports=$tmp/reports
mkdir -p "$work" "$reports" "$(dirname "$report")"

# ./align4j as `make launcher` writes it, for the pack's runtime, jars and native build.
make --no-print-directory -s write-launcher JDK="$tmp/jre" NATIVE_DIR="$native" LAUNCHER_LLAMA_SRC="$tmp/llama" \
    LAUNCHER_CP="$tmp/java/align4j.jar:$tmp/java/lib/*" || fail "cannot write ./align4j"

# CUDA 13's libraries: the folders that hold libcublas.so.13, libcublasLt.so.13 and libcudart.so.13.
cuda_dirs=()
if [ -z "$dry" ]; then
    search=()
    while IFS= read -r d; do search+=("$d"); done < <(python3 -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null)
    search+=(/usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu)
    for lib in libcublas.so.13 libcublasLt.so.13 libcudart.so.13; do
        found=$(find "${search[@]}" -maxdepth 4 -name "$lib" -print -quit 2>/dev/null)
        [ -n "$found" ] || fail "no $lib under ${search[*]}: install CUDA 13's cuBLAS and runtime (pip install nvidia-cublas nvidia-cuda-runtime, or the toolkit)"
        say "$lib: $found"
        cuda_dirs+=("$(dirname "$found")")
    done
fi
LD_LIBRARY_PATH=$native$(printf ':%s' "${cuda_dirs[@]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
if [ -z "$dry" ]; then
    missing=$(ldd "$native"/libggml-cuda.so 2>&1 | grep 'not found')
    [ -z "$missing" ] || fail "libggml-cuda.so's libraries are not all found:"$'\n'"$missing"
    nvidia-smi -L || fail "nvidia-smi lists no GPU"
fi

if [ -n "$dry" ]; then
    # tiny's SPM vocabulary puts a space before a completion's text, so no sampled token survives score's tokenization
    # of it: the parity check needs qwen2.5-0.5b's BPE even here.
    preset=tiny parity_preset=qwen2.5-0.5b gpu_layers=0
    parity_args=(--prompts 2 --prompt-tokens 16 -n 4 --new-tokens 16)
    bon_args=(--n 1,4 --prompts 1 --prompt-tokens 16 --new-tokens 16 --sequential-max-n 2 --flash-attn-n 0 --rounds 1)
    score_args=(--pairs 4 --prompt-tokens 32 --completion-tokens 16 --seqs 4 --rounds 1)
else
    preset=qwen2.5-0.5b parity_preset=qwen2.5-0.5b gpu_layers=-1
    parity_args=(--prompts 4 --prompt-tokens 64 -n 16 --new-tokens 64)
    bon_args=(--n 1,16,64,256 --prompts 2,1,1,1 --prompt-tokens 128 --new-tokens 128 --sequential-max-n 2 --flash-attn-n 64 --rounds 1)
    score_args=(--pairs 64 --rounds 2)
fi
type=q8_0
synth() { # PRESET HARNESS...: the model made once, where BenchOptions.synthesize looks for it in each harness's folder
    local preset=$1 model=$work/models/$1-$type.gguf
    shift
    if [ ! -f "$model" ]; then
        say "synthesizing $preset $type"
        ./align4j model synth --preset "$preset" --type "$type" --seed 1 -o "$model" > /dev/null || fail "cannot synthesize $model"
    fi
    for h in "$@"; do mkdir -p "$work/$h" && ln -sf "$model" "$work/$h/"; done
}
mkdir -p "$work/models"
synth "$parity_preset" gpu-parity
synth "$preset" bon score
info=$(./align4j info "$work/models/$preset-$type.gguf") || fail "./align4j info failed"
echo "$info"
if [ -z "$dry" ]; then
    backend=$(grep '^backend:' <<< "$info")
    grep -q 'CUDA' <<< "$backend" || fail "./align4j info shows no CUDA device (${backend:-no backend line}): not running, so that no CPU figure is written as a GPU one"
fi

bench() { # NAME CLASS TIMEOUT ARGS...: one harness, its report in $reports/NAME.md (no time limit on a dry run but 10 minutes)
    local name=$1 class=$2 limit=$3
    shift 3
    say "$name: $class $*"
    timeout "$([ -n "$dry" ] && echo 600 || echo "$limit")" "$tmp/jre/bin/java" --enable-native-access=ALL-UNNAMED -Dalign4j.native.dir="$native" \
        -Dalign4j.llama.src="$tmp/llama" -cp "$tmp/benchmarks/classes:$tmp/java/align4j.jar:$tmp/java/lib/*" \
        "org.align4j.bench.$class" --root "$root" --native "$native" --gpu-layers "$gpu_layers" --type "$type" \
        --work "$work/$name" --report "$reports/$name.md" "$@" > "$work/$name.out" 2>&1
    local rc=$?
    say "$name: exit $rc"
    tail -n 5 "$work/$name.out"
    return $rc
}
status=0
section() { # NAME EXIT: the harness's report with its headings one level down, or why there is none
    local name=$1 rc=$2
    if [ "$rc" = 0 ] && [ -f "$reports/$name.md" ]; then
        sed 's/^#/##/' "$reports/$name.md"
    else
        status=1
        printf '## %s: failed\n\nExit %s%s. The end of its output:\n\n```\n%s\n```\n' "$name" "$rc" \
            "$([ "$rc" = 124 ] && echo ' (timed out)')" "$(tail -n 30 "$work/$name.out")"
    fi
    echo
}
bench gpu-parity GpuParityBench 120 --preset "$parity_preset" "${parity_args[@]}"; parity_rc=$?
bench bon BonBench 200 --preset "$preset" "${bon_args[@]}"; bon_rc=$?
bench score ScoreBench 90 --preset "$preset" "${score_args[@]}"; score_rc=$?

{
    echo "# GPU check (issue 18)$([ -n "$dry" ] && echo ': DRY RUN on the CPU, not GPU figures')"
    echo
    echo "Run on $(date -u +%Y-%m-%d) by \`make gpu-check\` ($((SECONDS - start)) s in all), from the pack \`make gpu-pack\` built:"
    echo
    sed 's/^/- /' "$tmp/pack.txt"
    echo
    echo '```'
    [ -z "$dry" ] && nvidia-smi -L
    grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /CPU: /'
    grep '^backend:' <<< "$info" || echo "backend: (this align4j's info has no backend line)"
    echo '```'
    echo
    section gpu-parity "$parity_rc"
    section bon "$bon_rc"
    section score "$score_rc"
} > "$report.part" && mv "$report.part" "$report"
say "wrote $report"
if [ -n "$out" ]; then
    cp "$report" "$out/"
    for f in "$work"/*/*.log "$work"/*.out; do
        [ -f "$f" ] && { echo "==> ${f#"$work"/} <=="; tail -n 15 "$f"; echo; }
    done > "$out/logs-tail.txt"
fi
grep -q '\*\*missed\*\*' "$report" && say "some targets are missed (see $report)"
exit $status
