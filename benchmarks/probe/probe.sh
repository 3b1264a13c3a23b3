#!/usr/bin/env bash
# Bad-input and fault probe for align4j (issue 13, "Runs that cannot be silently corrupted").
#
#   bash benchmarks/probe/probe.sh [LAUNCHER] [WORKDIR]
#
# LAUNCHER defaults to ./align4j, WORKDIR to a fresh mktemp directory (kept, for a look at any case's
# files: WORKDIR/cases/NAME/). PROBE_ONLY=REGEX runs only the cases whose names match (fixtures are
# built anyway). Each case sets up its own files, runs the CLI and classifies the outcome:
#   ok           a clear refusal (exit 1, or 2 for usage) naming what is wrong, with no stack trace or
#                Java/Jackson class name, output not silently wrong; or exit 0 with output checked right
#   silent       exit 0 (or a refusal) but an output is wrong: the worst outcome
#   crash        a signal exit, a hang, a stack trace, an internal error, a Java class name in the message
#   bad-message  a non-zero exit whose message does not name what is wrong (or refuses too late)
#   skipped      the case could not be set up here (the detail says why)
# One line per case (name, verdict, detail) on stdout, a summary, and benchmarks/results/probe.md.
# Needs bash, python3, coreutils; the full-disk and permission cases need root (mount, setpriv).
# Every run uses --threads 1 and tiny inputs (the demo model, 1 to 20 records).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAUNCHER_ARG=${1:-./align4j}
case "$LAUNCHER_ARG" in /*) A=$LAUNCHER_ARG ;; *) A=$PWD/${LAUNCHER_ARG#./} ;; esac
[ -x "$A" ] || { echo "probe: no launcher at $A (build it: make launcher)" >&2; exit 2; }
W=${2:-$(mktemp -d /tmp/align4j-probe.XXXXXX)}
mkdir -p "$W/cases" "$W/fx"
W=$(cd "$W" && pwd)
chmod 755 "$W" "$W/cases" "$W/fx"
LIB=$HERE/probe_lib.py
FX=$W/fx
M=$ROOT/models/demo/demo.gguf
RESULTS=$W/results.tsv
: > "$RESULTS"; : > "$W/times.tsv"
ONLY=${PROBE_ONLY:-}
START=$(date +%s)

# ------------------------------------------------------------------ helpers

# run TAG COMMAND ARGS...: ./align4j COMMAND ARGS with stdout/stderr in TAG.out/TAG.err; sets RC and ERR.
# ULIMIT_V=KB caps the address space (the bounds cases: an unchecked allocation fails fast instead of
# taking the shared machine's memory).
run() {
    local tag=$1; shift
    ( if [ -n "${ULIMIT_V:-}" ]; then ulimit -v "$ULIMIT_V"; fi
      exec timeout -k 5 "${TMO:-120}" "$A" "$@" ) >"$tag.out" 2>"$tag.err" </dev/null
    RC=$?
    ERR=$tag.err
}

# Paths in details: relative to the repository or to the case directory.
clean() { local s=$1; s=${s//$W\/cases\//}; s=${s//$W\/fx\//fx\/}; s=${s//$W/WORK}; s=${s//$ROOT\//}; printf '%s' "$s"; }

# What a message says: stderr without the JVM's incubator warning and without picocli's usage block
# (which lists every option, so a pattern must not be matched against it).
msgtext() { grep -v 'Using incubator modules' "${1:-$ERR}" 2>/dev/null | sed '/^Usage: /,$d'; }

# The message worth quoting: a JVM fatal error's signal and frame, else the first error line, else the first line.
msg() {
    local f=${1:-$ERR} l= g
    for g in "$f" "${f%.err}.out"; do # the JVM prints a fatal error on stdout
        if [ -f "$g" ] && grep -q 'A fatal error has been detected' "$g"; then
            l="JVM fatal error $(grep -m1 -oE 'SIG[A-Z]+' "$g") in $(grep -m1 -A1 'Problematic frame' "$g" | tail -1 | sed 's/^#[[:space:]]*//')"
        fi
    done
    [ -z "$l" ] && l=$(msgtext "$f" | grep -m1 -E 'error:|Exception|Error') 
    [ -z "$l" ] && l=$(msgtext "$f" | grep -m1 -v '^[[:space:]]*$')
    l=$(clean "$l"); l=${l//$'\t'/ }
    printf '%s' "${l:0:230}"
}

# The first sign of a crash in a message: a stack frame, a JVM fatal error, an internal error, a Java
# or Jackson class name, a Java record's toString.
bad_signs() {
    grep -v 'Using incubator modules' "$1" 2>/dev/null | grep -m1 -oE \
        'Exception in thread|^[[:space:]]+at [a-zA-Z_$][a-zA-Z0-9_$.]*\(|Caused by: [^ ]+|A fatal error has been detected by the Java Runtime|internal error|\bjava\.[a-z]+\.[A-Za-z.]+|\bjavax\.[a-z.]+|\bjdk\.internal[a-zA-Z.]*|com\.fasterxml[a-zA-Z.]*|\bpicocli\.[a-zA-Z.]+|org\.align4j\.[a-zA-Z.]+|\b[A-Z][A-Za-z0-9]*(Exception|Error)\b|\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\[[a-z][A-Za-z0-9]*=' \
        | head -1
}

verdict() { # ITEM VERDICT DETAIL
    local d; d=$(clean "$3"); d=${d//$'\n'/ }; d=${d//$'\t'/ }
    printf '%s\t%s\t%s\t%s\n' "$CASE" "$1" "$2" "$d" >>"$RESULTS"
    printf '%s\t%s\t%s\n' "$CASE" "$2" "$d"
}

# judge_refusal RE: for a case whose right outcome is a refusal whose message matches RE (names the
# option, file, line or cause). Sets V (ok, bad-message, crash, or "accepted" for exit 0) and DET.
judge_refusal() {
    local re=$1 sign; sign=$(bad_signs "$ERR")
    if [ "$RC" -eq 124 ]; then
        V=crash; DET="hung: stopped by the probe after ${TMO:-120} s; $(msg)"
    elif [ "$RC" -eq 137 ]; then
        V=crash; DET="SIGKILL (exit 137: hung past the probe's timeout, or killed for memory): $(msg)"
    elif [ "$RC" -gt 128 ]; then
        V=crash; DET="signal exit $RC: $(msg)"
    elif [ -n "$sign" ]; then
        V=crash; DET="exit $RC, '$sign' in the message: $(msg)"
    elif [ "$RC" -eq 0 ]; then
        V=accepted; DET="exit 0"
    elif msgtext "$ERR" | grep -qiE -- "$re"; then
        V=ok; DET="exit $RC: $(msg)"
    else
        V=bad-message; DET="exit $RC, message does not name it: $(msg)"
    fi
}

# expect_refusal ITEM RE [DETAIL-IF-ACCEPTED]: exit 0 is silent (the bad input became output).
expect_refusal() {
    judge_refusal "$2"
    if [ "$V" = accepted ]; then V=silent; DET="exit 0: ${3:-accepted}"; fi
    verdict "$1" "$V" "$DET"
}

# expect_success ITEM CHECK-COMMAND...: for a valid input or run. Exit 0 and the check passes is ok;
# exit 0 with a failing check is silent; a refusal is bad-message (it refuses what it should do).
expect_success() {
    local item=$1; shift
    judge_refusal '.'
    if [ "$V" = accepted ]; then
        local out rc; out=$("$@" 2>&1); rc=$?
        if [ $rc -eq 0 ]; then V=ok; DET="exit 0: $out"; else V=silent; DET="exit 0: $out"; fi
    elif [ "$V" = ok ]; then
        V=bad-message; DET="refused a valid run: $DET"
    fi
    verdict "$item" "$V" "$DET"
}

py() { python3 "$LIB" "$@"; }

# kill_after FILE LINES ARGS...: runs ./align4j ARGS in the background and SIGKILLs the JVM once FILE
# holds LINES lines. KILLED=1 when it was killed mid-run, 0 when it ended first.
kill_after() {
    local f=$1 k=$2 pid i n; shift 2
    "$A" "$@" >kill.out 2>kill.err </dev/null &
    pid=$!
    KILLED=0
    for ((i = 0; i < 6000; i++)); do
        if [ -f "$f" ]; then
            n=$(wc -l <"$f")
            if [ "$n" -ge "$k" ]; then kill -9 "$pid" 2>/dev/null && KILLED=1; break; fi
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "$KILLED" >KILLED
}

fixture_ok() { [ -f "$FX/$1/KILLED" ] && [ "$(cat "$FX/$1/KILLED")" = 1 ]; }
use_fixture() { cp -a "$FX/$1/." .; rm -f KILLED kill.out kill.err; }

# Argument lists; a variable set before the call changes one option.
sample_args() { SA=(-m "${MODEL:-$M}" -i "${IN:-$FX/p20.jsonl}" -n "${N:-2}" --max-tokens "${MT:-48}" --ignore-eos --seed "${SEED:-1}" --temperature "${TEMP:-1}" --seqs "${SEQS:-1}" --threads "${TH:-1}" --ctx 128 --quiet); }
score_args() { SC=(-m "${MODEL:-$M}" -i "${IN:-$FX/pairs20.jsonl}" --threads "${TH:-1}" --ctx 256 --seqs "${SEQS:-1}" --batch-tokens "${BT:-8}" --no-flash-attn --quiet ${REF:+-r "$REF"} ${PERTOK:+--per-token}); }
bon_args() { sample_args; BA=("${SA[@]}" --reward "${RW:-cmd:python3 $FX/reward.py}" --reward-timeout "${RT:-30}"); }
rso_args() { RA=(-m "${MODEL:-$M}" -i "${IN:-$FX/p20.jsonl}" --reward "${RW:-cmd:python3 $FX/reward.py}" --candidates "${CAND:-4}" --accept "${ACC:-2}" --max-tokens 8 --seed "${SEED:-1}" --temperature 1 --threads "${TH:-1}" --ctx 64 --quiet --reward-timeout "${RT:-30}"); }
dpo_args() { DA=(--policy "${MODEL:-$M}" --data "${DATA:-$FX/dpairs.jsonl}" --out out.gguf --epochs "${EPOCHS:-2}" --batch-size "${BS:-1}" --save-every "${SAVE:-1}" --lr "${LR:-1e-4}" --seed 1 --threads "${TH:-1}" --quiet); }
small_sample() { SS=(-m "${MODEL:-$M}" -i "${IN:-$FX/p3.jsonl}" -n 2 --max-tokens "${MT:-6}" --seed 1 --threads "${TH:-1}" --ctx 64 --quiet); }

# ------------------------------------------------------------------ fixtures

build_fixtures() {
    cd "$FX" || exit 1
    py data "$ROOT/models/demo/train.jsonl" "$FX"
    py reward-child "$FX/reward.py"
    py patch "$M" demo-b.gguf output_norm.weight scale
    py patch "$M" nan.gguf output_norm.weight nan
    py patch "$M" inf.gguf output_norm.weight inf
    py nanrow "$M" nanrow.gguf z
    "$A" model synth --preset tiny --seed 7 -o tiny.gguf >/dev/null 2>synth.err || echo "probe: model synth failed: $(cat synth.err)" >&2
    chmod -R a+rX "$FX"
    # Interrupted runs (kill -9 once the first records are on disk), copied by the resume cases.
    mkdir -p k-sample k-score k-bon k-rso k-dpo f-sample f-score f-bon f-rso f-dpo
    (cd k-sample && sample_args && kill_after out.jsonl 3 sample "${SA[@]}" -o out.jsonl)
    (cd k-score && score_args && kill_after out.jsonl 3 score "${SC[@]}" -o out.jsonl)
    (cd k-bon && bon_args && export PROBE_SLOW=0.15 && kill_after out.jsonl 3 bon "${BA[@]}" -o out.jsonl)
    (cd k-rso && rso_args && export PROBE_SLOW=0.15 && kill_after out.jsonl.acceptance.jsonl 3 rso "${RA[@]}" -o out.jsonl)
    (cd k-dpo && dpo_args && kill_after out.gguf.metrics.jsonl 2 dpo "${DA[@]}")
    # Uninterrupted runs to compare resumed ones with.
    (cd f-sample && sample_args && "$A" sample "${SA[@]}" -o out.jsonl 2>err)
    (cd f-score && score_args && "$A" score "${SC[@]}" -o out.jsonl 2>err)
    (cd f-bon && bon_args && "$A" bon "${BA[@]}" -o out.jsonl 2>err)
    (cd f-rso && rso_args && "$A" rso "${RA[@]}" -o out.jsonl 2>err)
    (cd f-dpo && dpo_args && "$A" dpo "${DA[@]}" 2>err)
    for k in k-sample k-score k-bon k-rso k-dpo; do
        printf 'probe: fixture %s: %s\n' "$k" "$( [ "$(cat $k/KILLED)" = 1 ] && echo 'killed mid-run' || echo 'ended before the kill')" >&2
    done
}

# ================================================================== cases
# Item numbers are issue 13's ("-": the broader set).

# ---- 1. --resume must continue the same run

# resume_case ITEM FIXTURE RE JOB ARGS...: copies an interrupted run, resumes it with ARGS (one thing
# changed); ok only if the resume is refused naming what changed (RE) and the output is left as it was.
resume_case() {
    local item=$1 fix=$2 re=$3 job=$4; shift 4
    if ! fixture_ok "$fix"; then verdict "$item" skipped "the $fix run ended before it could be killed"; return; fi
    use_fixture "$fix"
    local before; before=$(py count out.jsonl)
    run r "$job" "$@"
    judge_refusal "$re"
    local after; after=$(py count out.jsonl)
    if [ "$V" = accepted ]; then
        V=silent
        DET="resume accepted (exit 0): $before records of the first run + $((after - before)) written by the changed one${NOMIX:-; $(py mixed out.jsonl "$FX/f-${fix#k-}/out.jsonl")}${XDET:+; $($XDET)}"
    elif [ "$after" -gt "$before" ]; then
        V=silent; DET="refused only after writing $((after - before)) records: $DET"
    fi
    verdict "$item" "$V" "$DET"
}

c_sample_resume_n() { sample_args; N=3 sample_args; XDET="py ncompl out.jsonl" resume_case 1 k-sample '(^|[^a-z])-n([^a-z]|$)|\bn\b|completions per' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_seed() { SEED=2 sample_args; resume_case 1 k-sample 'seed' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_temperature() { TEMP=0.5 sample_args; resume_case 1 k-sample 'temperature' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_max_tokens() { MT=40 sample_args; resume_case 1 k-sample 'max.tokens' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_model() { MODEL=$FX/demo-b.gguf sample_args; resume_case 1 k-sample 'model|sha256|demo-b' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_vocab() { MODEL=$FX/tiny.gguf sample_args; resume_case 1 k-sample 'model|sha256|tiny\.gguf|vocab' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_input() { IN=$FX/p20b.jsonl sample_args; resume_case 1 k-sample 'input|p20b|sha256' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_top_p() { sample_args; resume_case 1 k-sample 'top.p' sample "${SA[@]}" --top-p 0.5 -o out.jsonl --resume; }
c_sample_resume_onto_score() { sample_args; NOMIX=' ' XDET="py kinds out.jsonl" resume_case 1 k-score 'score|command|job|another run' sample "${SA[@]}" -o out.jsonl --resume; }
c_sample_resume_engine_only() { # control: engine options may change; the result must be the uninterrupted run's
    if ! fixture_ok k-sample; then verdict 1 skipped "the k-sample run ended before it could be killed"; return; fi
    use_fixture k-sample; SEQS=4 sample_args
    run r sample "${SA[@]}" --batch-tokens 64 -o out.jsonl --resume
    judge_refusal '.'
    if [ "$V" = accepted ]; then
        if py once "$FX/p20.jsonl" out.jsonl >chk; then V=ok; DET="exit 0, --seqs/--batch-tokens changed: $(cat chk); $(py compare out.jsonl "$FX/f-sample/out.jsonl")"
        else V=silent; DET="exit 0: $(cat chk)"; fi
    elif [ "$V" = ok ]; then V=bad-message; DET="an engine-only change was refused: $DET"; fi
    verdict 1 "$V" "$DET"
}
# 8. a resumed run against the uninterrupted one. The README ("Resume and batch shape") states: with the same
# engine options a resume is the uninterrupted run to the bit; with other --seqs/--batch-tokens the records
# after the kill carry batch-shape noise, up to 3.7e-3 nats per token on the demo model's scored tokens and
# 1.3e-2 on sampled tokens of improbable text.
drift_case() { # JOB FIXTURE BOUND ARGS...: resume; per-token log-prob drift within BOUND (0: bit for bit)?
    local job=$1 fix=$2 bound=$3; shift 3
    if ! fixture_ok "$fix"; then verdict 8 skipped "the $fix run ended before it could be killed"; return; fi
    use_fixture "$fix"
    run r "$job" "$@" -o out.jsonl --resume
    judge_refusal '.'
    if [ "$V" = accepted ]; then
        if py drift out.jsonl "$FX/f-${fix#k-}/out.jsonl" "$bound" >chk; then V=ok; DET="exit 0: $(cat chk) (the README's bound: $bound)"
        else V=silent; DET="exit 0: $(cat chk), beyond the README's bound of $bound"; fi
    fi
    verdict 8 "$V" "$DET"
}
c_sample_resume_same_engine_exact() { sample_args; drift_case sample k-sample 0 "${SA[@]}"; }
c_score_resume_same_engine_exact() { score_args; drift_case score k-score 0 "${SC[@]}"; }
c_sample_resume_logprob_drift() { SEQS=4 sample_args; drift_case sample k-sample 1.3e-2 "${SA[@]}" --batch-tokens 64; }
c_score_resume_logprob_drift() { SEQS=4 BT=64 score_args; drift_case score k-score 3.7e-3 "${SC[@]}"; }

c_score_resume_model() { MODEL=$FX/demo-b.gguf score_args; resume_case 1 k-score 'model|sha256|demo-b' score "${SC[@]}" -o out.jsonl --resume; }
c_score_resume_vocab() { MODEL=$FX/tiny.gguf score_args; resume_case 1 k-score 'model|sha256|tiny\.gguf|vocab' score "${SC[@]}" -o out.jsonl --resume; }
c_score_resume_ref() { REF=$FX/demo-b.gguf score_args; resume_case 1 k-score 'ref|model|sha256|demo-b' score "${SC[@]}" -o out.jsonl --resume; }
c_score_resume_input() { IN=$FX/pairs20b.jsonl score_args; resume_case 1 k-score 'input|pairs20b|sha256' score "${SC[@]}" -o out.jsonl --resume; }
c_score_resume_per_token() { PERTOK=1 score_args; resume_case 1 k-score 'per.token' score "${SC[@]}" -o out.jsonl --resume; }
c_score_resume_onto_sample() { score_args; NOMIX=' ' XDET="py kinds out.jsonl" resume_case 1 k-sample 'sample|command|job|another run' score "${SC[@]}" -o out.jsonl --resume; }

c_bon_resume_n() { N=3 bon_args; XDET="py ncompl out.jsonl" resume_case 1 k-bon '(^|[^a-z])-n([^a-z]|$)|\bn\b|completions per' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_seed() { SEED=2 bon_args; resume_case 1 k-bon 'seed' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_temperature() { TEMP=0.5 bon_args; resume_case 1 k-bon 'temperature' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_max_tokens() { MT=40 bon_args; resume_case 1 k-bon 'max.tokens' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_model() { MODEL=$FX/demo-b.gguf bon_args; resume_case 1 k-bon 'model|sha256|demo-b' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_input() { IN=$FX/p20b.jsonl bon_args; resume_case 1 k-bon 'input|p20b|sha256' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_reward() { RW=match:answer bon_args; resume_case 1 k-bon 'reward' bon "${BA[@]}" -o out.jsonl --resume; }
c_bon_resume_onto_sample() { bon_args; NOMIX=' ' XDET="py kinds out.jsonl" resume_case 1 k-sample 'sample|command|job|another run|reward' bon "${BA[@]}" -o out.jsonl --resume; }

c_rso_resume_input() { IN=$FX/p20b.jsonl rso_args; resume_case 1 k-rso 'input|p20b|sha256' rso "${RA[@]}" -o out.jsonl --resume; }
c_rso_resume_seed() { SEED=2 rso_args; resume_case 1 k-rso 'seed' rso "${RA[@]}" -o out.jsonl --resume; }
c_rso_resume_model() { MODEL=$FX/demo-b.gguf rso_args; resume_case 1 k-rso 'model|sha256|demo-b' rso "${RA[@]}" -o out.jsonl --resume; }

dpo_resume_case() { # RE ARGS...: the dpo resume is refused naming RE
    local re=$1; shift
    if ! fixture_ok k-dpo; then verdict 1 skipped "the k-dpo run ended before it could be killed"; return; fi
    use_fixture k-dpo
    local steps_before; steps_before=$(py count out.gguf.metrics.jsonl)
    TMO=180 run r dpo "$@"
    judge_refusal "$re"
    if [ "$V" = accepted ]; then
        V=silent; DET="resume accepted (exit 0): metrics now $(py count out.gguf.metrics.jsonl) steps ($steps_before before the kill); the checkpoint's schedule and the new one mixed"
    fi
    verdict 1 "$V" "$DET"
}
c_dpo_resume_epochs() { EPOCHS=3 dpo_args; dpo_resume_case 'epoch' "${DA[@]}" --resume; }
c_dpo_resume_lr() { LR=5e-4 dpo_args; dpo_resume_case '(^|[^a-z])lr|learning' "${DA[@]}" --resume; }
c_dpo_resume_data() { DATA=$FX/dpairs-b.jsonl dpo_args; dpo_resume_case 'data|dpairs-b|fingerprint' "${DA[@]}" --resume; }

# ---- kill -9, then --resume with the same options: every record exactly once, as the uninterrupted run

c_sample_kill_resume() {
    if ! fixture_ok k-sample; then verdict - skipped "the k-sample run ended before it could be killed"; return; fi
    use_fixture k-sample; local b; b=$(py count out.jsonl); sample_args
    run r sample "${SA[@]}" -o out.jsonl --resume
    expect_success - sh -c "py() { python3 '$LIB' \"\$@\"; }; py once '$FX/p20.jsonl' out.jsonl && echo \"($b before the kill); \$(py compare out.jsonl '$FX/f-sample/out.jsonl')\""
}
c_score_kill_resume() {
    if ! fixture_ok k-score; then verdict - skipped "the k-score run ended before it could be killed"; return; fi
    use_fixture k-score; local b; b=$(py count out.jsonl); score_args
    run r score "${SC[@]}" -o out.jsonl --resume
    expect_success - sh -c "py() { python3 '$LIB' \"\$@\"; }; py once '$FX/pairs20.jsonl' out.jsonl && echo \"($b before the kill); \$(py compare out.jsonl '$FX/f-score/out.jsonl')\""
}
c_bon_kill_resume() {
    if ! fixture_ok k-bon; then verdict - skipped "the k-bon run ended before it could be killed"; return; fi
    use_fixture k-bon; local b; b=$(py count out.jsonl); bon_args
    run r bon "${BA[@]}" -o out.jsonl --resume
    expect_success - sh -c "py() { python3 '$LIB' \"\$@\"; }; py once '$FX/p20.jsonl' out.jsonl && echo \"($b before the kill); \$(py compare out.jsonl '$FX/f-bon/out.jsonl'); curve \$(cmp -s out.curve.md '$FX/f-bon/out.curve.md' && echo identical to || echo differs from) the uninterrupted run's\""
}
c_rso_kill_resume() {
    if ! fixture_ok k-rso; then verdict - skipped "the k-rso run ended before it could be killed"; return; fi
    use_fixture k-rso; rso_args
    run r rso "${RA[@]}" -o out.jsonl --resume
    expect_success - sh -c "py() { python3 '$LIB' \"\$@\"; }; py rso-once '$FX/p20.jsonl' out.jsonl && echo \"; pairs file \$(cmp -s out.jsonl '$FX/f-rso/out.jsonl' && echo identical to || echo differs from) the uninterrupted run's; \$(py compare out.jsonl '$FX/f-rso/out.jsonl')\""
}
c_dpo_kill_resume() {
    if ! fixture_ok k-dpo; then verdict - skipped "the k-dpo run ended before it could be killed"; return; fi
    use_fixture k-dpo; dpo_args
    TMO=180 run r dpo "${DA[@]}" --resume
    expect_success - sh -c "cmp -s out.gguf '$FX/f-dpo/out.gguf' && echo 'weights identical to the uninterrupted run, bit for bit' || { echo 'weights differ from the uninterrupted run'; exit 1; }"
}
c_sample_resume_torn_line() { # a half-written last line is cut off
    if ! fixture_ok k-sample; then verdict - skipped "no interrupted run"; return; fi
    use_fixture k-sample; printf '{"id":"train-0019","prompt":"12+' >>out.jsonl; sample_args
    run r sample "${SA[@]}" -o out.jsonl --resume
    expect_success - py once "$FX/p20.jsonl" out.jsonl
}
c_sample_resume_garbage_middle() { # a damaged line that is not the last: refuse, naming it
    if ! fixture_ok k-sample; then verdict - skipped "no interrupted run"; return; fi
    use_fixture k-sample; sed -i '2s/.*/this is not json/' out.jsonl; sample_args
    run r sample "${SA[@]}" -o out.jsonl --resume
    expect_refusal - 'out\.jsonl:2' "$(py stats out.jsonl)"
}
c_sample_resume_complete() { # --resume on a finished output adds nothing
    cp "$FX/f-sample/out.jsonl" "$FX/f-sample/out.jsonl.run.json" .; sample_args
    run r sample "${SA[@]}" -o out.jsonl --resume
    expect_success - sh -c "cmp -s out.jsonl '$FX/f-sample/out.jsonl' && echo 'finished output unchanged' || { echo 'finished output changed'; exit 1; }"
}
c_sample_resume_no_output() { # --resume with nothing to resume: a fresh run
    sample_args; IN=$FX/p3.jsonl MT=6 sample_args
    run r sample "${SA[@]}" -o out.jsonl --resume
    expect_success - py once "$FX/p3.jsonl" out.jsonl
}
c_sample_resume_output_is_input() { # -o the input itself, --resume: the prompts "are done"
    cp "$FX/p3.jsonl" in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args
    run r sample "${SA[@]}" -o in.jsonl --resume
    judge_refusal 'in\.jsonl'
    if [ "$V" = accepted ]; then
        if grep -q completions in.jsonl; then V=ok; DET="exit 0, completions written"; else V=silent; DET="exit 0 with nothing sampled: the input's own records taken for finished output ($(msg r.err))"; fi
    fi
    verdict 1 "$V" "$DET"
}

# ---- 2. one writer per output

concurrent_judge() { # R1 R2 CHECK-OUTPUT: one run refused naming the other, the file right; both exit 0 is silent
    local r1=$1 r2=$2 chk=$3 ok=$4
    local sign; sign=$(bad_signs a.err)$(bad_signs b.err)
    if [ -n "$sign" ] || [ "$r1" -gt 128 ] || [ "$r2" -gt 128 ]; then
        V=crash; DET="exits $r1/$r2, $sign"
    elif [ "$r1" -eq 0 ] && [ "$r2" -eq 0 ]; then
        V=silent; DET="two runs on one output both exit 0: $chk"
    elif [ "$ok" -ne 0 ] && { [ "$r1" -eq 0 ] || [ "$r2" -eq 0 ]; }; then
        V=silent; DET="exits $r1/$r2, the file wrong: $chk"
    elif [ "$ok" -ne 0 ]; then
        if msgtext a.err | grep -qiE 'lock|another|running|in use|held' || msgtext b.err | grep -qiE 'lock|another|running|in use|held'; then V=ok; else V=bad-message; fi
        DET="both fail and leave the file damaged ($chk): $(msg a.err) / $(msg b.err)"
    else
        local f=a.err; [ "$r1" -eq 0 ] && f=b.err
        if msgtext "$f" | grep -qiE 'lock|another|running|in use|held|exists'; then V=ok; DET="exits $r1/$r2; $(msg $f); $chk"
        else V=bad-message; DET="exits $r1/$r2; $(msg $f); $chk"; fi
    fi
}
concurrent_case() { # JOB INPUT REF-OUTPUT "ARGS-A" "ARGS-B" [rso]: started together, up to 2 tries (a race)
    local job=$1 inp=$2 ref=$3 kind=${6:-} try chk ok r1 r2 tries=""
    local -a a b; eval "a=($4)"; eval "b=($5)"
    for try in 1 2; do
        mkdir -p "try$try"; cd "try$try"
        "$A" "$job" "${a[@]}" -o out.jsonl >a.out 2>a.err </dev/null & local p1=$!
        "$A" "$job" "${b[@]}" -o out.jsonl >b.out 2>b.err </dev/null & local p2=$!
        wait $p1; r1=$?; wait $p2; r2=$?
        if [ "$kind" = rso ]; then chk=$(py rso-once "$inp" out.jsonl); ok=$?; else chk=$(py once "$inp" out.jsonl); ok=$?; chk="$chk; $(py mixed out.jsonl "$ref" | sed 's/ from an uninterrupted run with the original options/ from run A alone/')"; fi
        concurrent_judge "$r1" "$r2" "$chk" "$ok"
        cd ..
        tries="$tries try $try: $V;"
        [ "$V" != ok ] && break
    done
    verdict 2 "$V" "$DET (${tries% ;})"
}
c_concurrent_sample() { # run B has another seed
    sample_args; local a; a=$(printf '%q ' "${SA[@]}"); SEED=2 sample_args
    concurrent_case sample "$FX/p20.jsonl" "$FX/f-sample/out.jsonl" "$a" "$(printf '%q ' "${SA[@]}")"
}
c_concurrent_score() { # run B scores other completions under the same ids
    score_args; local a; a=$(printf '%q ' "${SC[@]}"); IN=$FX/pairs20b.jsonl score_args
    concurrent_case score "$FX/pairs20.jsonl" "$FX/f-score/out.jsonl" "$a" "$(printf '%q ' "${SC[@]}")"
}
c_concurrent_rso() {
    export PROBE_SLOW=0.05; rso_args; local a; a=$(printf '%q ' "${RA[@]}"); SEED=2 rso_args
    concurrent_case rso "$FX/p20.jsonl" "$FX/f-rso/out.jsonl" "$a" "$(printf '%q ' "${RA[@]}")" rso
}
resume_while_running() { # JOB ARRAY-NAME INPUT: the second run is a --resume of the same command started while the first writes
    local job=$1 inp=$3; local -n args=$2
    "$A" "$job" "${args[@]}" -o out.jsonl >a.out 2>a.err </dev/null & local p1=$! i
    for ((i = 0; i < 3000; i++)); do [ -f out.jsonl ] && [ "$(wc -l <out.jsonl)" -ge 2 ] && break; kill -0 $p1 2>/dev/null || break; sleep 0.01; done
    "$A" "$job" "${args[@]}" -o out.jsonl --resume >b.out 2>b.err </dev/null; local r2=$?
    wait $p1; local r1=$?
    local chk ok; chk=$(py once "$inp" out.jsonl); ok=$?
    concurrent_judge "$r1" "$r2" "$chk" "$ok"
    if [ "$V" = silent ] && [ "$ok" -eq 0 ]; then V=ok; DET="both exit 0, the file right (the two runs wrote identical records at the same offsets): $chk"; fi
    verdict 2 "$V" "$DET"
}
c_concurrent_sample_resume() { sample_args; resume_while_running sample SA "$FX/p20.jsonl"; }
c_concurrent_bon_resume() { export PROBE_SLOW=0.05; bon_args; resume_while_running bon BA "$FX/p20.jsonl"; }
c_concurrent_dpo() { # run B has another learning rate
    dpo_args; local -a da=("${DA[@]}"); LR=5e-4 dpo_args
    "$A" dpo "${da[@]}" --max-steps 3 >a.out 2>a.err </dev/null & local p1=$!
    "$A" dpo "${DA[@]}" --max-steps 3 >b.out 2>b.err </dev/null & local p2=$!
    wait $p1; local r1=$?; wait $p2; local r2=$?
    local steps; steps="$(py count out.gguf.metrics.jsonl) lines, learning rates $(py field-values out.gguf.metrics.jsonl learning_rate)"
    if [ -n "$(bad_signs a.err)$(bad_signs b.err)" ] || [ $r1 -gt 128 ] || [ $r2 -gt 128 ]; then verdict 2 crash "exits $r1/$r2: $(bad_signs a.err)$(bad_signs b.err)"
    elif [ $r1 -eq 0 ] && [ $r2 -eq 0 ]; then
        verdict 2 silent "two dpo runs (lr 1e-4 and 5e-4) on one --out both exit 0; one run's model, checkpoint and metrics are gone (metrics: $steps)"
    else
        local f=a.err winner=A; [ $r1 -eq 0 ] && f=b.err
        [ $r2 -eq 0 ] && winner=B
        local owner; owner=$(python3 -c "
import json
l=[json.loads(x) for x in open('out.gguf.metrics.jsonl') if x.strip()]
print('none' if not l else ('A' if l[0]['learning_rate'] < 2e-4 else 'B'))" 2>/dev/null)
        if [ "$owner" != "$winner" ]; then verdict 2 silent "exits $r1/$r2: run $winner (exit 0) reports its model written, but the metrics on disk are run ${owner}'s ($steps); the other: $(msg $f)"
        elif msgtext "$f" | grep -qiE 'lock|another|running|in use|held|exists'; then verdict 2 ok "exits $r1/$r2: $(msg $f)"
        else verdict 2 bad-message "exits $r1/$r2, both trained; the loser's message does not name the other run: $(msg $f)"; fi
    fi
}

# ---- 3. strict reward protocol (the child answers a checksum of the completion: every written reward is checked)

reward_case() { # ITEM MODE RE [bon|rso] [extra args]: the child breaks the protocol; the run must fail naming the record
    local item=$1 mode=$2 re=$3 job=${4:-bon}; shift 4 2>/dev/null || shift $#
    local total=$((3 * 2))
    if [ "$job" = bon ]; then
        IN=$FX/p3.jsonl MT=6 RW="cmd:python3 $FX/reward.py $mode $total" bon_args
        TMO=${TMO:-60} run r bon "${BA[@]}" "$@" -o out.jsonl
    else
        IN=$FX/p3.jsonl CAND=2 RW="cmd:python3 $FX/reward.py $mode $total" rso_args
        TMO=${TMO:-60} run r rso "${RA[@]}" "$@" -o out.jsonl
    fi
    judge_refusal "$re"
    local wr; wr=$(py wrong-rewards out.jsonl "$job"); local wrong=${wr% *} tot=${wr#* }
    local nf; nf=$(py nonfinite out.jsonl out.curve.md)
    if [ "$V" = accepted ]; then
        V=silent; DET="exit 0: $wrong of $tot written rewards are not the child's answer for that completion${nf:+, $nf non-finite numbers}"
    elif [ "$wrong" -gt 0 ] || [ "$nf" -gt 0 ]; then
        local kept="the record is in the output and --resume takes it for done"
        [ "$job" = rso ] && kept="the pair is in the output, committed at resume line $(python3 -c "import json;print(json.load(open('out.jsonl.resume.json'))['line'])" 2>/dev/null), so --resume keeps it"
        # Rewards written before a late extra line cannot be told apart (answers without "id" are matched by
        # order): ok only if the run fails saying so and the output cannot be continued.
        local first_err=$ERR again=refused
        if [ "$job" = bon ]; then run r2 bon "${BA[@]}" "$@" -o out.jsonl --resume; else run r2 rso "${RA[@]}" "$@" -o out.jsonl --resume; fi
        if [ "$RC" -eq 0 ] || ! msgtext "$ERR" | grep -qi 'not to be continued'; then again="accepted ($(msg))"; fi
        ERR=$first_err
        if [ "$V" = ok ] && msgtext "$ERR" | grep -qiE 'suspect|not to be trusted' && [ "$again" = refused ]; then
            DET="$DET; $wrong of $tot written rewards wrong, the message says the output is not to be trusted and --resume refuses it"
        else V=silent; DET="$DET; but $wrong of $tot written rewards are not the child's answer for their completion: $kept (--resume: $again)"; fi
    else
        DET="$DET; written rewards all right ($tot)"
    fi
    verdict "$item" "$V" "$DET"
}
REC_RE='train-000[0-9]|record|line [0-9]'
c_reward_two_lines() { reward_case 3 two "$REC_RE" bon; }
c_reward_extra_line_after_last() { reward_case 3 extra-last "$REC_RE" bon; }
c_reward_extra_line_after_last_late() { reward_case 3 extra-last-late "$REC_RE" bon; }
c_reward_extra_line_apart_mid() { reward_case 3 extra-mid-apart "$REC_RE" bon; }
c_reward_extra_line_apart_mid_echo() { reward_case 3 extra-mid-apart-echo "$REC_RE" bon; }
c_reward_wrong_id() { reward_case 3 wrong-id "id" bon; }
c_reward_wrong_completion_index() { reward_case 3 wrong-index "completion.index" bon; }
c_rso_reward_two_lines() { reward_case 3 two "$REC_RE" rso; }
c_rso_reward_extra_line_after_last() { reward_case 3 extra-last "$REC_RE" rso; }
c_reward_crash() { reward_case - crash "exit|crash|died|3" bon; }
c_reward_hang() { TMO=40 RT=2 reward_case - hang "time|second|2 s" bon; }
c_reward_non_json() { reward_case - nonjson "json|hello" bon; }
c_reward_nan() { reward_case 5 nan "nan|finite|number|json" bon; }
c_reward_infinite() { reward_case 5 inf "finite|infin|1e999" bon; }
c_reward_string() { reward_case - string "number|numeric|reward" bon; }
c_reward_missing_field() { reward_case - missing "reward" bon; }
c_reward_array() { reward_case - array "object|reward" bon; }
c_reward_exit_early() { reward_case - exit-early "exit|ended|closed|eof|no answer|stdout" bon; }
c_reward_command_not_found() {
    IN=$FX/p3.jsonl MT=6 RW="cmd:/nonexistent/reward-program" bon_args
    TMO=60 run r bon "${BA[@]}" -o out.jsonl
    expect_refusal - 'nonexistent/reward-program' "$(py stats out.jsonl)"
}
c_reward_match_field_missing() {
    IN=$FX/pairs4.jsonl MT=6 RW="match:answer" bon_args
    run r bon "${BA[@]}" -o out.jsonl
    expect_refusal - 'answer' "$(py stats out.jsonl)"
}
c_reward_regex_invalid() {
    IN=$FX/p3.jsonl MT=6 RW="regex:(" bon_args
    run r bon "${BA[@]}" -o out.jsonl
    expect_refusal - 'regex|pattern' "$(py stats out.jsonl)"
}

# ---- 4. duplicate ids

dup_input() { # FILE: 4 records, line 4 repeats line 1's id with another prompt
    { sed -n 1,3p "$FX/p20.jsonl"; sed -n 5p "$FX/p20.jsonl" | sed 's/"train-0004"/"train-0000"/'; } >"$1"
}
dup_judge() { # POLICY INPUT [rso]
    local pol=$1 inp=$2 kind=${3:-}
    judge_refusal 'line 4|:4\b|duplicate|twice|train-0000'
    local s; s=$(py stats out.jsonl)
    local dups; dups=$(echo "$s" | sed 's/.*duplicate_ids=\([0-9]*\).*/\1/')
    if [ "$kind" = rso ]; then
        local acc; acc=$(py stats out.jsonl.acceptance.jsonl); dups=$((dups + $(echo "$acc" | sed 's/.*duplicate_ids=\([0-9]*\).*/\1/')))
        s="pairs $s; acceptance $acc"
    fi
    if [ "$V" = accepted ]; then
        if [ "$dups" -gt 0 ]; then V=silent; DET="exit 0: output has the id twice ($s): a --resume would take the second for done and lose it"
        elif [ "$pol" = skip ] && [ -s out.rejects.jsonl ] && grep -q '"line":4' out.rejects.jsonl; then V=ok; DET="exit 0, line 4 rejected: $s"
        else V=silent; DET="exit 0: $s, line 4 neither written nor rejected"; fi
    elif [ "$V" = ok ] && [ "$pol" = fail ] && ! grep -q '\b1\b\|line 1\|:1\b' "$ERR"; then
        DET="$DET (does not name the first line)"
    fi
    verdict 4 "$V" "$DET"
}
c_dup_ids_sample_fail() { dup_input in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl; dup_judge fail in.jsonl; }
c_dup_ids_sample_skip() { dup_input in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" --on-error skip -o out.jsonl; dup_judge skip in.jsonl; }
c_dup_ids_score_fail() { dup_input p.jsonl; python3 -c "
import json,sys
for l in open('p.jsonl'): r=json.loads(l); print(json.dumps({'id':r['id'],'prompt':r['prompt'],'chosen':r['answer'],'rejected':r['answer']+'1'}))" >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; dup_judge fail in.jsonl; }
c_dup_ids_score_skip() { dup_input p.jsonl; python3 -c "
import json,sys
for l in open('p.jsonl'): r=json.loads(l); print(json.dumps({'id':r['id'],'prompt':r['prompt'],'chosen':r['answer'],'rejected':r['answer']+'1'}))" >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" --on-error skip -o out.jsonl; dup_judge skip in.jsonl; }
c_dup_ids_bon_fail() { dup_input in.jsonl; IN=$PWD/in.jsonl MT=6 RW=match:answer bon_args; run r bon "${BA[@]}" -o out.jsonl; dup_judge fail in.jsonl; }
c_dup_ids_rso_fail() { dup_input in.jsonl; IN=$PWD/in.jsonl RW=match:answer rso_args; run r rso "${RA[@]}" -o out.jsonl; dup_judge fail in.jsonl rso; }
c_dup_ids_rso_skip() { dup_input in.jsonl; IN=$PWD/in.jsonl RW=match:answer rso_args; run r rso "${RA[@]}" --on-error skip -o out.jsonl; dup_judge skip in.jsonl rso; }
c_dup_ids_implicit() { # {"id": 2} on line 1 and a record without id on line 3 (whose id is its 0-based line number, 2)
    python3 -c "
import json
rs=[json.loads(l) for l in open('$FX/p20.jsonl')][:4]
rs[0]['id']=2; del rs[2]['id']; del rs[3]['id']
print(''.join(json.dumps(r)+'\\n' for r in rs),end='')" >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    judge_refusal 'line 3|:3\b|duplicate|twice|\b2\b'
    local s; s=$(py stats out.jsonl)
    if [ "$V" = accepted ]; then
        if echo "$s" | grep -q 'duplicate_ids=0'; then V=ok; DET="exit 0: $s"; else V=silent; DET="exit 0: explicit id 2 and line 3's implicit id 2 both written ($s)"; fi
    fi
    verdict 4 "$V" "$DET"
}
dup_resume_case() { # JOB: 20 records, the last repeating the first's id; kill -9 after 3, resume; any record lost?
    local job=$1
    python3 -c "
import json
rs=[json.loads(l) for l in open('$2')]
rs[-1]['id']=rs[0]['id']
print(''.join(json.dumps(r)+'\\n' for r in rs),end='')" >in.jsonl
    if [ "$job" = sample ]; then IN=$PWD/in.jsonl sample_args; set -- "${SA[@]}"; else IN=$PWD/in.jsonl score_args; set -- "${SC[@]}"; fi
    kill_after out.jsonl 3 "$job" "$@" -o out.jsonl
    local k=$KILLED
    [ "$k" = 1 ] || { head -3 out.jsonl >o && mv o out.jsonl; }
    run r "$job" "$@" -o out.jsonl --resume
    judge_refusal 'line 20|:20\b|duplicate|twice|train-0000'
    local s; s=$(py stats out.jsonl)
    if [ "$V" = accepted ]; then
        local n; n=$(py count out.jsonl)
        if [ "$n" -eq 19 ]; then V=silent; DET="exit 0 after kill -9 and --resume: 19 records for 20 input lines, line 20 (id train-0000 again) lost ($s)"
        elif echo "$s" | grep -q 'duplicate_ids=0'; then V=ok; DET="exit 0: $s"
        else V=silent; DET="exit 0: $s"; fi
    fi
    [ "$k" = 1 ] || DET="$DET (run ended before the kill: cut to 3 lines)"
    verdict 4 "$V" "$DET"
}
c_dup_ids_sample_resume() { dup_resume_case sample "$FX/p20.jsonl"; }
c_dup_ids_score_resume() { dup_resume_case score "$FX/pairs20.jsonl"; }

# ---- 5. non-finite numbers never become output

nan_case() { # MODEL-FILE JOB: the run must stop naming the model, writing no NaN
    local model=$1 job=$2
    case $job in
        score) MODEL=$FX/$model IN=$FX/pairs4.jsonl score_args; run r score "${SC[@]}" -o out.jsonl ;;
        score-ref) REF=$FX/$model IN=$FX/pairs4.jsonl score_args; run r score "${SC[@]}" -o out.jsonl ;;
        sample) MODEL=$FX/$model IN=$FX/p3.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl ;;
        bon) MODEL=$FX/$model IN=$FX/p3.jsonl MT=6 RW=match:answer bon_args; run r bon "${BA[@]}" -o out.jsonl ;;
        rso) MODEL=$FX/$model IN=$FX/p3.jsonl RW=match:answer rso_args; run r rso "${RA[@]}" -o out.jsonl ;;
    esac
    judge_refusal "${model//./\\.}"
    local nf; nf=$(py nonfinite out.jsonl out.jsonl.acceptance.jsonl out.curve.md out.jsonl.manifest.json)
    if [ "$V" = accepted ]; then
        if [ "$nf" -gt 0 ]; then V=silent; DET="exit 0, $nf NaN/Infinity values written: $(grep -o -m1 '"[a-z_]*": *"\?\(NaN\|-\?Infinity\)' out.jsonl | head -1)"
        else V=ok; DET="exit 0, no non-finite number written ($(py stats out.jsonl))"; fi
    elif [ "$nf" -gt 0 ]; then V=silent; DET="$DET; but $nf NaN/Infinity values were written"; fi
    verdict 5 "$V" "$DET"
}
c_nan_model_score() { nan_case nan.gguf score; }
c_nan_model_score_as_ref() { nan_case nan.gguf score-ref; }
c_nan_model_sample() { nan_case nan.gguf sample; }
c_nan_model_bon() { nan_case nan.gguf bon; }
c_nan_model_rso() { nan_case nan.gguf rso; }
c_inf_model_score() { nan_case inf.gguf score; }
c_inf_model_sample() { nan_case inf.gguf sample; }
c_nan_one_token_score() { nan_case nanrow.gguf score; }
c_nan_one_token_sample() { nan_case nanrow.gguf sample; }
c_nan_model_dpo() {
    MODEL=$FX/nan.gguf dpo_args; TMO=120 run r dpo "${DA[@]}" --max-steps 2
    judge_refusal 'nan\.gguf'
    local nf; nf=$(py nonfinite out.gguf.metrics.jsonl)
    if [ "$V" = accepted ]; then V=silent; DET="exit 0: a model trained from NaN weights written, $nf non-finite metrics"; fi
    verdict 5 "$V" "$DET"
}
c_nan_ref_column_dpo() { # a ref_*_logps column holding a non-finite number
    python3 -c "
import json
for l in open('$FX/dpairs.jsonl'):
    r=json.loads(l); r['ref_chosen_logps']=-1.0; r['ref_rejected_logps']=-2.0; print(json.dumps(r))" >d.jsonl
    sed -i '2s/"ref_chosen_logps": -1.0/"ref_chosen_logps": 1e999/' d.jsonl
    DATA=$PWD/d.jsonl dpo_args; TMO=120 run r dpo "${DA[@]}" --max-steps 2
    judge_refusal 'd\.jsonl:2|line 2|ref_chosen_logps'
    if [ "$V" = accepted ]; then V=silent; DET="exit 0 with an infinite reference log-prob: $(py nonfinite out.gguf.metrics.jsonl) non-finite metrics"; fi
    verdict 5 "$V" "$DET"
}
c_nan_string_ref_column_dpo() {
    python3 -c "
import json
for i,l in enumerate(open('$FX/dpairs.jsonl')):
    r=json.loads(l); r['ref_chosen_logps']='NaN' if i==1 else -1.0; r['ref_rejected_logps']=-2.0; print(json.dumps(r))" >d.jsonl
    DATA=$PWD/d.jsonl dpo_args; TMO=120 run r dpo "${DA[@]}" --max-steps 2
    judge_refusal 'd\.jsonl:2|line 2|ref_chosen_logps'
    if [ "$V" = accepted ]; then V=silent; DET="exit 0 with \"NaN\" as a reference log-prob: $(py nonfinite out.gguf.metrics.jsonl) non-finite metrics"; fi
    verdict 5 "$V" "$DET"
}

# ---- 6. no crash without a message: absurd values, memory, full disk

bound_case() { # ITEM RE JOB ARGS...
    local item=$1 re=$2 job=$3; shift 3
    ALIGN4J_JAVA_OPTS=-Xmx1g ULIMIT_V=8000000 TMO=60 run r "$job" "$@"
    judge_refusal "$re"
    if [ "$V" = accepted ]; then
        if [ -f out.jsonl ] && [ "$job" != dpo ]; then
            local inp=$FX/p3.jsonl; [ "$job" = score ] && inp=$FX/pairs4.jsonl
            if py once "$inp" out.jsonl >chk; then V=ok; DET="exit 0, output complete: $(cat chk)"; else V=silent; DET="exit 0: $(cat chk)"; fi
        else V=ok; DET="exit 0"; fi
    fi
    verdict "$item" "$V" "$DET"
}
c_threads_20000_sample() { TH=20000 small_sample; bound_case 6 'threads' sample "${SS[@]}" -o out.jsonl; }
c_threads_20000_score() { TH=20000 IN=$FX/pairs4.jsonl score_args; bound_case 6 'threads' score "${SC[@]}" -o out.jsonl; }
c_threads_20000_bon() { TH=20000 small_sample; bound_case 6 'threads' bon "${SS[@]}" --reward match:answer -o out.jsonl; }
c_threads_20000_rso() { TH=20000 IN=$FX/p3.jsonl RW=match:answer rso_args; bound_case 6 'threads' rso "${RA[@]}" -o out.jsonl; }
c_threads_20000_dpo() { TH=20000 dpo_args; bound_case 6 'threads' dpo "${DA[@]}" --max-steps 1; }
c_threads_20000_loop() { bound_case 6 'threads' loop --policy "$M" -i "$FX/p3.jsonl" -o loopdir --reward match:answer --rounds 1 -n 2 --max-tokens 6 --threads 20000; }
c_n_max_sample() { bound_case 6 '(^|[^a-z])-n|completions|heap|memory' sample -m "$M" -i "$FX/p3.jsonl" -n 2147483647 --max-tokens 6 --threads 1 --ctx 64 --quiet -o out.jsonl; }
c_n_max_bon() { bound_case 6 '(^|[^a-z])-n|completions|heap|memory' bon -m "$M" -i "$FX/p3.jsonl" -n 2147483647 --max-tokens 6 --threads 1 --ctx 64 --quiet --reward match:answer -o out.jsonl; }
c_candidates_max_rso() { IN=$FX/p3.jsonl CAND=2147483647 RW=match:answer rso_args; bound_case 6 'candidates|heap|memory' rso "${RA[@]}" -o out.jsonl; }
c_n_max_loop() { bound_case 6 '(^|[^a-z])-n|heap|memory' loop --policy "$M" -i "$FX/p3.jsonl" -o loopdir --reward match:answer --rounds 1 -n 2147483647 --max-tokens 6 --threads 1; }
c_max_tokens_max_sample() { bound_case 6 'max.tokens|heap|memory' sample -m "$M" -i "$FX/p3.jsonl" -n 4 --max-tokens 2147483647 --threads 1 --ctx 64 --quiet -o out.jsonl; }
c_batch_tokens_max_sample() { bound_case - 'batch.tokens' sample -m "$M" -i "$FX/p3.jsonl" -n 2 --max-tokens 6 --threads 1 --ctx 64 --quiet --batch-tokens 2147483647 -o out.jsonl; }
c_batch_tokens_max_score() { BT=2147483647 IN=$FX/pairs4.jsonl score_args; bound_case - 'batch.tokens' score "${SC[@]}" -o out.jsonl; }
c_seqs_max_sample() { bound_case - 'seqs' sample -m "$M" -i "$FX/p3.jsonl" -n 2 --max-tokens 6 --threads 1 --ctx 64 --quiet --seqs 2147483647 -o out.jsonl; }
c_ctx_max_sample() { bound_case - 'ctx' sample -m "$M" -i "$FX/p3.jsonl" -n 2 --max-tokens 6 --threads 1 --quiet --ctx 2147483647 -o out.jsonl; }
c_ctx_huge_score() { bound_case - 'ctx|memory' score -m "$M" -i "$FX/pairs4.jsonl" --threads 1 --quiet --seqs 1 --ctx 200000 -o out.jsonl; }
c_top_k_max_score() { IN=$FX/pairs4.jsonl score_args; bound_case - 'top.k' score "${SC[@]}" --top-k 2147483647 -o out.jsonl; }
c_top_k_max_sample() { small_sample; bound_case - 'top.k' sample "${SS[@]}" --top-k 2147483647 -o out.jsonl; }
c_repeat_last_n_max_sample() { small_sample; bound_case - 'repeat.last.n' sample "${SS[@]}" --repeat-last-n 2147483647 --repeat-penalty 1.1 -o out.jsonl; }
c_batch_size_max_dpo() { BS=2147483647 dpo_args; bound_case - 'batch.size|heap|memory' dpo "${DA[@]}" --max-steps 1; }

with_tmpfs() { # SIZE: a small tmpfs at ./mnt (unmounted when the case ends); returns 1 if it cannot be made
    mkdir -p mnt
    mount -t tmpfs -o "size=$1" tmpfs mnt 2>mount.err || return 1
    trap 'umount "$PWD/mnt" 2>/dev/null' EXIT
}
full_disk_case() { # ITEM SIZE RE JOB ARGS... (outputs under mnt/)
    local item=$1 size=$2 re=$3 job=$4; shift 4
    if ! with_tmpfs "$size"; then verdict "$item" skipped "cannot mount a ${size} tmpfs: $(head -1 mount.err)"; return 1; fi
    TMO=180 run r "$job" "$@"
    judge_refusal "$re"
    if [ "$V" = accepted ]; then V=silent; DET="exit 0 on a full disk: $(ls mnt | tr '\n' ' ')"; fi
    if [ "$V" = ok ] && ! grep -qiE 'space|full|quota' "$ERR"; then DET="$DET (cause not said: no space)"; fi
    verdict "$item" "$V" "$DET"
}
c_full_disk_dpo() { SAVE=0 dpo_args; full_disk_case 6 1m 'mnt/' dpo "${DA[@]/out.gguf/mnt/out.gguf}" --max-steps 2; }
c_full_disk_dpo_checkpoint() { dpo_args; full_disk_case 6 2m 'mnt/' dpo "${DA[@]/out.gguf/mnt/out.gguf}" --max-steps 2; }
c_full_disk_model_synth() { full_disk_case 6 1m 'mnt/' model synth --preset tiny -o mnt/t.gguf; }
c_full_disk_sample() { sample_args; full_disk_case - 16k 'mnt/' sample "${SA[@]}" -o mnt/out.jsonl; }
c_full_disk_score() { score_args; full_disk_case - 4k 'mnt/' score "${SC[@]}" -o mnt/out.jsonl; }
c_full_disk_rso() { RW=match:answer rso_args; full_disk_case - 4k 'mnt/' rso "${RA[@]}" -o mnt/out.jsonl; }
c_full_disk_sample_then_resume() { # after the failure, room is made and --resume finishes the file: each record once
    sample_args
    full_disk_case - 16k 'mnt/' sample "${SA[@]}" -o mnt/out.jsonl >/dev/null || return
    local first; first=$(tail -1 "$RESULTS" | cut -f3,4); sed -i '$d' "$RESULTS"
    mount -o remount,size=4m mnt
    run r2 sample "${SA[@]}" -o mnt/out.jsonl --resume
    if [ "$RC" -eq 0 ] && py once "$FX/p20.jsonl" mnt/out.jsonl >chk; then verdict - ok "full disk: ${first//	/ }; then --resume: $(cat chk)"
    elif [ "$RC" -eq 0 ]; then verdict - silent "--resume after the full disk exit 0: $(py once "$FX/p20.jsonl" mnt/out.jsonl)"
    else judge_refusal .; verdict - "$([ "$V" = crash ] && echo crash || echo bad-message)" "--resume after the full disk: $DET"; fi
}
c_readonly_fs_output() {
    mkdir -p ro; if ! mount -t tmpfs -o ro,size=64k tmpfs ro 2>mount.err; then verdict - skipped "cannot mount: $(cat mount.err)"; return; fi
    trap 'umount "$PWD/ro" 2>/dev/null' EXIT
    small_sample; run r sample "${SS[@]}" -o ro/out.jsonl
    expect_refusal - 'ro/out\.jsonl'
}

# ---- 7. temporary files are private (a planted symlink's target must not change)

symlink_case() { # LINK-NAME JOB...: plant LINK-NAME -> victim.txt, run, check the victim
    local link=$1; shift
    printf 'precious data\n' >victim.txt; ln -s victim.txt "$link"
    TMO=180 "$@"
    local sign; sign=$(bad_signs "$ERR")
    if [ "$(cat victim.txt)" != "precious data" ]; then
        verdict 7 silent "exit $RC; the symlink $link was followed: victim.txt overwritten ($(wc -c <victim.txt) bytes, starts '$(head -c 24 victim.txt | tr -c '[:print:]' '.')')"
    elif [ -n "$sign" ] || [ "$RC" -gt 128 ]; then verdict 7 crash "exit $RC: $sign $(msg)"
    elif [ "$RC" -eq 0 ]; then verdict 7 ok "exit 0, victim.txt untouched"
    else judge_refusal "${link//./\\.}"; verdict 7 "$V" "$DET (victim untouched)"; fi
}
c_symlink_rso_manifest_tmp() { IN=$FX/p3.jsonl RW=match:answer rso_args; symlink_case out.jsonl.manifest.json.tmp run r rso "${RA[@]}" -o out.jsonl; }
c_symlink_rso_resume_tmp() { IN=$FX/p3.jsonl RW=match:answer rso_args; symlink_case out.jsonl.resume.json.tmp run r rso "${RA[@]}" -o out.jsonl; }
c_symlink_bon_curve_md_tmp() { IN=$FX/p3.jsonl MT=6 RW=match:answer bon_args; symlink_case out.curve.md.tmp run r bon "${BA[@]}" -o out.jsonl; }
c_symlink_bon_curve_png_tmp() { IN=$FX/p3.jsonl MT=6 RW=match:answer bon_args; symlink_case out.curve.png.tmp.png run r bon "${BA[@]}" -o out.jsonl; }
c_symlink_dpo_metrics_tmp() { # written when a resumed run rewrites the metrics
    if ! fixture_ok k-dpo; then verdict 7 skipped "no interrupted dpo run"; return; fi
    use_fixture k-dpo; dpo_args; symlink_case out.gguf.metrics.jsonl.tmp run r dpo "${DA[@]}" --resume
}
c_symlink_dpo_metrics_png_tmp() { dpo_args; symlink_case out.gguf.metrics.png.tmp.png run r dpo "${DA[@]}" --max-steps 2; }
c_symlink_loop_manifest_tmp() { # loop's round-1 rso manifest
    mkdir -p loopdir/round-1; RUN_LOOP() { run r loop --policy "$M" -i "$FX/p3.jsonl" -o loopdir --reward match:answer --rounds 1 -n 2 --accept 2 --max-tokens 6 --threads 1 --train-threads 1 --ctx 64 --epochs 1 --batch-size 1; }
    (cd loopdir/round-1 && printf 'precious data\n' >../../victim.txt && ln -s ../../victim.txt pairs.jsonl.manifest.json.tmp)
    printf 'precious data\n' >victim.txt
    TMO=240 RUN_LOOP
    if [ "$(cat victim.txt)" != "precious data" ]; then verdict 7 silent "exit $RC; loopdir/round-1/pairs.jsonl.manifest.json.tmp followed: victim.txt overwritten"
    elif [ "$RC" -eq 0 ]; then verdict 7 ok "exit 0, victim.txt untouched"
    else judge_refusal 'loopdir|round-1|exists'; verdict 7 "$V" "$DET (victim untouched)"; fi
}

# ---- 8/9. smaller: chosen == rejected, dpo --out a directory, class names in messages

eq_pairs() { python3 -c "
import json
for i,l in enumerate(open('$FX/pairs4.jsonl')):
    r=json.loads(l)
    if i==1: r['rejected']=r['chosen']
    print(json.dumps(r))" >in.jsonl; }
c_score_chosen_equals_rejected() {
    eq_pairs; IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl
    expect_refusal 9 'in\.jsonl:2|line 2' "chosen == rejected on line 2 scored: $(py stats out.jsonl)"
}
c_score_chosen_equals_rejected_skip() {
    eq_pairs; IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" --on-error skip -o out.jsonl
    judge_refusal 'in\.jsonl:2|line 2'
    if [ "$V" = accepted ]; then
        if grep -q '"line":2' out.rejects.jsonl 2>/dev/null && [ "$(py count out.jsonl)" = 3 ]; then V=ok; DET="exit 0, line 2 rejected"
        else V=silent; DET="exit 0: line 2 (chosen == rejected) scored as a pair: $(py stats out.jsonl)"; fi
    fi
    verdict 9 "$V" "$DET"
}
c_dpo_chosen_equals_rejected() {
    eq_pairs; DATA=$PWD/in.jsonl dpo_args; TMO=120 run r dpo "${DA[@]}" --max-steps 1
    expect_refusal 9 'in\.jsonl:2|line 2'
}
c_dpo_out_is_directory() {
    mkdir outdir; dpo_args; local t0; t0=$(date +%s)
    TMO=180 run r dpo "${DA[@]/out.gguf/outdir}" --max-steps 2
    local dt=$(( $(date +%s) - t0 ))
    judge_refusal 'outdir'
    local trained; trained=$(py count outdir.metrics.jsonl)
    if [ "$V" = accepted ]; then V=silent; DET="exit 0 with --out a directory"
    elif [ "$trained" -gt 0 ]; then
        [ "$V" = ok ] && V=bad-message
        DET="refused only after training ($trained steps, ${dt} s): $DET"
    fi
    verdict 9 "$V" "$DET"
}

# ---- broader: malformed JSONL (sample unless said)

jsonl_case() { # RE CONTENT-PRINTF [skip]: line 2 is the bad one
    local re=$1 content=$2 pol=${3:-fail}
    { sed -n 1p "$FX/p3.jsonl"; printf "$content"; sed -n 3p "$FX/p3.jsonl"; } >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args
    run r sample "${SA[@]}" --on-error "$pol" -o out.jsonl
    if [ "$pol" = skip ]; then
        judge_refusal "$re"
        if [ "$V" = accepted ]; then
            if grep -q '"line":2' out.rejects.jsonl 2>/dev/null && [ "$(py count out.jsonl)" = 2 ]; then V=ok; DET="exit 0, line 2 in the rejects file, 2 records written"
            else V=silent; DET="exit 0: $(py stats out.jsonl), rejects: $(wc -l <out.rejects.jsonl 2>/dev/null || echo none)"; fi
        fi
        verdict - "$V" "$DET"
    else
        expect_refusal - "$re" "bad line 2 accepted: $(py stats out.jsonl)"
    fi
}
L2='in\.jsonl:2|line 2'
c_jsonl_bad_json() { jsonl_case "$L2" '{"id":"x","prompt":"1+1=",\n'; }
c_jsonl_bad_json_skip() { jsonl_case "$L2" '{"id":"x","prompt":"1+1=",\n' skip; }
c_jsonl_not_object() { jsonl_case "$L2" '[1, 2, 3]\n'; }
c_jsonl_string_line() { jsonl_case "$L2" '"just a string"\n'; }
c_jsonl_missing_prompt() { jsonl_case "$L2" '{"id":"x","question":"1+1="}\n'; }
c_jsonl_prompt_number() { jsonl_case "$L2" '{"id":"x","prompt":5}\n'; }
c_jsonl_prompt_null() { jsonl_case "$L2" '{"id":"x","prompt":null}\n'; }
c_jsonl_id_object() { jsonl_case "$L2" '{"id":{"a":1},"prompt":"1+1="}\n'; }
c_jsonl_id_float() { jsonl_case "$L2" '{"id":1.5,"prompt":"1+1="}\n'; }
c_jsonl_trailing_garbage() { jsonl_case "$L2" '{"id":"x","prompt":"1+1="} trailing\n'; }
c_jsonl_invalid_utf8() { jsonl_case "$L2" '{"id":"x","prompt":"1+1=\xff\xfe"}\n'; }
c_jsonl_messages_no_template() { jsonl_case "$L2|template" '{"id":"x","prompt":[{"role":"user","content":"1+1="}]}\n'; }
c_jsonl_huge_line() { # an 8 MB prompt against --ctx 128
    { sed -n 1p "$FX/p3.jsonl"; python3 -c "print('{\"id\":\"x\",\"prompt\":\"' + '1+1=' * 2000000 + '\"}')"; } >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    expect_refusal - "$L2"
}
c_jsonl_empty_file() {
    : >in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    expect_success - sh -c '[ -f out.jsonl ] && [ ! -s out.jsonl ] && echo "empty output for empty input" || { echo "output: $(ls out.jsonl* 2>&1)"; exit 1; }'
}
c_jsonl_bom() {
    { printf '\xef\xbb\xbf'; cat "$FX/p3.jsonl"; } >in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    judge_refusal 'in\.jsonl:1|line 1|BOM|byte order'
    if [ "$V" = accepted ]; then
        if py once "$FX/p3.jsonl" out.jsonl >chk && [ "$(py field-values out.jsonl id)" = '["train-0000", "train-0001", "train-0002"]' ]; then V=ok; DET="exit 0, BOM skipped: $(cat chk)"; else V=silent; DET="exit 0: $(cat chk) ids $(py field-values out.jsonl id)"; fi
    fi
    verdict - "$V" "$DET"
}
c_jsonl_crlf_blank_lines() {
    { sed -n 1p "$FX/p3.jsonl"; echo; echo "   "; sed -n 2,3p "$FX/p3.jsonl"; } | sed 's/$/\r/' >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    expect_success - py once "$FX/p3.jsonl" out.jsonl
}
c_jsonl_no_final_newline() {
    head -c -1 "$FX/p3.jsonl" >in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl
    expect_success - py once "$FX/p3.jsonl" out.jsonl
}
c_score_bad_json() {
    { sed -n 1p "$FX/pairs4.jsonl"; echo '{"prompt":"1+1=","chosen":"2",'; } >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - "$L2"
}
c_score_missing_rejected() {
    { sed -n 1p "$FX/pairs4.jsonl"; echo '{"id":"x","prompt":"1+1=","chosen":"2"}'; } >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl
    judge_refusal "$L2"
    if [ "$V" = accepted ]; then # a prompt+chosen record could be read as prompt/completion: check it is not
        V=silent; DET="exit 0: $(py stats out.jsonl), record 2 columns: $(python3 -c "import json;print(sorted(json.loads(open('out.jsonl').read().splitlines()[1])))")"
    fi
    verdict - "$V" "$DET"
}
c_score_empty_chosen() {
    { sed -n 1p "$FX/pairs4.jsonl"; echo '{"id":"x","prompt":"1+1=","chosen":"","rejected":"3"}'; } >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - "$L2"
}
c_score_too_long() { # completion longer than --ctx
    { sed -n 1p "$FX/pairs4.jsonl"; python3 -c "import json;print(json.dumps({'id':'x','prompt':'1+1=','chosen':'2'*300,'rejected':'3'}))"; } >in.jsonl
    IN=$PWD/in.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - "$L2"
}
c_sample_prompt_too_long() {
    { sed -n 1p "$FX/p3.jsonl"; python3 -c "import json;print(json.dumps({'id':'x','prompt':'1+'*100}))"; } >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl; expect_refusal - "$L2"
}
c_sample_prompt_too_long_skip() {
    { sed -n 1p "$FX/p3.jsonl"; python3 -c "import json;print(json.dumps({'id':'x','prompt':'1+'*100}))"; sed -n 3p "$FX/p3.jsonl"; } >in.jsonl
    IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" --on-error skip -o out.jsonl
    expect_success - sh -c 'grep -q "\"line\":2" out.rejects.jsonl && [ "$(wc -l <out.jsonl)" = 2 ] && echo "line 2 rejected, 2 records written" || { echo "rejects: $(cat out.rejects.jsonl 2>&1 | head -c 100), $(wc -l <out.jsonl) records"; exit 1; }'
}
c_dpo_bad_json() {
    { sed -n 1p "$FX/dpairs.jsonl"; echo '{"prompt":"1+1=","chosen":"2",'; } >in.jsonl
    DATA=$PWD/in.jsonl dpo_args; run r dpo "${DA[@]}" --max-steps 1; expect_refusal - "$L2"
}
c_dpo_too_long() {
    { sed -n 1,2p "$FX/dpairs.jsonl"; } >in.jsonl
    DATA=$PWD/in.jsonl dpo_args; run r dpo "${DA[@]}" --max-steps 1 --max-len 4; expect_refusal - 'in\.jsonl:1|line 1|max.len'
}
c_rso_bad_json() {
    { sed -n 1p "$FX/p3.jsonl"; echo '{"prompt":"1+1=",'; } >in.jsonl
    IN=$PWD/in.jsonl RW=match:answer rso_args; run r rso "${RA[@]}" -o out.jsonl; expect_refusal - "$L2"
}

# ---- broader: missing, unreadable, wrong files

c_input_missing_sample() { IN=$PWD/nope.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl; expect_refusal - 'nope\.jsonl'; }
c_input_missing_score() { IN=$PWD/nope.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - 'nope\.jsonl'; }
c_input_missing_dpo() { DATA=$PWD/nope.jsonl dpo_args; run r dpo "${DA[@]}"; expect_refusal - 'nope\.jsonl'; }
c_input_is_directory() { mkdir indir; IN=$PWD/indir MT=6 sample_args; run r sample "${SA[@]}" -o out.jsonl; expect_refusal - 'indir'; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
c_input_unreadable() {
    [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { verdict - skipped "needs root and setpriv to run as another user"; return; }
    chmod 777 .; cp "$FX/p3.jsonl" in.jsonl; chmod 000 in.jsonl
    TMO=60 as_nobody timeout 60 "$A" sample -m "$M" -i "$PWD/in.jsonl" -o "$PWD/out.jsonl" -n 2 --max-tokens 6 --threads 1 --ctx 64 --quiet >r.out 2>r.err; RC=$?; ERR=r.err
    expect_refusal - 'in\.jsonl'
}
c_output_dir_not_writable() {
    [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { verdict - skipped "needs root and setpriv to run as another user"; return; }
    mkdir -p ro; chmod 555 ro; chmod 755 .
    as_nobody timeout 60 "$A" sample -m "$M" -i "$FX/p3.jsonl" -o "$PWD/ro/out.jsonl" -n 2 --max-tokens 6 --threads 1 --ctx 64 --quiet >r.out 2>r.err; RC=$?; ERR=r.err
    expect_refusal - 'ro/out\.jsonl'
}
c_output_missing_dir() {
    small_sample; run r sample "${SS[@]}" -o "$PWD/no/such/dir/out.jsonl"
    judge_refusal 'no/such/dir'
    if [ "$V" = accepted ]; then if py once "$FX/p3.jsonl" no/such/dir/out.jsonl >chk; then V=ok; DET="exit 0, directory made: $(cat chk)"; else V=silent; DET="exit 0: $(cat chk)"; fi; fi
    verdict - "$V" "$DET"
}
c_output_is_directory() { mkdir outdir; small_sample; run r sample "${SS[@]}" -o outdir; expect_refusal - 'outdir'; }
c_output_exists_no_resume() { echo '{"id":"keep"}' >out.jsonl; small_sample; run r sample "${SS[@]}" -o out.jsonl
    if [ "$(cat out.jsonl)" != '{"id":"keep"}' ]; then verdict - silent "exit $RC: existing output overwritten without --resume"; else expect_refusal - 'out\.jsonl'; fi
}
c_output_equals_input() { cp "$FX/p3.jsonl" in.jsonl; IN=$PWD/in.jsonl MT=6 sample_args; run r sample "${SA[@]}" -o in.jsonl; expect_refusal - 'in\.jsonl'; }

model_case() { # HOW JOB
    local how=$1 job=$2
    py corrupt "$M" bad.gguf "$how"
    case $job in
        sample) MODEL=$PWD/bad.gguf small_sample; run r sample "${SS[@]}" -o out.jsonl ;;
        score) MODEL=$PWD/bad.gguf IN=$FX/pairs4.jsonl score_args; run r score "${SC[@]}" -o out.jsonl ;;
        dpo) MODEL=$PWD/bad.gguf dpo_args; run r dpo "${DA[@]}" --max-steps 1 ;;
        info) run r info bad.gguf ;;
    esac
    expect_refusal - 'bad\.gguf'
}
c_model_truncated_header_sample() { model_case truncated-header sample; }
c_model_truncated_data_sample() { model_case truncated-data sample; }
c_model_truncated_data_dpo() { model_case truncated-data dpo; }
c_model_wrong_magic_score() { model_case magic score; }
c_model_zero_bytes_sample() { model_case zero sample; }
c_model_huge_tensor_count_sample() { model_case huge-tensor-count sample; }
c_model_huge_tensor_count_dpo() { model_case huge-tensor-count dpo; }
c_model_huge_tensor_count_info() { model_case huge-tensor-count info; }
c_model_huge_string_info() { model_case huge-string info; }
c_model_huge_kv_count_dpo() { model_case huge-kv-count dpo; }
c_model_tensor_offset_past_end_sample() { model_case tensor-offset sample; }
c_model_tensor_offset_past_end_dpo() { model_case tensor-offset dpo; }
c_model_missing() { MODEL=$PWD/nope.gguf small_sample; run r sample "${SS[@]}" -o out.jsonl; expect_refusal - 'nope\.gguf'; }
c_model_is_jsonl() { MODEL=$FX/p3.jsonl small_sample; run r sample "${SS[@]}" -o out.jsonl; expect_refusal - 'p3\.jsonl'; }
c_ref_missing_score() { REF=$PWD/nope.gguf IN=$FX/pairs4.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - 'nope\.gguf'; }
c_ref_other_vocab_score() { REF=$FX/tiny.gguf IN=$FX/pairs4.jsonl score_args; run r score "${SC[@]}" -o out.jsonl; expect_refusal - 'vocab'; }

# ---- broader: bad option values (usage errors, exit 2)

opt_case() { # RE JOB ARGS...
    local re=$1 job=$2; shift 2
    run r "$job" "$@"
    judge_refusal "$re"
    if [ "$V" = accepted ]; then V=silent; DET="exit 0: the value was accepted ($(py stats out.jsonl 2>/dev/null))"
    elif [ "$V" = ok ] && [ "$RC" != 2 ]; then DET="$DET (exit $RC, not the usage code 2)"; fi
    verdict - "$V" "$DET"
}
so() { small_sample; SS=("${SS[@]}" "$@" -o out.jsonl); }
c_opt_n_negative() { opt_case '(^|[^a-z])-n' sample -m "$M" -i "$FX/p3.jsonl" -n -1 --threads 1 -o out.jsonl; }
c_opt_n_zero() { opt_case '(^|[^a-z])-n' sample -m "$M" -i "$FX/p3.jsonl" -n 0 --threads 1 -o out.jsonl; }
c_opt_n_not_a_number() { opt_case '(^|[^a-z])-n|abc' sample -m "$M" -i "$FX/p3.jsonl" -n abc --threads 1 -o out.jsonl; }
c_opt_temperature_negative() { so --temperature -1; opt_case 'temperature' sample "${SS[@]}"; }
c_opt_temperature_nan() { so --temperature NaN; opt_case 'temperature' sample "${SS[@]}"; }
c_opt_top_p_above_1() { so --top-p 1.5; opt_case 'top.p' sample "${SS[@]}"; }
c_opt_min_p_negative() { so --min-p -0.5; opt_case 'min.p' sample "${SS[@]}"; }
c_opt_max_tokens_zero() { MT=0 so; opt_case 'max.tokens' sample "${SS[@]}"; }
c_opt_seqs_zero() { so --seqs 0; opt_case 'seqs' sample "${SS[@]}"; }
c_opt_threads_zero() { TH=0 so; opt_case 'threads' sample "${SS[@]}"; }
c_opt_unknown_flag() { so --frobnicate; opt_case 'frobnicate' sample "${SS[@]}"; }
c_opt_missing_output() { opt_case '(^|[^a-z])-o|output' sample -m "$M" -i "$FX/p3.jsonl" -n 2 --threads 1; }
c_opt_on_error_bogus() { so --on-error maybe; opt_case 'on.error|maybe' sample "${SS[@]}"; }
c_opt_stop_empty() { so --stop ''; opt_case 'stop' sample "${SS[@]}"; }
c_opt_reward_bogus() { so --reward bogus:x; opt_case 'reward|bogus' bon "${SS[@]}"; }
c_opt_reward_timeout_zero() { so --reward match:answer --reward-timeout 0; opt_case 'reward.timeout' bon "${SS[@]}"; }
c_opt_rso_accept_above_candidates() { ACC=8 IN=$FX/p3.jsonl RW=match:answer rso_args; opt_case 'accept|candidates' rso "${RA[@]}" -o out.jsonl; }
c_opt_rso_beta_zero() { IN=$FX/p3.jsonl RW=match:answer rso_args; run r rso "${RA[@]}" --beta 0 -o out.jsonl
    judge_refusal 'beta'
    if [ "$V" = accepted ]; then local nf; nf=$(py nonfinite out.jsonl out.jsonl.acceptance.jsonl out.jsonl.manifest.json)
        if [ "$nf" -gt 0 ]; then V=silent; DET="exit 0 with --beta 0: $nf NaN/Infinity values in the outputs"; else V=ok; DET="exit 0, --beta 0 taken as a limit, all numbers finite"; fi; fi
    verdict - "$V" "$DET"
}
c_opt_dpo_beta_zero() { dpo_args; opt_case 'beta' dpo "${DA[@]}" --beta 0 --max-steps 1; }
c_opt_dpo_lr_negative() { LR=-1 dpo_args; opt_case '(^|[^a-z])lr|learning' dpo "${DA[@]}" --max-steps 1; }
c_opt_dpo_epochs_zero() { EPOCHS=0 dpo_args; opt_case 'epoch' dpo "${DA[@]}"; }
c_opt_dpo_out_type_bogus() { dpo_args; opt_case 'out.type|q4' dpo "${DA[@]}" --out-type q4 --max-steps 1; }

# ================================================================== main

# The cases, in the order of this file.
CASE_FNS=$(grep -oE '^c_[a-zA-Z0-9_]+\(\)' "${BASH_SOURCE[0]}" | tr -d '()')

echo "probe: launcher $A; work directory $W" >&2
( build_fixtures ) 2>&1 | sed 's/^/  /' >&2
echo "probe: fixtures ready ($(( $(date +%s) - START )) s)" >&2

for fn in $CASE_FNS; do
    name=${fn#c_}; name=${name//_/-}
    if [ -n "$ONLY" ] && ! [[ $name =~ $ONLY ]]; then continue; fi
    mkdir -p "$W/cases/$name"
    n0=$(wc -l <"$RESULTS"); t0=$(date +%s)
    ( cd "$W/cases/$name" && CASE=$name && "$fn" ) 2>"$W/cases/$name.probe-err"
    printf '%s\t%s\n' "$name" "$(( $(date +%s) - t0 ))" >>"$W/times.tsv"
    if [ "$(wc -l <"$RESULTS")" -eq "$n0" ]; then
        CASE=$name verdict - probe-error "the case produced no verdict: $(tail -1 "$W/cases/$name.probe-err")"
    fi
done

END=$(date +%s)
ELAPSED=$((END - START))
TOTAL=$(wc -l <"$RESULTS")
summary() { for v in ok silent crash bad-message skipped probe-error; do c=$(cut -f3 "$RESULTS" | grep -cx -- "$v"); [ "$c" -gt 0 ] && printf '%s %s, ' "$c" "$v"; done | sed 's/, $//'; }
SUMMARY=$(summary)
echo
echo "probe: $TOTAL cases in ${ELAPSED} s: $SUMMARY"

# ------------------------------------------------------------------ report
if [ -z "$ONLY" ]; then
    REPORT=$ROOT/benchmarks/results/probe.md
    CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
    JV=$("$(sed -n 's/^exec "\([^"]*\)".*/\1/p' "$A" | head -1)" -version 2>&1 | head -1 || true)
    {
        echo "# Bad-input and fault probe (issue 13)"
        echo
        echo "\`benchmarks/probe/probe.sh\` sets up each case in its own directory, runs \`./align4j\` (demo model,"
        echo "\`--threads 1\`, 1 to 20 records) and classifies the outcome mechanically: **ok** (a refusal, exit 1 or 2, whose"
        echo "message names the file, line, option or cause, with no stack trace or Java/Jackson class name, and no output"
        echo "silently wrong; or exit 0 with output checked right), **silent** (an output is wrong: duplicate or lost"
        echo "records, two runs mixed, shifted rewards, NaN written, a symlink's target overwritten), **crash** (signal"
        echo "exit, hang, stack trace, internal error, a Java class name in the message), **bad-message** (non-zero"
        echo "exit whose message does not name what is wrong, or a refusal that comes too late), **skipped**."
        echo "Interrupted runs are real: the job is started and \`kill -9\`ed once its output holds its first records"
        echo "(fixtures \`fx/k-*\`), then copied into each resume case. Column *item*: issue 13's item, \`-\` the broader set."
        echo
        echo "- Totals: **$TOTAL cases: $SUMMARY**"
        echo "- Run: $(date -u +%Y-%m-%dT%H:%MZ), ${ELAPSED} s; $(nproc) cores ($CPU), $(uname -sr); $JV"
        echo "- Code under test: align4j at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- java 2>/dev/null || echo ' (java/ modified)')"
        echo "- Reproduce (from the repository root, after \`make\`; root is needed for the tmpfs and setpriv cases):"
        echo "  \`bash benchmarks/probe/probe.sh ./align4j\`"
        echo
        echo "Notes: the bounds cases (\`threads-*\`, \`*-max-*\`, \`ctx-*\`, \`top-k-*\`, \`repeat-last-n-*\`) run with"
        echo "\`ALIGN4J_JAVA_OPTS=-Xmx1g\` under \`ulimit -v 8000000\`, so an unchecked allocation fails at once instead of"
        echo "taking the shared machine's memory (without the cap \`score --top-k 2147483647\` grows past 4 GB and runs on)."
        echo "The \`concurrent-*\` cases race two processes: their outcome can change from run to run (\`concurrent-sample\`,"
        echo "\`-score\` and \`-rso\` try up to twice and report the first attempt that is not ok). The reward child"
        echo "(\`fx/reward.py\`, written by \`probe_lib.py\`) answers a checksum of each completion, so every written reward is"
        echo "checked; in \`reward-two-lines\` and \`reward-extra-line-apart-mid\` it takes 0.2 s per request, as a reward model would."
        echo
        echo "## Not ok"
        echo
        awk -F'\t' '$3 != "ok" { d=$4; if (length(d) > 260) d=substr(d, 1, 257) "..."; printf "- `%s` (item %s): **%s**: %s\n", $1, $2, $3, d }' "$RESULTS"
        echo
        echo "## Every case"
        echo
        echo "| case | item | verdict | s | detail |"
        echo "| --- | --- | --- | --- | --- |"
        awk -F'\t' 'NR == FNR { t[$1] = $2; next } { d=$4; gsub(/\|/, "\\|", d); v=$3; if (v != "ok") v="**" v "**"; printf "| %s | %s | %s | %s | %s |\n", $1, $2, v, t[$1], d }' "$W/times.tsv" "$RESULTS"
    } >"$REPORT"
    echo "probe: report in ${REPORT#$ROOT/}"
fi
