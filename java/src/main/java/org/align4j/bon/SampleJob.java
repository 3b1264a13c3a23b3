package org.align4j.bon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlReader;
import org.align4j.data.PromptRecord;
import org.align4j.engine.Adapters;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.InputOrder;
import org.align4j.job.InputSegments;
import org.align4j.job.ProgressReporter;
import org.align4j.job.RecordLoop;
import org.align4j.job.RecordOutput;
import org.align4j.job.RunFingerprint;
import org.align4j.job.RunSummary;
import org.align4j.job.SampleOutput;
import org.align4j.llama.Model;
import org.align4j.reward.RewardProtocolException;

/**
 * {@code align4j sample}: reads prompt records, samples N completions of each with the
 * {@link ContinuousBatchSampler}, and writes each record back with its {@code completions}
 * ({@link SampleOutput}), in input order, flushed per record. {@code bon} is this job with a
 * {@link RecordBuilder} that adds rewards.
 *
 * <p>A record's id (its {@code id}, else its 0-based line number) keys its completions' seeds, and the
 * sampler restarts at every {@link InputSegments} segment, whose finished part a resumed run replays: a
 * resumed run samples what the uninterrupted one did, to the bit.
 */
public final class SampleJob {
    /**
     * @param n        completions per prompt
     * @param engine   the sampler's capacity
     * @param sampling how tokens are chosen, when completions stop, and the run's seed
     * @param adapters LoRA adapters applied to the model while sampling
     */
    public record Options(Path input, Path output, int n, ErrorPolicy onError, boolean resume, boolean quiet,
                          SamplerOptions engine, SamplingParams sampling, Adapters adapters) {
        public Options {
            if (n < 1) {
                throw new IllegalArgumentException("-n must be positive, not " + n);
            }
        }

        /** Fail on a bad record, no resume, progress shown: set the rest with the withers. */
        public static Options of(Path input, Path output, int n, SamplerOptions engine, SamplingParams sampling) {
            return new Options(input, output, n, ErrorPolicy.FAIL, false, false, engine, sampling, Adapters.none());
        }

        public Options withFiles(Path input, Path output) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withN(int n) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withOnError(ErrorPolicy onError) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withResume(boolean resume) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withQuiet(boolean quiet) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withSampling(SamplingParams sampling) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }

        public Options withAdapters(Adapters adapters) {
            return new Options(input, output, n, onError, resume, quiet, engine, sampling, adapters);
        }
    }

    /** What a run did: its summary line's figures and where the sampler spent its time. */
    public record Result(RunSummary summary, EngineTimings timings) {}

    /**
     * The output record of a prompt record and its completions, built in input order on the job's thread.
     * Under {@code --resume} it first sees, through {@link #resumed}, each record the earlier run wrote.
     */
    interface RecordBuilder {
        ObjectNode build(PromptRecord record, SampleResult result);

        /**
         * A complete record already in the output, in order, before any {@link #build}; {@code where} is
         * {@code file:line}. Throws an Align4jException if it cannot be resumed from.
         */
        default void resumed(String where, JsonNode record) {}

        /** After the last record is built, while the output is still open: see {@link org.align4j.job.RewardStage#finish()}. */
        default void finish() {}
    }

    private SampleJob() {}

    /** {@code align4j sample} on an open model. */
    public static Result run(Model model, Options o) {
        return run(fingerprint("sample", model, o), model, o, new RecordBuilder() {
            @Override
            public ObjectNode build(PromptRecord record, SampleResult result) {
                return SampleOutput.node(record, result);
            }
        });
    }

    /** What makes a sampled output: the model and its adapters, the input, N and the sampling parameters. */
    static RunFingerprint fingerprint(String command, Model model, Options o) {
        return RunFingerprint.of(command, o.input()).withModel("policy", model.path()).withAdapters(o.adapters())
                .withParameter("n", IntNode.valueOf(o.n())).withSampling(o.sampling());
    }

    /** Reads, samples and writes every record not done before, in input order. */
    static Result run(RunFingerprint run, Model model, Options o, RecordBuilder builder) {
        EngineTimings timings = new EngineTimings();
        try (Adapters.Loaded lora = o.adapters().load(model);
             RecordOutput out = RecordOutput.open(run, o.output(), o.resume(), builder::resumed);
             ContinuousBatchSampler sampler = new ContinuousBatchSampler(model, o.engine(), o.sampling());
             JsonlReader reader = JsonlReader.open(o.input())) {
            sampler.useAdapters(lora);
            ProgressReporter progress = out.startProgress(run.command(), o.quiet());
            InputSegments segments = InputSegments.forSampler(o.engine().maxSeqs(), o.n());
            InputOrder<RecordOutput.Done> order = new InputOrder<>(4 * o.engine().maxSeqs() + 16, segments, o.onError(),
                    sampler::finish, out);
            LlamaChatRenderer renderer = new LlamaChatRenderer(model);
            try {
                RecordLoop.run(reader, out.resume(), segments, o.onError(), PromptRecord::of, record -> {
                    SampleRequest request = SampleRequest.of(record, o.n(), model.vocab(), renderer);
                    String misfit = sampler.checkFits(request);
                    if (misfit != null) {
                        throw new BadRecordException(record.file(), record.lineNumber(), misfit);
                    }
                    InputOrder<RecordOutput.Done>.Slot slot = order.admit(record.line());
                    sampler.submit(request, result -> slot.completeWith(() -> new RecordOutput.Done(builder.build(record, result),
                            result.generatedTokens())));
                }, order::finish, order::reject);
                order.finish();
                builder.finish();
            } catch (RewardProtocolException e) {
                out.markBroken(e.getMessage());
                throw e;
            } finally {
                timings.add(sampler.timings());
            }
            return new Result(progress.summary(), timings);
        }
    }
}
