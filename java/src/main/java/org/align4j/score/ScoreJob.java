package org.align4j.score;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Arrays;
import org.align4j.job.RecordOutput;
import org.align4j.job.RunFingerprint;
import org.align4j.job.ScorerPair;
import org.align4j.job.InputOrder;
import org.align4j.job.InputSegments;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.job.ErrorPolicy;
import org.align4j.data.JsonlReader;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.data.PreferenceRecord;
import org.align4j.job.RunSummary;
import org.align4j.engine.TokenizedRecord;
import org.align4j.data.TrlRecord;
import org.align4j.job.ProgressReporter;
import org.align4j.job.RecordLoop;
import org.align4j.engine.Adapters;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.ScorerOptions;
import org.align4j.engine.VocabCompatibility;
import org.align4j.llama.Model;
import org.align4j.llama.TopLogProbs;
import org.align4j.llama.Vocab;

/**
 * {@code align4j score}: reads TRL records, scores each completion under the policy (and the reference)
 * with one prefix-sharing pass per model, and writes each record back with TRL's log-prob columns, in
 * input order, flushed per record.
 *
 * <p>Records are tokenized by the shared rule, {@link TokenizedRecord} (TRL's), with the policy's chat
 * template for conversational records. The scorers restart at every {@link InputSegments} segment, whose
 * finished part a resumed run replays, so a resumed run scores what the uninterrupted one did, to the bit.
 */
public final class ScoreJob {
    /**
     * @param scorer   sequences, batch and threads per model; {@code maxSeqLen} is the longest accepted sequence
     * @param adapters LoRA adapters applied to the policy; with any and no reference model, the reference is the
     *                 policy's base (the adapters off)
     */
    public record Options(Path input, Path output, boolean perToken, ErrorPolicy onError, boolean resume, boolean quiet,
                          ScorerOptions scorer, Adapters adapters) {
        /** Fail on a bad record, no resume, progress shown, sums only: set the rest with the withers. */
        public static Options of(Path input, Path output, ScorerOptions scorer) {
            return new Options(input, output, false, ErrorPolicy.FAIL, false, false, scorer, Adapters.none());
        }

        public Options withFiles(Path input, Path output) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }

        public Options withPerToken(boolean perToken) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }

        public Options withOnError(ErrorPolicy onError) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }

        public Options withResume(boolean resume) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }

        public Options withQuiet(boolean quiet) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }

        public Options withAdapters(Adapters adapters) {
            return new Options(input, output, perToken, onError, resume, quiet, scorer, adapters);
        }
    }

    /** What a run did: its summary line's figures and where the engine time went (both models together). */
    public record Result(RunSummary summary, EngineTimings timings) {}

    private final Options o;

    private ScoreJob(Options options) {
        this.o = options;
    }

    /** A record and its tokens, waiting for its scores. */
    private record Pending(TrlRecord record, TokenizedRecord tokens, ScoreResult policy, ScoreResult reference) {}

    /**
     * Scores every record of the input under {@code policy} (with the options' adapters) and {@code reference};
     * a null reference is none, or the policy's base when there are adapters.
     */
    public static Result run(Model policy, Model reference, Options o) {
        if (reference != null) {
            VocabCompatibility.check(policy.path(), reference.path());
        }
        return new ScoreJob(o).run(policy, reference != null || o.adapters().isEmpty() ? reference : policy);
    }

    private Result run(Model policy, Model reference) {
        RunFingerprint run = RunFingerprint.of("score", o.input()).withModel("policy", policy.path()).withAdapters(o.adapters())
                .withModel("reference", reference != null ? reference.path() : policy.path())
                .withParameter("per_token", BooleanNode.valueOf(o.perToken())).withParameter("top_k", IntNode.valueOf(o.scorer().topK()));
        try (Adapters.Loaded lora = o.adapters().load(policy);
             RecordOutput out = RecordOutput.open(run, o.output(), o.resume(), (where, record) -> {});
             ScorerPair scorers = new ScorerPair(policy, reference, o.scorer());
             JsonlReader reader = JsonlReader.open(o.input())) {
            scorers.usePolicyAdapters(lora);
            ProgressReporter progress = out.startProgress("score", o.quiet());
            Vocab vocab = policy.vocab();
            ChatRenderer renderer = new LlamaChatRenderer(policy);
            InputSegments segments = InputSegments.forScorer(o.scorer().maxSeqs());
            InputOrder<RecordOutput.Done> order = new InputOrder<>(4 * o.scorer().maxSeqs() + 16, segments, o.onError(),
                    scorers::finish, out);
            RecordLoop.run(reader, out.resume(), segments, o.onError(), TrlRecord::parse, record -> {
                TokenizedRecord tokens = TokenizedRecord.of(record, vocab, renderer);
                ScoreRequest request = new ScoreRequest(record.id().toString(), tokens.prompt(), tokens.completions());
                String misfit = scorers.checkFits(request);
                if (misfit != null) {
                    throw new BadRecordException(record.file(), record.lineNumber(), misfit);
                }
                InputOrder<RecordOutput.Done>.Slot slot = order.admit(record.line());
                scorers.submit(request, (p, r) -> slot.completeWith(() -> new RecordOutput.Done(
                        output(new Pending(record, tokens, p, r), vocab), tokens.totalTokens())));
            }, order::finish, order::reject);
            order.finish();
            return new Result(progress.summary(), scorers.timings());
        }
    }

    private ObjectNode output(Pending p, Vocab vocab) {
        ObjectNode out = p.record().outputNode();
        String[] names = p.record() instanceof PreferenceRecord ? new String[] {"chosen", "rejected"} : new String[] {"completion"};
        out.put("prompt_tokens", p.tokens().prompt().length);
        for (int k = 0; k < names.length; k++) {
            out.put(names[k] + "_logps", p.policy().sum(k));
            if (p.reference() != null) {
                out.put("ref_" + names[k] + "_logps", p.reference().sum(k));
            }
            out.put(names[k] + "_tokens", p.tokens().completions()[k].length);
        }
        if (o.perToken()) {
            for (int k = 0; k < names.length; k++) {
                ArrayNode ids = out.putArray(names[k] + "_token_ids");
                Arrays.stream(p.tokens().completions()[k]).forEach(ids::add);
                ArrayNode lp = out.putArray(names[k] + "_token_logps");
                for (float v : p.policy().tokenLogps()[k]) {
                    lp.add(v);
                }
                if (p.reference() != null) {
                    ArrayNode rlp = out.putArray("ref_" + names[k] + "_token_logps");
                    for (float v : p.reference().tokenLogps()[k]) {
                        rlp.add(v);
                    }
                }
            }
        }
        if (o.scorer().topK() > 0) {
            for (int k = 0; k < names.length; k++) {
                putTop(out.putArray(names[k] + "_top_logps"), p.policy().topLogps()[k], vocab);
                if (p.reference() != null) {
                    putTop(out.putArray("ref_" + names[k] + "_top_logps"), p.reference().topLogps()[k], vocab);
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
