package org.align4j.cli;

import org.align4j.job.RewardStage;

import org.align4j.reward.Reward;

import org.align4j.llama.Model;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.bon.BonJob;
import org.align4j.bon.SampleJob;
import org.align4j.job.RunSummary;
import org.align4j.reward.KlPenalty;
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
final class BonCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;
    @Mixin SampleJobOptions job;
    @Mixin EngineOptions engine;
    @Mixin LoraOptions lora;
    @Mixin SamplingOptions sampling;
    @Mixin RewardOptions reward;

    @Option(names = {"-r", "--ref"}, paramLabel = "REF.gguf", description = "reference model of --kl-coef (same vocabulary; default: the policy, without its --lora adapters)")
    Path reference;

    @Override
    public Integer call() {
        RewardSpec rewardSpec = reward.spec(spec);
        Duration rewardTimeout = reward.timeout(spec);
        if (reference != null && reward.klCoef == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-r/--ref is the reference of --kl-coef, and there is no --kl-coef");
        }
        KlPenalty kl = reward.klPenalty(spec, reference != null ? reference : job.model);
        SampleJob.Options o = job.jobOptions(engine, lora, sampling, spec);
        PrintWriter err = spec.commandLine().getErr();
        BonJob.Result bon;
        try (Model model = engine.load(job.model);
             Reward r = RewardStage.open(reward.reward, kl, job.model, o.engine(), engine.gpuLayers, rewardTimeout)) {
            bon = BonJob.run(model, r, o);
        }
        RunSummary summary = bon.summary();
        err.println(summary);
        if (!engine.quiet) {
            err.println("bon: " + bon.timings().describe(summary.wallSeconds()));
            err.println(String.format(Locale.ROOT, "bon: rewards took %.1f s (%.1f%% of %.1f s)", bon.rewardSeconds(),
                    summary.wallSeconds() > 0 ? 100 * bon.rewardSeconds() / summary.wallSeconds() : 0, summary.wallSeconds()));
        }
        if (bon.curveMarkdown() != null) {
            err.println("bon: " + bon.curve().brief());
            err.println("bon: reward curve in " + bon.curveMarkdown() + " and " + bon.curvePng());
        } else {
            err.println("bon: no records, so no reward curve");
        }
        return 0;
    }
}
