package org.align4j.score;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.OptionalLong;
import org.align4j.Align4jException;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.job.ErrorPolicy;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.data.PreferenceRecord;
import org.align4j.job.RejectsWriter;
import org.align4j.job.ResumeState;
import org.align4j.job.RunSummary;
import org.align4j.engine.TokenizedRecord;
import org.align4j.data.TrlRecord;
import org.align4j.job.ProgressReporter;
import org.align4j.job.RecordLoop;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.ScorerOptions;
import org.align4j.engine.VocabCompatibility;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.TopLogProbs;
import org.align4j.llama.Vocab;

/**
 * {@code align4j score}: reads TRL records, scores each completion under the policy (and the reference)
 * with one prefix-sharing pass per model, and writes each record back with TRL's log-prob columns, in
 * input order, flushed per record.
 *
 * <p>Records are tokenized by the shared rule, {@link TokenizedRecord} (TRL's), with the policy's chat
 * template for conversational records.
 */
public final class ScoreJob {
    /** @param scorer sequences, batch and threads per model; {@code maxSeqLen} is the longest accepted sequence */
    public record Options(Path policy, Path reference, Path input, Path output, boolean perToken, ErrorPolicy onError,
                          boolean resume, boolean quiet, int gpuLayers, ScorerOptions scorer) {}

    private final Options o;
    private final EngineTimings timings = new EngineTimings();

    public ScoreJob(Options options) {
        this.o = options;
    }

    /** Where the last {@link #run()}'s engine time went (policy and reference together). */
    public EngineTimings timings() {
        return timings;
    }

    /** A record waiting for its scores, in input order. */
    private static final class Pending {
        final TrlRecord record;
        final TokenizedRecord tokens;
        ScoreResult policy;
        ScoreResult reference;

        Pending(TrlRecord record, TokenizedRecord tokens) {
            this.record = record;
            this.tokens = tokens;
        }
    }

    public RunSummary run() {
        if (Files.exists(o.output()) && !o.resume()) {
            throw new Align4jException(o.output() + " exists: pass --resume to continue it, or remove it");
        }
        if (o.reference() != null) {
            VocabCompatibility.check(o.policy(), o.reference());
        }
        ResumeState resume = o.resume() ? ResumeState.scan(o.output()) : ResumeState.empty();
        ModelOptions load = new ModelOptions(o.gpuLayers(), true, false);
        try (Model policy = Model.load(o.policy(), load);
             Model reference = o.reference() == null ? null : Model.load(o.reference(), load);
             PrefixSharingScorer policyScorer = new PrefixSharingScorer(policy, o.scorer());
             PrefixSharingScorer referenceScorer = reference == null ? null : new PrefixSharingScorer(reference, o.scorer());
             JsonlReader reader = JsonlReader.open(o.input());
             JsonlWriter writer = o.resume() ? JsonlWriter.append(o.output()) : JsonlWriter.create(o.output());
             RejectsWriter rejects = o.resume() ? RejectsWriter.append(o.output()) : RejectsWriter.create(o.output())) {
            // The clock starts once the models are loaded: the summary's rate is the scoring rate.
            ProgressReporter progress = ProgressReporter.toStderr("score",
                    OptionalLong.of(JsonlReader.countNonBlankLines(o.input())), o.quiet());
            Vocab vocab = policy.vocab();
            ChatRenderer renderer = new LlamaChatRenderer(policy);
            Deque<Pending> queue = new ArrayDeque<>();
            Runnable drain = () -> {
                while (!queue.isEmpty() && queue.peekFirst().policy != null
                        && (referenceScorer == null || queue.peekFirst().reference != null)) {
                    Pending p = queue.pollFirst();
                    writer.write(output(p, vocab));
                    progress.recordDone(p.tokens.totalTokens());
                }
            };
            // Whatever was read before a bad record stops the run is scored and written first.
            Runnable finish = () -> {
                policyScorer.finish();
                if (referenceScorer != null) {
                    referenceScorer.finish();
                }
                drain.run();
            };
            RecordLoop.run(reader, resume, o.onError(), rejects, progress, TrlRecord::parse, record -> {
                Pending p = new Pending(record, TokenizedRecord.of(record, vocab, renderer));
                ScoreRequest request = new ScoreRequest(p.tokens.prompt(), p.tokens.completions());
                String misfit = policyScorer.checkFits(request);
                if (misfit != null) {
                    throw new BadRecordException(record.file(), record.lineNumber(), misfit);
                }
                queue.add(p);
                policyScorer.submit(request, r -> p.policy = r);
                if (referenceScorer != null) {
                    referenceScorer.submit(request, r -> p.reference = r);
                }
                drain.run();
            }, finish);
            finish.run();
            timings.add(policyScorer.timings());
            if (referenceScorer != null) {
                timings.add(referenceScorer.timings());
            }
            return progress.summary();
        }
    }

    private ObjectNode output(Pending p, Vocab vocab) {
        ObjectNode out = p.record.outputNode();
        String[] names = p.record instanceof PreferenceRecord ? new String[] {"chosen", "rejected"} : new String[] {"completion"};
        out.put("prompt_tokens", p.tokens.prompt().length);
        for (int k = 0; k < names.length; k++) {
            out.put(names[k] + "_logps", p.policy.sum(k));
            if (p.reference != null) {
                out.put("ref_" + names[k] + "_logps", p.reference.sum(k));
            }
            out.put(names[k] + "_tokens", p.tokens.completions()[k].length);
        }
        if (o.perToken()) {
            for (int k = 0; k < names.length; k++) {
                ArrayNode ids = out.putArray(names[k] + "_token_ids");
                Arrays.stream(p.tokens.completions()[k]).forEach(ids::add);
                ArrayNode lp = out.putArray(names[k] + "_token_logps");
                for (float v : p.policy.tokenLogps()[k]) {
                    lp.add(v);
                }
                if (p.reference != null) {
                    ArrayNode rlp = out.putArray("ref_" + names[k] + "_token_logps");
                    for (float v : p.reference.tokenLogps()[k]) {
                        rlp.add(v);
                    }
                }
            }
        }
        if (o.scorer().topK() > 0) {
            for (int k = 0; k < names.length; k++) {
                putTop(out.putArray(names[k] + "_top_logps"), p.policy.topLogps()[k], vocab);
                if (p.reference != null) {
                    putTop(out.putArray("ref_" + names[k] + "_top_logps"), p.reference.topLogps()[k], vocab);
                }
            }
        }
        return out;
    }

    /** Per completion position, the most probable tokens: {@code [[{"id", "token", "logp"}, ...], ...]}. */
    private static void putTop(ArrayNode positions, TopLogProbs[] top, Vocab vocab) {
        for (TopLogProbs at : top) {
            ArrayNode alternatives = positions.addArray();
            for (int i = 0; i < at.ids().length; i++) {
                alternatives.addObject()
                        .put("id", at.ids()[i])
                        .put("token", vocab.tokenToPiece(at.ids()[i], true))
                        .put("logp", at.logps()[i]);
            }
        }
    }
}
