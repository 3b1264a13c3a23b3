package org.align4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.align4j.bon.SampleJob;
import org.align4j.data.ErrorPolicy;
import org.align4j.data.RunSummary;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.llama.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j sample}: N completions per prompt with their raw log-probs. */
@Command(name = "sample", description = {
        "Sample N completions per prompt (Best-of-N). Each record is written back with",
        "\"completions\": text, token_ids, logps (sum), token_logps (raw: temperature 1,",
        "no sampler) and finish_reason (eos, stop, length)."})
final class SampleCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin EngineOptions engine;
    @Mixin SamplingOptions sampling;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf")
    Path model;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "PROMPTS.jsonl")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.jsonl")
    Path output;

    @Option(names = "-n", required = true, paramLabel = "N", description = "completions per prompt")
    int n;

    @Option(names = "--on-error", paramLabel = "fail|skip", description = "on a bad record: stop (exit 1) or log it to OUT.rejects.jsonl and go on (default: fail)")
    String onError = "fail";

    @Option(names = "--resume", description = "continue an interrupted run of the same command")
    boolean resume;

    @Override
    public Integer call() {
        ErrorPolicy policyOnError;
        try {
            policyOnError = ErrorPolicy.parse(onError);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--on-error must be fail or skip, not " + onError);
        }
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be positive, not " + n);
        }
        SamplingParams params = sampling.params(spec);
        SamplerOptions sampler = sampling.sampler(engine, params, spec);
        if (!engine.quiet) {
            spec.commandLine().getErr().println("align4j sample: llama.cpp " + Backend.describe()
                    + (sampler.flashAttention() ? ", flash attention on" : ""));
        }
        RunSummary summary = new SampleJob(new SampleJob.Options(model, input, output, n, policyOnError, resume,
                engine.quiet, engine.gpuLayers, sampler, params)).run();
        spec.commandLine().getErr().println(summary);
        return 0;
    }
}
