package org.align4j.cli;

import java.nio.file.Path;
import org.align4j.bon.SampleJob;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.job.ErrorPolicy;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** What {@code sample} and {@code bon} share beyond the engine and sampling options: model, files, N, errors, resume. */
final class SampleJobOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf")
    Path model;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "PROMPTS.jsonl")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.jsonl")
    Path output;

    @Option(names = "-n", required = true, paramLabel = "N", description = "completions per prompt")
    int n;

    @Option(names = "--on-error", paramLabel = "fail|skip", converter = OnError.class,
            description = "on a bad record: stop (exit 1) or log it to OUT.rejects.jsonl and go on (default: fail)")
    ErrorPolicy onError = ErrorPolicy.FAIL;

    @Option(names = "--resume", description = "continue an interrupted run of the same command")
    boolean resume;

    /** The sample job's options; an out-of-range value is a usage error naming its option. */
    SampleJob.Options jobOptions(EngineOptions engine, LoraOptions lora, SamplingOptions sampling, CommandSpec spec) {
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be positive, not " + n);
        }
        SamplingParams params = sampling.params(spec);
        SamplerOptions sampler = sampling.sampler(engine, params, spec);
        try {
            ContinuousBatchSampler.checkCompletions(n, params, "-n");
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        return new SampleJob.Options(input, output, n, onError, resume, engine.quiet, sampler, params, lora.adapters());
    }
}
