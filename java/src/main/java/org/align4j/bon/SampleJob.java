package org.align4j.bon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.align4j.Align4jException;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.data.ChatRendering;
import org.align4j.job.ErrorPolicy;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.job.ProgressReporter;
import org.align4j.job.RecordLoop;
import org.align4j.data.PromptRecord;
import org.align4j.job.RejectsWriter;
import org.align4j.job.ResumeState;
import org.align4j.job.RunSummary;
import org.align4j.data.TrlRecord;
import org.align4j.engine.Completion;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Vocab;

/**
 * {@code align4j sample}: reads prompt records, samples N completions of each with the
 * {@link ContinuousBatchSampler}, and writes each record back with its {@code completions}, in input
 * order, flushed per record. {@code bon} is this job with a {@link RecordBuilder} that adds rewards.
 *
 * <p>Any TRL record serves as a prompt record (its other fields are carried through). The prompt text is
 * tokenized with the model's special tokens (BOS) and special-token text parsed, as {@code score} does; a
 * conversational prompt is first rendered with the model's chat template, ending with the assistant
 * turn's opening. A record's id (its {@code id}, else its 0-based line number) keys its completions'
 * seeds, so a resumed run samples what the uninterrupted one would have.
 */
public final class SampleJob {
    /**
     * @param n        completions per prompt
     * @param engine   the sampler's capacity
     * @param sampling how tokens are chosen, when completions stop, and the run's seed
     */
    public record Options(Path model, Path input, Path output, int n, ErrorPolicy onError, boolean resume, boolean quiet,
                          int gpuLayers, SamplerOptions engine, SamplingParams sampling) {
        public Options {
            if (n < 1) {
                throw new IllegalArgumentException("-n must be positive, not " + n);
            }
        }
    }

    /**
     * The output record of a prompt record and its completions, built in input order on the job's thread.
     * Under {@code --resume} it first sees, through {@link #resumed}, each record the earlier run wrote.
     */
    @FunctionalInterface
    public interface RecordBuilder {
        ObjectNode build(PromptRecord record, SampleResult result);

        /**
         * A complete record already in the output, in order, before any {@link #build}; {@code where} is
         * {@code file:line}. Throws an Align4jException if it cannot be resumed from.
         */
        default void resumed(String where, JsonNode record) {}
    }

    private final String name;
    private final Options o;
    private final RecordBuilder builder;
    private final EngineTimings timings = new EngineTimings();

    /** {@code align4j sample}: each record with its completions ({@link #outputNode}). */
    public SampleJob(Options options) {
        this("sample", options, SampleJob::outputNode);
    }

    /** @param name the job's name in progress lines and the summary */
    public SampleJob(String name, Options options, RecordBuilder builder) {
        this.name = name;
        this.o = options;
        this.builder = builder;
    }

    /** Where the last {@link #run()}'s sampler spent its time. */
    public EngineTimings timings() {
        return timings;
    }

    /** Refuses to start over an existing output without {@code --resume}; a job calls it before loading anything. */
    public static void checkOutput(Options o) {
        if (Files.exists(o.output()) && !o.resume()) {
            throw new Align4jException(o.output() + " exists: pass --resume to continue it, or remove it");
        }
    }

    public RunSummary run() {
        checkOutput(o);
        ResumeState resume = o.resume() ? ResumeState.scan(o.output(), builder::resumed) : ResumeState.empty();
        long left = JsonlReader.countNonBlankLines(o.input()) - resume.records() - resume.rejects();
        try (Model model = Model.load(o.model(), new ModelOptions(o.gpuLayers(), true, false));
             ContinuousBatchSampler sampler = new ContinuousBatchSampler(model, o.engine(), o.sampling());
             JsonlReader reader = JsonlReader.open(o.input());
             JsonlWriter writer = o.resume() ? JsonlWriter.append(o.output()) : JsonlWriter.create(o.output());
             RejectsWriter rejects = o.resume() ? RejectsWriter.append(o.output()) : RejectsWriter.create(o.output())) {
            // The clock starts once the model and context are made: the summary's rate is the sampling rate.
            ProgressReporter progress = ProgressReporter.toStderr(name, OptionalLong.of(Math.max(0, left)), o.quiet());
            try {
                sampleAll(sampler, model, reader, writer, rejects, resume, progress);
            } finally {
                timings.add(sampler.timings());
            }
            return progress.summary();
        }
    }

    /** Reads, submits and writes every record not done before, in input order. */
    private void sampleAll(ContinuousBatchSampler sampler, Model model, JsonlReader reader, JsonlWriter writer,
                           RejectsWriter rejects, ResumeState resume, ProgressReporter progress) {
        Vocab vocab = model.vocab();
        ChatRenderer renderer = new LlamaChatRenderer(model);
        RecordLoop.run(reader, resume, o.onError(), rejects, progress, PromptRecord::of, record -> {
            SampleRequest request = request(record, o.n(), vocab, renderer);
            String misfit = sampler.checkFits(request);
            if (misfit != null) {
                throw new BadRecordException(record.file(), record.lineNumber(), misfit);
            }
            sampler.submit(request, result -> {
                writer.write(builder.build(record, result));
                progress.recordDone(result.generatedTokens());
            });
        }, sampler::finish);
        sampler.finish();
    }

    /**
     * The sampler's request for a prompt record: its prompt rendered (chat template for a conversation)
     * and tokenized with BOS, keyed by the record's id.
     *
     * @throws BadRecordException if the prompt tokenizes to nothing
     */
    public static SampleRequest request(PromptRecord record, int n, Vocab vocab, ChatRenderer renderer) {
        String text = ChatRendering.renderPrompt(record, renderer);
        int[] tokens = vocab.tokenize(text, true, true);
        if (tokens.length == 0) {
            throw new BadRecordException(record.file(), record.lineNumber(),
                    "the prompt tokenizes to nothing (empty, and the model adds no BOS): nothing to sample from");
        }
        return new SampleRequest(record.id().value().toString(), text, tokens, n);
    }

    /**
     * {@code record} with {@code id} first, its fields kept, and {@code "completions": [{"text", "token_ids",
     * "logps", "token_logps", "finish_reason"}, ...]} in completion-index order.
     */
    public static ObjectNode outputNode(TrlRecord record, SampleResult result) {
        ObjectNode out = record.outputNode();
        ArrayNode completions = out.putArray("completions");
        for (Completion c : result.completions()) {
            ObjectNode json = completions.addObject();
            json.put("text", c.text());
            ArrayNode ids = json.putArray("token_ids");
            for (int t : c.tokenIds()) {
                ids.add(t);
            }
            json.put("logps", c.logps());
            ArrayNode logps = json.putArray("token_logps");
            for (float v : c.tokenLogps()) {
                logps.add(v);
            }
            json.put("finish_reason", c.finishReason().jsonName());
        }
        return out;
    }
}
