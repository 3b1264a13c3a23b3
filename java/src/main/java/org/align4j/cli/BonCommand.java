package org.align4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.bon.BonJob;
import org.align4j.bon.SampleJob;
import org.align4j.data.RunSummary;
import org.align4j.llama.Backend;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j bon}: N completions per prompt, each rewarded, the best marked, and the reward-vs-N curve. */
@Command(name = "bon", description = {
        "Best-of-N: sample N completions per prompt (as sample does), reward each",
        "with --reward SPEC, and write each record with \"completions\" (each with a",
        "\"reward\") and \"best\" (the index of the highest reward; on a tie, the",
        "lowest). The reward-vs-N curve goes to OUT.curve.md and OUT.curve.png."})
final class BonCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin SampleJobOptions job;
    @Mixin EngineOptions engine;
    @Mixin SamplingOptions sampling;

    @Option(names = "--reward", required = true, paramLabel = "SPEC", description = "how to reward a completion: " + RewardSpec.KINDS)
    String reward;

    @Option(names = "--reward-timeout", paramLabel = "SECONDS", description = "cmd: the longest wait for one answer (default: 60)")
    double rewardTimeoutSeconds = RewardContext.DEFAULT_TIMEOUT.toSeconds();

    @Override
    public Integer call() {
        RewardSpec rewardSpec;
        try {
            rewardSpec = RewardSpec.parse(reward);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage();
            throw new CommandLine.ParameterException(spec.commandLine(),
                    why.contains(RewardSpec.KINDS) ? why : why + " (SPEC is one of " + RewardSpec.KINDS + ")");
        }
        if (!(rewardTimeoutSeconds > 0) || rewardTimeoutSeconds > Duration.ofDays(1).toSeconds()) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--reward-timeout must be positive seconds (a day at most), not " + rewardTimeoutSeconds);
        }
        SampleJob.Options o = job.jobOptions(engine, sampling, spec);
        PrintWriter err = spec.commandLine().getErr();
        if (!engine.quiet) {
            err.println("align4j bon: llama.cpp " + Backend.describe() + (o.engine().flashAttention() ? ", flash attention on" : ""));
        }
        BonJob bon = new BonJob(o, rewardSpec, Duration.ofNanos(Math.round(rewardTimeoutSeconds * 1e9)));
        RunSummary summary = bon.run();
        err.println(summary);
        if (!engine.quiet) {
            err.println("bon: " + bon.timings().describe(summary.wallSeconds()));
            err.println(String.format(Locale.ROOT, "bon: rewards took %.1f s (%.1f%% of %.1f s)", bon.rewardSeconds(),
                    summary.wallSeconds() > 0 ? 100 * bon.rewardSeconds() / summary.wallSeconds() : 0, summary.wallSeconds()));
        }
        if (bon.curve().prompts() > 0) {
            err.println("bon: " + bon.curve().brief());
            err.println("bon: reward curve in " + BonJob.curveMarkdown(job.output) + " and " + BonJob.curvePng(job.output));
        } else {
            err.println("bon: no records, so no reward curve");
        }
        return 0;
    }
}
