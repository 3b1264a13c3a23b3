package org.align4j.cli;

import org.align4j.llama.Model;

import java.util.concurrent.Callable;
import org.align4j.bon.SampleJob;
import org.align4j.job.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code align4j sample}: N completions per prompt with their raw log-probs. */
@Command(name = "sample", description = {
        "Sample N completions per prompt (Best-of-N). Each record is written back with",
        "\"completions\": text, token_ids, logps (sum), token_logps (raw: temperature 1,",
        "no sampler) and finish_reason (eos, stop, length)."})
final class SampleCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;
    @Mixin SampleJobOptions job;
    @Mixin EngineOptions engine;
    @Mixin LoraOptions lora;
    @Mixin SamplingOptions sampling;

    @Override
    public Integer call() {
        SampleJob.Options o = job.jobOptions(engine, lora, sampling, spec);
        SampleJob.Result result;
        try (Model model = engine.load(job.model)) {
            result = SampleJob.run(model, o);
        }
        RunSummary summary = result.summary();
        spec.commandLine().getErr().println(summary);
        if (!engine.quiet) {
            spec.commandLine().getErr().println("sample: " + result.timings().describe(summary.wallSeconds()));
        }
        return 0;
    }
}
