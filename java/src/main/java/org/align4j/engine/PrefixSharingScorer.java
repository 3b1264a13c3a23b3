package org.align4j.engine;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.LoraAdapter;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Model;
import org.align4j.llama.NonFiniteLogitsException;
import org.align4j.llama.TopLogProbs;

/**
 * Teacher-forced scoring of (prompt, completions) requests on one model, many sequences per
 * {@code llama_decode}.
 *
 * <p>A request's completions are scored side by side in a group of sequence ids. With prefix sharing
 * each prompt token is put in the batch once, belonging to every sequence of its group, so its KV
 * cells are computed once and shared (llama.cpp's examples/batched idiom); without it the prompt is
 * decoded once per completion. Logits are requested only where they predict a completion token: at
 * the last prompt token (one row, the first token of every completion) and at each completion token
 * but the last. Requests stream through in input order; the batch is decoded whenever it fills, so a
 * request may span decodes, and each group's KV cells are freed as soon as it is complete.
 *
 * <p>KV capacity is fixed up front: one full batch plus the one group that may straddle a decode. Logits
 * with a NaN or an infinity in them stop the run with an error naming the model and the request.
 *
 * <p>{@link Readout#LAST_HIDDEN} reads, instead of log-probs, the final hidden state (after the output norm)
 * at each completion's last token, the one output of its sequence: what a reward model's head is applied
 * to. Batching, sharing and freeing are the same.
 */
public final class PrefixSharingScorer implements AutoCloseable {
    /** What a request's result holds. */
    public enum Readout {
        /** {@link ScoreResult#tokenLogps()} (and top-k when asked). */
        LOG_PROBS,
        /** {@link ScoreResult#lastHidden()}; every completion needs at least one token. */
        LAST_HIDDEN
    }

    private final Context ctx;
    private final Readout readout;
    private final int nEmbd;
    private final Batch batch;
    private final ScorerOptions options;
    private final Deque<Integer> freeSeqs = new ArrayDeque<>();
    private final Deque<Group> inFlight = new ArrayDeque<>(); // fed groups, oldest first
    private final float[] gathered;
    private final EngineTimings timings = new EngineTimings();
    private int submitted;

    // The outputs of the batch being filled, (n_out,) each: batch row, target token, where the result goes
    // (completion outCompletion of outRequest, its token outDestIndex).
    private int nOut;
    private final int[] outRow;
    private final int[] outTarget;
    private final float[][] outDest;
    private final int[] outDestIndex;
    private final TopLogProbs[][] outTopDest; // where the output's top-k goes, when kept
    private final Pending[] outRequest;
    private final int[] outCompletion;
    private int lastRow = -1; // batch row of the token added last, if it asked for logits

    /** A request's completions [from, to) scored in sequences {@code seqs}. */
    private static final class Group {
        final Pending request;
        final int[] seqs;
        boolean fed;

        Group(Pending request, int[] seqs) {
            this.request = request;
            this.seqs = seqs;
        }
    }

    private static final class Pending {
        final String key;  // the request's, or null
        final int ordinal; // its place in submission order, from 1
        final ScoreResult result;
        final Consumer<ScoreResult> onDone;
        int groupsLeft;

        Pending(String key, int ordinal, ScoreResult result, Consumer<ScoreResult> onDone, int groups) {
            this.key = key;
            this.ordinal = ordinal;
            this.result = result;
            this.onDone = onDone;
            this.groupsLeft = groups;
        }

        /** The request as an error names it. */
        String name() {
            return key != null ? "request " + key : "request #" + ordinal + " (counted from 1 as submitted; it has no key)";
        }
    }

    /** A scorer of log-probs. */
    public PrefixSharingScorer(Model model, ScorerOptions options) {
        this(model, options, Readout.LOG_PROBS);
    }

    public PrefixSharingScorer(Model model, ScorerOptions options, Readout readout) {
        if (options.topK() > model.vocab().nTokens()) {
            throw new Align4jException("--top-k " + options.topK() + " is more than the " + model.vocab().nTokens()
                    + " tokens of " + model.path() + "'s vocabulary: lower --top-k");
        }
        this.options = options;
        this.readout = readout;
        this.nEmbd = model.nEmbd();
        int nCtx = options.batchTokens() + options.maxSeqs() * options.maxSeqLen();
        this.ctx = Context.create(model, new ContextOptions(nCtx, options.batchTokens(),
                Math.min(options.batchTokens(), 512), options.maxSeqs(), options.threads(), true,
                options.flashAttention() ? ContextOptions.FlashAttention.ON : ContextOptions.FlashAttention.OFF,
                readout == Readout.LAST_HIDDEN ? ContextOptions.HiddenStates.OUTPUT_ROWS : ContextOptions.HiddenStates.NONE));
        this.batch = new Batch(options.batchTokens(), options.maxSeqs());
        for (int s = 0; s < options.maxSeqs(); s++) {
            freeSeqs.add(s);
        }
        // Targets per decode: one per row, and a shared prompt's last row scores the first token of each of its
        // group's completions, so up to maxSeqs - 1 more over the batch.
        int cap = options.batchTokens() + options.maxSeqs();
        outRow = new int[cap];
        outTarget = new int[cap];
        outDest = new float[cap][];
        outDestIndex = new int[cap];
        outTopDest = new TopLogProbs[cap][];
        outRequest = new Pending[cap];
        outCompletion = new int[cap];
        gathered = new float[cap];
    }

    /**
     * Scores with {@code adapters} applied at {@code scales} (one each): llama.cpp's LoRA on this
     * scorer's context. Only before the first request, so that no KV cell computed under another
     * adapter set is ever shared.
     */
    public void useAdapters(List<LoraAdapter> adapters, float[] scales) {
        if (submitted > 0) {
            throw new IllegalStateException("adapters are set before the first request is submitted");
        }
        ctx.setAdapters(adapters, scales);
    }

    /** Null if the request fits, else why not (for the caller's message naming the record). */
    public String checkFits(ScoreRequest r) {
        if (r.longestSequence() > options.maxSeqLen()) {
            return "prompt + completion is " + r.longestSequence() + " tokens, more than the context of "
                    + options.maxSeqLen() + " (raise --ctx)";
        }
        return null;
    }

    /**
     * Queues a request; {@code onDone} runs, in submission order, once all its completions are scored
     * (during a later submit or {@link #finish()}).
     *
     * @throws Align4jException if the model gives non-finite logits while this or an earlier request is scored
     */
    public void submit(ScoreRequest r, Consumer<ScoreResult> onDone) {
        String misfit = checkFits(r);
        if (misfit != null) {
            throw new IllegalArgumentException(misfit);
        }
        int k = r.completions().length;
        ScoreResult result = switch (readout) {
            case LOG_PROBS -> {
                float[][] logps = new float[k][];
                TopLogProbs[][] top = options.topK() > 0 ? new TopLogProbs[k][] : null;
                for (int j = 0; j < k; j++) {
                    logps[j] = new float[r.completions()[j].length];
                    if (top != null) {
                        top[j] = new TopLogProbs[r.completions()[j].length];
                    }
                }
                yield new ScoreResult(logps, top, null);
            }
            case LAST_HIDDEN -> {
                for (int[] c : r.completions()) {
                    if (c.length == 0) {
                        throw new IllegalArgumentException("an empty completion has no last token to read a hidden state at");
                    }
                }
                yield new ScoreResult(null, null, new float[k][nEmbd]);
            }
        };
        int groupSize = options.maxSeqs();
        Pending pending = new Pending(r.key(), ++submitted, result, onDone,
                Math.max(1, (k + groupSize - 1) / groupSize));
        if (k == 0) {
            Group g = new Group(pending, new int[0]);
            g.fed = true;
            inFlight.add(g);
            return;
        }
        for (int from = 0; from < k; from += groupSize) {
            feedGroup(r, pending, from, Math.min(k, from + groupSize));
        }
    }

    private void feedGroup(ScoreRequest r, Pending pending, int from, int to) {
        int[] seqs = takeSeqs(to - from);
        Group g = new Group(pending, seqs);
        inFlight.add(g);
        int[] prompt = r.prompt();
        int last = prompt.length - 1;
        boolean promptOutput = readout == Readout.LOG_PROBS; // the last prompt token predicts each completion's first
        if (options.sharePrefix()) {
            for (int t = 0; t < last; t++) {
                add(prompt[t], t, seqs, false);
            }
            add(prompt[last], last, seqs, promptOutput);
            for (int j = from; j < to; j++) {
                readAfterPrompt(r.completions()[j], pending, j);
            }
        }
        for (int j = from; j < to; j++) {
            int seq = seqs[j - from];
            int[] c = r.completions()[j];
            if (!options.sharePrefix()) {
                for (int t = 0; t < last; t++) {
                    add(prompt[t], t, seq, false);
                }
                add(prompt[last], last, seq, promptOutput);
                readAfterPrompt(c, pending, j);
            }
            for (int t = 0; t < c.length; t++) {
                boolean lastToken = t == c.length - 1;
                switch (readout) {
                    case LOG_PROBS -> {
                        add(c[t], prompt.length + t, seq, !lastToken);
                        if (!lastToken) {
                            target(c[t + 1], pending, j, t + 1);
                        }
                    }
                    case LAST_HIDDEN -> {
                        add(c[t], prompt.length + t, seq, lastToken);
                        if (lastToken) {
                            target(-1, pending, j, 0);
                        }
                    }
                }
            }
        }
        g.fed = true;
    }

    private int[] takeSeqs(int n) {
        while (freeSeqs.size() < n) {
            decodeAndGather();
        }
        int[] seqs = new int[n];
        for (int i = 0; i < n; i++) {
            seqs[i] = freeSeqs.poll();
        }
        return seqs;
    }

    private void add(int token, int pos, int[] seqs, boolean output) {
        if (batch.isFull()) {
            decodeAndGather();
        }
        lastRow = output ? batch.size() : -1;
        batch.add(token, pos, seqs, output);
    }

    private void add(int token, int pos, int seq, boolean output) {
        if (batch.isFull()) {
            decodeAndGather();
        }
        lastRow = output ? batch.size() : -1;
        batch.add(token, pos, seq, output);
    }

    /** Reading log-probs, the last prompt token's logits score {@code c[0]}, when the completion is not empty. */
    private void readAfterPrompt(int[] c, Pending request, int completion) {
        if (readout == Readout.LOG_PROBS && c.length > 0) {
            target(c[0], request, completion, 0);
        }
    }

    /**
     * The last added token's output goes to the completion: its logits score {@code token}, position
     * {@code index} of the completion; or, reading hidden states, its hidden state is the completion's.
     */
    private void target(int token, Pending request, int completion, int index) {
        ScoreResult result = request.result;
        outRow[nOut] = lastRow;
        outTarget[nOut] = token;
        outDest[nOut] = readout == Readout.LOG_PROBS ? result.tokenLogps()[completion] : result.lastHidden()[completion];
        outTopDest[nOut] = result.topLogps() == null ? null : result.topLogps()[completion];
        outDestIndex[nOut] = index;
        outRequest[nOut] = request;
        outCompletion[nOut] = completion;
        nOut++;
    }

    private void decodeAndGather() {
        if (batch.size() > 0) {
            long t0 = System.nanoTime();
            ctx.decode(batch);
            long t1 = System.nanoTime();
            switch (readout) {
                case LOG_PROBS -> gatherLogProbs();
                case LAST_HIDDEN -> {
                    for (int i = 0; i < nOut; i++) {
                        ctx.hiddenState(outRow[i], outDest[i]);
                    }
                }
            }
            if (options.topK() > 0) {
                TopLogProbs top = null;
                for (int i = 0; i < nOut; i++) {
                    if (i == 0 || outRow[i] != outRow[i - 1]) {
                        top = ctx.topLogProbs(outRow[i], options.topK());
                    }
                    outTopDest[i][outDestIndex[i]] = top;
                }
            }
            timings.addDecode(batch.size(), t1 - t0);
            timings.addLogProbs(System.nanoTime() - t1);
            Arrays.fill(outDest, 0, nOut, null);
            Arrays.fill(outTopDest, 0, nOut, null);
            Arrays.fill(outRequest, 0, nOut, null);
            nOut = 0;
            batch.clear();
        }
        // Every group fed before this decode is complete: free its cells and report finished requests.
        while (!inFlight.isEmpty() && inFlight.peekFirst().fed) {
            Group g = inFlight.pollFirst();
            for (int s : g.seqs) {
                ctx.seqRm(s, -1, -1);
                freeSeqs.add(s);
            }
            if (--g.request.groupsLeft == 0) {
                g.request.onDone.accept(g.request.result);
            }
        }
    }

    private void gatherLogProbs() {
        try {
            ctx.tokenLogProbs(outRow, outTarget, nOut, gathered);
        } catch (NonFiniteLogitsException e) {
            int i = e.index();
            throw new Align4jException("model " + e.model() + " gives non-finite logits (NaN or infinity) at token "
                    + outDestIndex[i] + " of completion " + outCompletion[i] + " of " + outRequest[i].name()
                    + ": its weights may hold NaN or infinity", e);
        }
        for (int i = 0; i < nOut; i++) {
            outDest[i][outDestIndex[i]] = gathered[i];
        }
    }

    /** Time spent so far in llama_decode and in the log-prob kernels (or the hidden-state copies). */
    public EngineTimings timings() {
        return timings;
    }

    /**
     * Decodes what is queued; every submitted request's callback has run when this returns, and the scorer
     * is left as a new one ({@code restart}).
     *
     * @throws Align4jException if the model gives non-finite logits for a request
     */
    public void finish() {
        decodeAndGather();
        restart();
    }

    /**
     * Leaves the scorer as a new one: no KV cell used, head at cell 0, sequence ids handed out from 0 again.
     * What is decoded next then lands in the same cells and batch rows as in a new scorer; CPU arithmetic
     * depends on both (README, "Resume and batch shape"), so a resumed run that starts here computes what the
     * uninterrupted one did.
     */
    private void restart() {
        ctx.clearMemory();
        freeSeqs.clear();
        for (int s = 0; s < options.maxSeqs(); s++) {
            freeSeqs.add(s);
        }
    }

    @Override
    public void close() {
        batch.close();
        ctx.close();
    }
}
