package org.align4j.cli;

import org.align4j.llama.Model;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RunSummary;
import org.align4j.engine.ScorerOptions;
import org.align4j.score.ScoreJob;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code align4j score}: per-token log-probs of given completions under a policy and a reference. */
@Command(name = "score", description = {
        "Score completions: TRL log-prob columns (chosen_logps, rejected_logps, ref_chosen_logps, ref_rejected_logps;",
        "completion_logps, ref_completion_logps) added to each record, raw log-probs at temperature 1."})
final class ScoreCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;
    @Mixin EngineOptions engine;
    @Mixin LoraOptions lora;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "POLICY.gguf")
    Path policy;

    @Option(names = {"-r", "--ref"}, paramLabel = "REF.gguf", description = "reference model (same vocabulary; default with --lora: the policy without its adapters)")
    Path reference;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "IN.jsonl")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.jsonl")
    Path output;

    @Option(names = "--per-token", description = "also write token ids and per-token log-probs")
    boolean perToken;

    @Option(names = "--top-k", paramLabel = "K", description = "also write the K most probable tokens at every completion position (<name>_top_logps)")
    int topK;

    @Option(names = "--on-error", paramLabel = "fail|skip", converter = OnError.class,
            description = "on a bad record: stop (exit 1) or log it to OUT.rejects.jsonl and go on (default: fail)")
    ErrorPolicy onError = ErrorPolicy.FAIL;

    @Option(names = "--resume", description = "continue an interrupted run of the same command")
    boolean resume;

    @Option(names = "--seqs", paramLabel = "N", description = "sequences decoded side by side (default: ${DEFAULT-VALUE})")
    int seqs = 16;

    @Option(names = "--flash-attn", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "llama.cpp's flash attention (default: on; --no-flash-attn: about 15%% slower on a CPU). On or off, a record's"
                    + " log-probs move with what is batched beside it: ~1e-5 with F32 weights, up to ~1e-3 with F16 or Q8_0 (README)")
    boolean flashAttention;

    @Option(names = "--no-prefix-sharing", description = "decode each prompt once per completion (for comparison)")
    boolean noPrefixSharing;

    /** The score job's options; an out-of-range value is a usage error naming its option. */
    ScoreJob.Options jobOptions() {
        if (engine.ctx < 2 || engine.batchTokens < 1 || seqs < 1 || engine.threads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--ctx, --batch-tokens, --seqs and --threads must be positive");
        }
        if (topK < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--top-k must be 0 or more, not " + topK);
        }
        return new ScoreJob.Options(input, output, perToken, onError, resume, engine.quiet,
                new ScorerOptions(engine.ctx, engine.batchTokens, seqs, engine.threads, !noPrefixSharing, topK, flashAttention),
                lora.adapters());
    }

    @Override
    public Integer call() {
        ScoreJob.Options options = jobOptions();
        ScoreJob.Result result;
        try (Model p = engine.load(policy);
             Model r = engine.loadIfGiven(reference)) {
            result = ScoreJob.run(p, r, options);
        }
        RunSummary summary = result.summary();
        spec.commandLine().getErr().println(summary);
        if (!engine.quiet) {
            spec.commandLine().getErr().println("score: " + result.timings().describe(summary.wallSeconds()));
        }
        return 0;
    }
}
