package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.align4j.llama.LlamaLayouts.LLAMA_CONTEXT_PARAMS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.List;
import org.align4j.Align4jException;

/**
 * Owns one {@code llama_context*}: a KV cache and compute buffers for one model. Not thread-safe: one
 * thread decodes at a time. Closed before its model (the model closes any still open).
 */
public final class Context implements AutoCloseable {
    private static final VarHandle N_CTX = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_ctx");
    private static final VarHandle N_BATCH = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_batch");
    private static final VarHandle N_UBATCH = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_ubatch");
    private static final VarHandle N_SEQ_MAX = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_seq_max");
    private static final VarHandle N_THREADS = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_threads");
    private static final VarHandle N_THREADS_BATCH = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "n_threads_batch");
    private static final VarHandle KV_UNIFIED = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "kv_unified");
    private static final VarHandle NO_PERF = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "no_perf");
    private static final VarHandle FLASH_ATTN_TYPE = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "flash_attn_type");
    private static final VarHandle EMBEDDINGS = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "embeddings");
    private static final VarHandle POOLING_TYPE = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "pooling_type");
    private static final VarHandle CB_EVAL = LlamaLayouts.field(LLAMA_CONTEXT_PARAMS, "cb_eval");
    private static final int LLAMA_POOLING_TYPE_NONE = 0;

    private final Model model;
    private final int nVocab;
    private MemorySegment handle;
    private final MemorySegment memory; // llama_memory_t of this context
    private final ContextOptions.HiddenStates hiddenStates;
    private final HiddenStateCapture capture; // for HiddenStates.OUTPUT_ROWS, else null
    private int[] lastOutputOrdinals = new int[0]; // (lastRows,) Batch.outputOrdinal of the last decode's rows
    private int lastRows;

    private Context(Model model, MemorySegment handle, ContextOptions.HiddenStates hiddenStates, HiddenStateCapture capture) {
        this.model = model;
        this.handle = handle;
        this.nVocab = model.vocab().nTokens();
        this.memory = Llama.llama_get_memory(handle);
        this.hiddenStates = hiddenStates;
        this.capture = capture;
    }

    public static Context create(Model model, ContextOptions o) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Llama.llama_context_default_params(arena);
            N_CTX.set(params, 0L, o.nCtx());
            N_BATCH.set(params, 0L, o.nBatch());
            N_UBATCH.set(params, 0L, o.nUbatch());
            N_SEQ_MAX.set(params, 0L, o.nSeqMax());
            N_THREADS.set(params, 0L, o.nThreads());
            N_THREADS_BATCH.set(params, 0L, o.nThreads());
            KV_UNIFIED.set(params, 0L, o.kvUnified());
            NO_PERF.set(params, 0L, true);
            FLASH_ATTN_TYPE.set(params, 0L, o.flashAttention().code);
            HiddenStateCapture capture = null;
            switch (o.hiddenStates()) {
                case NONE -> {}
                case OUTPUT_ROWS -> {
                    capture = new HiddenStateCapture(model.nEmbd(), o.nBatch());
                    CB_EVAL.set(params, 0L, capture.callback());
                }
                case EVERY_TOKEN -> {
                    EMBEDDINGS.set(params, 0L, true);
                    POOLING_TYPE.set(params, 0L, LLAMA_POOLING_TYPE_NONE);
                }
            }
            LlamaLog.drainRecentErrors();
            MemorySegment ctx = Llama.llama_init_from_model(model.handle(), params);
            if (ctx.equals(MemorySegment.NULL)) {
                String why = LlamaLog.drainRecentErrors();
                if (capture != null) {
                    capture.close();
                }
                throw new Align4jException("cannot create a context for " + model.path() + " with " + o
                        + (why.isEmpty() ? "" : ": " + why));
            }
            Context c = new Context(model, ctx, o.hiddenStates(), capture);
            model.adopt(c);
            return c;
        }
    }

    public Model model() {
        return model;
    }

    public int nCtx() {
        return Llama.llama_n_ctx(handle());
    }

    public int nBatch() {
        return Llama.llama_n_batch(handle());
    }

    public int nUbatch() {
        return Llama.llama_n_ubatch(handle());
    }

    public int nSeqMax() {
        return Llama.llama_n_seq_max(handle());
    }

    public int nVocab() {
        return nVocab;
    }

    /**
     * Runs the model on the batch and waits for the device to finish (llama_decode returns while a GPU may still
     * compute, and copy the logits, so without the wait that time would count against whatever reads them first);
     * throws {@link DecodeException} with llama.h's status on failure.
     */
    public void decode(Batch batch) {
        if (batch.size() == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        if (capture != null) {
            capture.reset();
        }
        int rc = Llama.llama_decode(handle(), batch.struct());
        if (rc != 0) {
            throw new DecodeException(rc, LlamaLog.drainRecentErrors());
        }
        Llama.llama_synchronize(handle());
        if (capture != null) {
            if (capture.failure() != null || capture.rows() != batch.outputs()) {
                throw new Align4jException("cannot read the hidden states of " + model.path() + ": "
                        + (capture.failure() != null ? capture.failure()
                        : "llama.cpp computed " + capture.rows() + " rows of result_norm for " + batch.outputs() + " output rows"));
            }
            if (lastOutputOrdinals.length < batch.size()) {
                lastOutputOrdinals = new int[batch.capacity()];
            }
            for (int i = 0; i < batch.size(); i++) {
                lastOutputOrdinals[i] = batch.outputOrdinal(i);
            }
            lastRows = batch.size();
        }
    }

    /**
     * Copies the final hidden state (after the output norm; (n_embd,) float32) at batch row {@code row} of the
     * last decode into {@code dst}. With {@link ContextOptions.HiddenStates#OUTPUT_ROWS} the row must have
     * asked for output; with {@link ContextOptions.HiddenStates#EVERY_TOKEN} every row has one.
     */
    public void hiddenState(int row, float[] dst) {
        int nEmbd = model.nEmbd();
        if (dst.length < nEmbd) {
            throw new IllegalArgumentException("room for " + dst.length + " floats, and the hidden state has " + nEmbd);
        }
        switch (hiddenStates) {
            case NONE -> throw new IllegalStateException("this context was made without hidden states");
            case OUTPUT_ROWS -> {
                int ordinal = row >= 0 && row < lastRows ? lastOutputOrdinals[row] : -1;
                if (ordinal < 0) {
                    throw new IllegalArgumentException("row " + row + " of the last batch asked for no output");
                }
                capture.copyRow(ordinal, dst);
            }
            case EVERY_TOKEN -> {
                MemorySegment p = Llama.llama_get_embeddings_ith(handle(), row);
                if (p.equals(MemorySegment.NULL)) {
                    throw new IllegalArgumentException("no hidden state for row " + row + " of the last batch");
                }
                MemorySegment.copy(p.reinterpret(nEmbd * JAVA_FLOAT.byteSize()), JAVA_FLOAT, 0, dst, 0, nEmbd);
            }
        }
    }

    /**
     * Logits of the {@code i}-th output of the last decode (negative i counts from the end), shape
     * (n_vocab,) float32. The view is valid until the next decode on this context.
     */
    public MemorySegment logits(int i) {
        MemorySegment p = Llama.llama_get_logits_ith(handle(), i);
        if (p.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException("no logits for output " + i + " of the last batch");
        }
        return p.reinterpret(nVocab * JAVA_FLOAT.byteSize());
    }

    /**
     * Raw log-probs (log-softmax of the logits at temperature 1) of {@code targets[k]} at output row
     * {@code rows[k]} of the last decode, for k < n, into {@code out}; computed natively over
     * llama.cpp's logits in place. Equal rows next to each other share one log-sum-exp. A caller that
     * gathers after every decode reuses its native buffers with a {@link LogProbGather}.
     *
     * @throws NonFiniteLogitsException if a log-prob is not finite (NaN or infinite logits in its row); its
     *                                  index is the k
     */
    public void tokenLogProbs(int[] rows, int[] targets, int n, float[] out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(JAVA_INT, n);
            MemorySegment t = arena.allocate(JAVA_INT, n);
            MemorySegment o = arena.allocate(JAVA_FLOAT, n);
            MemorySegment.copy(rows, 0, r, JAVA_INT, 0, n);
            MemorySegment.copy(targets, 0, t, JAVA_INT, 0, n);
            LogProbGather.check(Llama.align4j_token_logprobs(handle(), r, t, n, o), this, rows, targets, n);
            MemorySegment.copy(o, JAVA_FLOAT, 0, out, 0, n);
        }
    }

    /**
     * The {@code k} most probable tokens at output row {@code row} of the last decode, most probable first.
     *
     * @throws NonFiniteLogitsException if the row's logits hold a NaN or an infinity
     */
    public TopLogProbs topLogProbs(int row, int k) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(JAVA_INT, k);
            MemorySegment logps = arena.allocate(JAVA_FLOAT, k);
            int got = Llama.align4j_top_logprobs(handle(), row, k, ids, logps);
            if (got == -2) {
                throw new NonFiniteLogitsException(model.path(), row, 0);
            }
            if (got < 0) {
                throw new IllegalArgumentException("no logits for output row " + row + " of the last batch");
            }
            return new TopLogProbs(ids.asSlice(0, got * JAVA_INT.byteSize()).toArray(JAVA_INT),
                    logps.asSlice(0, got * JAVA_FLOAT.byteSize()).toArray(JAVA_FLOAT));
        }
    }

    /** Removes positions [p0, p1) of sequence {@code seq} (-1: all sequences; p1 = -1: to the end). */
    public boolean seqRm(int seq, int p0, int p1) {
        return Llama.llama_memory_seq_rm(memory(), seq, p0, p1);
    }

    /** Makes positions [p0, p1) of {@code src} part of {@code dst} too (shares the KV cells). */
    public void seqCp(int src, int dst, int p0, int p1) {
        Llama.llama_memory_seq_cp(memory(), src, dst, p0, p1);
    }

    /** Largest position stored for {@code seq}, or -1 if it is empty. */
    public int seqPosMax(int seq) {
        return Llama.llama_memory_seq_pos_max(memory(), seq);
    }

    /**
     * Applies {@code adapters} with {@code scales} (one each) to every sequence of this context from the
     * next decode on, replacing any set before (none: the base alone). llama.cpp keeps the KV cache:
     * cells computed under other adapters stay as they are, so a caller that switches clears them.
     */
    public void setAdapters(List<LoraAdapter> adapters, float[] scales) {
        if (adapters.size() != scales.length) {
            throw new IllegalArgumentException(adapters.size() + " adapters but " + scales.length + " scales");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handles = arena.allocate(ValueLayout.ADDRESS, Math.max(1, adapters.size()));
            for (int i = 0; i < adapters.size(); i++) {
                handles.setAtIndex(ValueLayout.ADDRESS, i, adapters.get(i).handle());
            }
            MemorySegment s = adapters.isEmpty() ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_FLOAT, scales);
            int rc = Llama.llama_set_adapters_lora(handle(), adapters.isEmpty() ? MemorySegment.NULL : handles, adapters.size(), s);
            if (rc != 0) {
                throw new Align4jException("llama_set_adapters_lora returned " + rc + " for " + adapters.size() + " adapters ("
                        + LlamaLog.drainRecentErrors() + ")");
            }
        }
    }

    /**
     * Empties the KV cache: every cell free, the search for free cells starting at cell 0 again, as in a new
     * context. The cells' old values stay in the buffer: a free cell is masked for every token until it is
     * written, so they add exact zeros and nothing is gained by wiping them (which costs a pass over the cache).
     */
    public void clearMemory() {
        Llama.llama_memory_clear(memory(), false);
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("context is closed");
        }
        return handle;
    }

    private MemorySegment memory() {
        handle();
        return memory;
    }

    @Override
    public void close() {
        if (handle != null) {
            Llama.llama_free(handle);
            handle = null;
            if (capture != null) {
                capture.close(); // after the context: its graph calls back until freed
            }
            model.release(this);
        }
    }
}
