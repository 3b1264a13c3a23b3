package org.align4j.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.llama.Batch;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.LogProbGather;
import org.align4j.llama.LoraAdapter;
import org.align4j.llama.Model;
import org.align4j.llama.NonFiniteLogitsException;
import org.align4j.llama.TokenSampler;
import org.align4j.llama.Vocab;

/**
 * Best-of-N sampling on one model with continuous batching: N completions per prompt, many prompts in
 * flight, one {@code llama_decode} per step for every live sequence, and the raw log-prob of every
 * sampled token.
 *
 * <p>Each completion runs in a sequence id of its own (a slot). A prompt is decoded once for the
 * completions that start together: its tokens go into the batch belonging to all their sequence ids, so
 * its KV cells are computed once and shared (llama.cpp's examples/batched idiom), and one row of logits,
 * at its last token, gives each of them its first token. A completion that starts later (more
 * completions than free slots) takes the prompt's cells from a sibling with {@code seq_cp}, or finds them
 * still in the slot a sibling just left, and re-decodes only the prompt's last token for its logits row.
 *
 * <p>A step adds one token for each generating sequence, fills the rest of the batch with prompt tokens
 * (a long prompt spans steps), decodes once, samples every sequence from its row in one native call
 * ({@link TokenSampler}: llama.cpp's filters, each completion drawing from its own seeded random
 * stream), then gathers the sampled tokens' raw log-probs in another. A finished sequence frees its
 * slot, and the next step gives it to the oldest request with a completion not yet started. Requests
 * are reported to their callbacks in submission order.
 *
 * <p>Capacity is fixed up front ({@link SamplerOptions}): every prompt + {@code maxTokens} must fit in
 * {@code maxSeqLen}, so no decode runs out of KV cells, and a request's completions must fit in the Java
 * heap ({@link #checkCompletions}). Logits with a NaN or an infinity in them stop the run with an error
 * naming the model and the request. Not thread-safe: one thread submits; the callbacks run on it.
 */
public final class ContinuousBatchSampler implements AutoCloseable {
    /** Heap a finished completion takes beyond its tokens, about: the record, its two arrays' and its text's headers. */
    static final long COMPLETION_OVERHEAD_BYTES = 128;

    private final SamplerOptions options;
    private final SamplingParams params;
    private final Vocab vocab;
    private final TokenPieces pieces;
    private final StopStrings stops;
    private final int[] eog; // the vocabulary's end-of-generation tokens, suppressed under ignoreEos; else empty
    private final Batch batch;
    private final Context ctx;
    private final TokenSampler sampler;
    private final LogProbGather gather;
    private final EngineTimings timings = new EngineTimings();

    private final Slot[] slots;                                   // (maxSeqs,): slot i is sequence id i
    private final Deque<Slot> free = new ArrayDeque<>();          // slots with no live completion
    private final Deque<Work> unstarted = new ArrayDeque<>();     // requests with completions to start, oldest first
    private final Deque<Work> inOrder = new ArrayDeque<>();       // requests not yet reported, in submission order
    private final List<PromptFeed> feeding = new ArrayList<>();   // prompts being decoded, oldest first
    private int unstartedCompletions;
    private boolean used; // a request was submitted: the adapters are fixed

    // One step's draws, (n_draws <= maxSeqs,) each: the slot, the batch row it samples from, its seed,
    // the token, its raw log-prob; and its repetition window, drawWindow[drawWindowStart[k], drawWindowStart[k + 1]).
    private final Slot[] drawSlot;
    private final int[] drawRow;
    private final long[] drawSeed;
    private final int[] drawToken;
    private final float[] drawLogp;
    private final int[] drawWindowStart; // (maxSeqs + 1,)
    private final int[] drawWindow;      // (maxSeqs * window,)
    private final int window;            // repetition-penalty window, tokens; 0 without the penalty

    /** A request and the completions it has, by completion index. */
    private static final class Work {
        final SampleRequest request;
        final Consumer<SampleResult> onDone;
        final Completion[] completions;
        int started;
        int finished;

        Work(SampleRequest request, Consumer<SampleResult> onDone) {
            this.request = request;
            this.onDone = onDone;
            this.completions = new Completion[request.n()];
        }

        boolean done() {
            return finished == completions.length;
        }
    }

    /** One sequence id and the completion running in it; its buffers are reused from completion to completion. */
    private static final class Slot {
        final int seq;
        final int[] tokens;  // (maxTokens,) sampled so far: [0, length)
        final float[] logps; // (maxTokens,) their raw log-probs
        byte[] text = new byte[256]; // UTF-8 of the tokens' pieces: [0, textLength)
        int length;
        int textLength;
        Work work;          // whose cells this sequence holds, live or left behind when it finished; null: none
        boolean live;       // a completion is running here
        boolean generating; // its prompt is decoded; false while the prompt is being fed
        int index;          // completion index within work
        SplittableRandom rng; // the completion's random stream: one seed per token drawn
        int nextPos;        // position of the next token fed
        int row = -1;       // batch row of its next-token logits in the batch being decoded; -1: none

        Slot(int seq, int maxTokens) {
            this.seq = seq;
            this.tokens = new int[maxTokens];
            this.logps = new float[maxTokens];
        }

        void appendText(byte[] piece) {
            if (textLength + piece.length > text.length) {
                text = Arrays.copyOf(text, Math.max(2 * text.length, textLength + piece.length));
            }
            System.arraycopy(piece, 0, text, textLength, piece.length);
            textLength += piece.length;
        }
    }

    /** A prompt fed into the batch for {@code slots}, which share its cells; positions [0, fed) are in. */
    private static final class PromptFeed {
        final Work work;
        final Slot[] slots;
        final int[] seqs;
        int fed;
        int row = -1; // batch row of the last prompt token, once it is in the batch

        PromptFeed(Work work, Slot[] slots, int fed) {
            this.work = work;
            this.slots = slots;
            this.seqs = Arrays.stream(slots).mapToInt(s -> s.seq).toArray();
            this.fed = fed;
        }
    }

    /**
     * @throws IllegalArgumentException if {@code maxTokens} leaves no room for a prompt in {@code maxSeqLen}
     * @throws org.align4j.Align4jException if llama.cpp cannot make the context (memory, for one)
     */
    public ContinuousBatchSampler(Model model, SamplerOptions options, SamplingParams params) {
        checkCapacity(options, params);
        this.options = options;
        this.params = params;
        this.vocab = model.vocab();
        this.pieces = new TokenPieces(vocab);
        this.stops = new StopStrings(params.stops());
        this.eog = params.ignoreEos() ? vocab.eogTokens() : new int[0];
        int n = options.maxSeqs();
        this.slots = new Slot[n];
        for (int s = 0; s < n; s++) {
            slots[s] = new Slot(s, params.maxTokens());
            free.add(slots[s]);
        }
        // A window longer than a sequence can be looks back over all of it: no more to hold than --ctx tokens.
        this.window = params.penalizes() ? Math.min(params.repeatLastN(), options.maxSeqLen()) : 0;
        drawSlot = new Slot[n];
        drawRow = new int[n];
        drawSeed = new long[n];
        drawToken = new int[n];
        drawLogp = new float[n];
        drawWindowStart = new int[n + 1];
        drawWindow = new int[n * window];
        this.batch = new Batch(options.batchTokens(), n);
        Context c = null;
        TokenSampler ts = null;
        try {
            c = Context.create(model, new ContextOptions(options.kvCells(), options.batchTokens(),
                    Math.min(options.batchTokens(), 512), n, options.threads(), true,
                    options.flashAttention() ? ContextOptions.FlashAttention.ON : ContextOptions.FlashAttention.OFF));
            ts = new TokenSampler(c, params.filters(), eog, n, window);
            this.gather = new LogProbGather(c, n);
        } catch (RuntimeException e) {
            if (ts != null) {
                ts.close();
            }
            if (c != null) {
                c.close();
            }
            batch.close();
            throw e;
        }
        this.ctx = c;
        this.sampler = ts;
    }

    /**
     * Samples with {@code adapters} applied at {@code scales} (one each): llama.cpp's LoRA on this
     * sampler's context. Only before the first request, so that no KV cell computed under another
     * adapter set is ever shared.
     */
    public void useAdapters(List<LoraAdapter> adapters, float[] scales) {
        if (used) {
            throw new IllegalStateException("adapters are set before the first request is submitted");
        }
        ctx.setAdapters(adapters, scales);
    }

    /** As {@link #useAdapters(List, float[])}, for adapters loaded by {@link Adapters#load}; none: the base model. */
    public void useAdapters(Adapters.Loaded adapters) {
        if (!adapters.isEmpty()) {
            useAdapters(adapters.adapters(), adapters.scales());
        }
    }

    /** Checks, before any model is loaded, that {@code params} can run in {@code options}; throws saying what to change. */
    public static void checkCapacity(SamplerOptions options, SamplingParams params) {
        if (params.maxTokens() >= options.maxSeqLen()) {
            throw new IllegalArgumentException("--max-tokens " + params.maxTokens() + " leaves no room for a prompt within --ctx "
                    + options.maxSeqLen() + ": raise --ctx or lower --max-tokens");
        }
    }

    /**
     * Checks, before any work, that the {@code n} completions of one request can be held in the Java heap
     * until the request is reported: each is kept (its tokens as ints, their log-probs as floats) until its
     * siblings finish, so {@code n} completions of {@code maxTokens} tokens take at least
     * {@code n * (8 * maxTokens + }{@value #COMPLETION_OVERHEAD_BYTES}{@code )} bytes; more than
     * {@link Runtime#maxMemory()} can only end in an OutOfMemoryError.
     *
     * @param option the option that set {@code n}, named in the message ({@code -n}, {@code --candidates})
     * @throws IllegalArgumentException saying what to change
     */
    public static void checkCompletions(int n, SamplingParams params, String option) {
        String why = completionsMisfit(n, params, option + " " + n + " completions", option);
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
    }

    /** Why {@code n} completions (called {@code what}) cannot be held, and to lower {@code lower}; null if they fit. */
    private static String completionsMisfit(int n, SamplingParams params, String what, String lower) {
        long heap = Runtime.getRuntime().maxMemory();
        double need = n * (8.0 * params.maxTokens() + COMPLETION_OVERHEAD_BYTES);
        if (need <= heap) {
            return null;
        }
        return String.format(Locale.ROOT, "%s of up to --max-tokens %d tokens, which take at least %.1f GiB, more than the Java heap"
                        + " of %.1f GiB: lower %s or --max-tokens, or give Java more heap (-Xmx, in ALIGN4J_JAVA_OPTS)",
                what, params.maxTokens(), need / (1L << 30), heap / (double) (1L << 30), lower);
    }

    public SamplerOptions options() {
        return options;
    }

    public SamplingParams params() {
        return params;
    }

    /** Time spent so far in llama_decode, in sampling and in the log-prob gather. */
    public EngineTimings timings() {
        return timings;
    }

    /** Null if the request fits, else why not and what to change (for the caller's message naming the record). */
    public String checkFits(SampleRequest r) {
        int need = r.prompt().length + params.maxTokens();
        if (need > options.maxSeqLen()) {
            return "prompt of " + r.prompt().length + " tokens + --max-tokens " + params.maxTokens() + " = " + need
                    + " tokens, more than --ctx " + options.maxSeqLen() + " (raise --ctx or lower --max-tokens)";
        }
        return null;
    }

    /**
     * Queues a request. {@code onDone} runs once all its completions are sampled, in submission order,
     * during a later {@code submit} or {@link #finish()}. Returns when no more than one step's worth of
     * completions ({@code maxSeqs}) waits to start, so the caller reads ahead only that far.
     *
     * @throws IllegalArgumentException if the request does not fit ({@link #checkFits})
     * @throws Align4jException         if its completions cannot fit in the Java heap ({@link #checkCompletions}),
     *                                  or the model gives non-finite logits while this or an earlier request is sampled
     */
    public void submit(SampleRequest r, Consumer<SampleResult> onDone) {
        String misfit = checkFits(r);
        if (misfit != null) {
            throw new IllegalArgumentException(misfit);
        }
        String tooMany = completionsMisfit(r.n(), params, "request " + r.key() + " asks for " + r.n() + " completions",
                "the completions per prompt (-n, --candidates)");
        if (tooMany != null) {
            throw new Align4jException(tooMany);
        }
        used = true;
        Work w = new Work(r, onDone);
        inOrder.add(w);
        unstarted.add(w);
        unstartedCompletions += r.n();
        while (unstartedCompletions > options.maxSeqs()) {
            step();
        }
    }

    /**
     * Samples everything queued; every submitted request's callback has run when this returns, and the
     * sampler is left as a new one ({@code restart}).
     *
     * @throws Align4jException if the model gives non-finite logits for a request
     */
    public void finish() {
        while (!inOrder.isEmpty()) {
            step();
        }
        restart();
    }

    /**
     * Leaves the sampler as a new one: no KV cell used, head at cell 0, slots taken from sequence id 0
     * again. What is decoded next then lands in the same cells and batch rows as in a new sampler; CPU
     * arithmetic depends on both (README, "Resume and batch shape"), so a resumed run that starts here computes
     * what the uninterrupted one did.
     */
    private void restart() {
        ctx.clearMemory();
        free.clear();
        for (Slot s : slots) {
            s.work = null;
            free.add(s);
        }
    }

    /** Admit waiting work into free slots, decode once, sample, gather log-probs, report finished requests. */
    private void step() {
        admit();
        batch.clear();
        for (Slot s : slots) {
            if (s.live && s.generating) {
                s.row = batch.size();
                batch.add(s.tokens[s.length - 1], s.nextPos++, s.seq, true);
            }
        }
        for (PromptFeed f : feeding) {
            int[] prompt = f.work.request.prompt();
            while (f.fed < prompt.length && !batch.isFull()) {
                boolean last = f.fed == prompt.length - 1;
                if (last) {
                    f.row = batch.size();
                }
                batch.add(prompt[f.fed], f.fed, f.seqs, last);
                f.fed++;
            }
            if (batch.isFull()) {
                break;
            }
        }
        if (batch.size() == 0) {
            throw new IllegalStateException("sampler has " + inOrder.size() + " requests outstanding but nothing to decode");
        }
        long t0 = System.nanoTime();
        ctx.decode(batch);
        long t1 = System.nanoTime();
        timings.addDecode(batch.size(), t1 - t0);

        int n = 0;
        for (Slot s : slots) {
            if (s.row >= 0) {
                n = draw(s, s.row, n);
                s.row = -1;
            }
        }
        for (Iterator<PromptFeed> it = feeding.iterator(); it.hasNext(); ) {
            PromptFeed f = it.next();
            if (f.row >= 0) {
                for (Slot s : f.slots) { // one shared row: adjacent draws share one log-sum-exp
                    s.generating = true;
                    n = draw(s, f.row, n);
                }
                it.remove();
            }
        }
        long t2 = System.nanoTime();
        prepareDraws(n);
        long t3;
        try { // the gather's log-sum-exp of each row is what finds NaN or infinite logits
            sampler.sample(n, drawRow, drawSeed, drawWindowStart, drawWindow, drawToken);
            t3 = System.nanoTime();
            gather.gather(drawRow, drawToken, n, drawLogp);
        } catch (NonFiniteLogitsException e) {
            Slot s = drawSlot[e.index()];
            throw new Align4jException("model " + e.model() + " gives non-finite logits (NaN or infinity) at token " + s.length
                    + " of completion " + s.index + " of request " + s.work.request.key() + ": its weights may hold NaN or infinity", e);
        }
        timings.addSampling(t3 - t2);
        timings.addLogProbs(System.nanoTime() - t3);
        for (int i = 0; i < n; i++) {
            accept(drawSlot[i], drawToken[i], drawLogp[i]);
            drawSlot[i] = null;
        }
        report();
    }

    private int draw(Slot s, int row, int n) {
        drawSlot[n] = s;
        drawRow[n] = row;
        return n + 1;
    }

    /** Each draw's seed, the next from its completion's stream, and its repetition window: the last tokens of prompt and completion. */
    private void prepareDraws(int n) {
        int at = 0;
        for (int i = 0; i < n; i++) {
            Slot s = drawSlot[i];
            drawSeed[i] = s.rng.nextLong();
            drawWindowStart[i] = at;
            if (window > 0) {
                int[] prompt = s.work.request.prompt();
                int fromPrompt = Math.max(0, window - s.length);
                int p0 = Math.max(0, prompt.length - fromPrompt);
                System.arraycopy(prompt, p0, drawWindow, at, prompt.length - p0);
                at += prompt.length - p0;
                int t0 = Math.max(0, s.length - window);
                System.arraycopy(s.tokens, t0, drawWindow, at, s.length - t0);
                at += s.length - t0;
            }
        }
        drawWindowStart[n] = at;
    }

    /** Gives free slots to the oldest requests with completions not yet started. */
    private void admit() {
        while (!free.isEmpty() && !unstarted.isEmpty()) {
            Work w = unstarted.peekFirst();
            int k = Math.min(free.size(), w.request.n() - w.started);
            Slot[] chosen = takeFree(w, k);
            // Cells [0, keep) of the prompt can be shared; its last token is decoded again for each start, for a logits row.
            int keep = w.request.prompt().length - 1;
            Slot donor = donor(w, chosen);
            for (Slot s : chosen) {
                if (s.work == w) {
                    ctx.seqRm(s.seq, keep, -1);
                } else {
                    if (s.work != null) {
                        ctx.seqRm(s.seq, -1, -1);
                    }
                    if (donor != null && keep > 0) {
                        ctx.seqCp(donor.seq, s.seq, 0, keep);
                    }
                }
            }
            for (Slot s : chosen) {
                start(s, w);
            }
            unstartedCompletions -= k;
            if (w.started == w.request.n()) {
                unstarted.pollFirst();
            }
            feeding.add(new PromptFeed(w, chosen, donor == null ? 0 : keep));
        }
    }

    /** {@code k} free slots, those still holding {@code w}'s prompt first. */
    private Slot[] takeFree(Work w, int k) {
        Slot[] chosen = new Slot[k];
        int c = 0;
        for (Iterator<Slot> it = free.iterator(); it.hasNext() && c < k; ) {
            Slot s = it.next();
            if (s.work == w) {
                chosen[c++] = s;
                it.remove();
            }
        }
        while (c < k) {
            chosen[c++] = free.poll();
        }
        return chosen;
    }

    /** A sequence whose cells hold {@code w}'s whole prompt, or null. */
    private Slot donor(Work w, Slot[] chosen) {
        for (Slot s : chosen) {
            if (s.work == w) {
                return s;
            }
        }
        for (Slot s : slots) {
            if (s.live && s.generating && s.work == w) {
                return s;
            }
        }
        return null;
    }

    private void start(Slot s, Work w) {
        int[] prompt = w.request.prompt();
        s.work = w;
        s.index = w.started++;
        s.live = true;
        s.generating = false;
        s.length = 0;
        s.textLength = 0;
        s.nextPos = prompt.length;
        s.row = -1;
        s.rng = new SplittableRandom(params.keySeed(w.request.key(), s.index));
    }

    /** Records a sampled token and ends the completion if it stops here. */
    private void accept(Slot s, int token, float logp) {
        s.tokens[s.length] = token;
        s.logps[s.length] = logp;
        s.length++;
        if (vocab.isEog(token)) {
            complete(s, FinishReason.EOS);
            return;
        }
        int before = s.textLength;
        s.appendText(pieces.of(token));
        if (!stops.isEmpty()) {
            int at = stops.find(s.text, s.textLength, before);
            if (at >= 0) {
                s.textLength = at;
                complete(s, FinishReason.STOP);
                return;
            }
        }
        if (s.length == params.maxTokens()) {
            complete(s, FinishReason.LENGTH);
        }
    }

    private void complete(Slot s, FinishReason why) {
        Work w = s.work;
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            sum += s.logps[i];
        }
        w.completions[s.index] = new Completion(Arrays.copyOf(s.tokens, s.length),
                new String(s.text, 0, s.textLength, StandardCharsets.UTF_8), Arrays.copyOf(s.logps, s.length), sum, why);
        w.finished++;
        s.rng = null;
        s.live = false;
        s.generating = false;
        if (w.started == w.request.n()) { // no sibling left to start: nothing will reuse these cells
            ctx.seqRm(s.seq, -1, -1);
            s.work = null;
        }
        free.add(s);
    }

    private void report() {
        while (!inOrder.isEmpty() && inOrder.peekFirst().done()) {
            Work w = inOrder.pollFirst();
            w.onDone.accept(new SampleResult(w.request, Arrays.asList(w.completions)));
        }
    }

    @Override
    public void close() {
        gather.close();
        sampler.close();
        batch.close();
        ctx.close();
    }
}
