package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.align4j.llama.LlamaLayouts.LLAMA_BATCH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Owns one {@code llama_batch} from {@code llama_batch_init}: room for {@code capacity} tokens, each in
 * up to {@code nSeqMax} sequences. Fill with {@link #add}, hand to {@link Context#decode}, {@link #clear}.
 */
public final class Batch implements AutoCloseable {
    private static final VarHandle N_TOKENS = LlamaLayouts.field(LLAMA_BATCH, "n_tokens");
    private static final VarHandle TOKEN = LlamaLayouts.field(LLAMA_BATCH, "token");
    private static final VarHandle POS = LlamaLayouts.field(LLAMA_BATCH, "pos");
    private static final VarHandle N_SEQ_ID = LlamaLayouts.field(LLAMA_BATCH, "n_seq_id");
    private static final VarHandle SEQ_ID = LlamaLayouts.field(LLAMA_BATCH, "seq_id");
    private static final VarHandle LOGITS = LlamaLayouts.field(LLAMA_BATCH, "logits");

    private final int capacity;
    private final int nSeqMax;
    private Arena arena;
    private final MemorySegment struct; // llama_batch, by value, in our arena
    private final MemorySegment token;  // (capacity,) int32
    private final MemorySegment pos;    // (capacity,) int32
    private final MemorySegment nSeqId; // (capacity,) int32
    private final MemorySegment[] seqIds; // capacity x (nSeqMax,) int32, llama.cpp's rows
    private final MemorySegment logits; // (capacity,) int8
    private final int[] outputOrdinal;  // (capacity,) how many output rows precede each row; -1 if it is none
    private int n;
    private int nOutputs;

    public Batch(int capacity, int nSeqMax) {
        if (capacity < 1 || nSeqMax < 1) {
            throw new IllegalArgumentException("batch capacity and nSeqMax must be positive");
        }
        Llama.ensureLoaded();
        this.capacity = capacity;
        this.nSeqMax = nSeqMax;
        this.arena = Arena.ofShared();
        this.struct = Llama.llama_batch_init(arena, capacity, 0, nSeqMax);
        this.token = array(TOKEN, JAVA_INT.byteSize());
        this.pos = array(POS, JAVA_INT.byteSize());
        this.nSeqId = array(N_SEQ_ID, JAVA_INT.byteSize());
        this.logits = array(LOGITS, 1);
        this.outputOrdinal = new int[capacity];
        MemorySegment rows = array(SEQ_ID, ADDRESS.byteSize());
        this.seqIds = new MemorySegment[capacity];
        for (int i = 0; i < capacity; i++) {
            seqIds[i] = rows.getAtIndex(ADDRESS, i).reinterpret(nSeqMax * JAVA_INT.byteSize());
        }
    }

    private MemorySegment array(VarHandle field, long elementBytes) {
        return ((MemorySegment) field.get(struct, 0L)).reinterpret(capacity * elementBytes);
    }

    public int capacity() {
        return capacity;
    }

    public int size() {
        return n;
    }

    public boolean isFull() {
        return n == capacity;
    }

    public void clear() {
        n = 0;
        nOutputs = 0;
    }

    /** Rows added so far that ask for output. */
    public int outputs() {
        return nOutputs;
    }

    /** Rows before {@code row} that ask for output, if it asks for one; else -1. */
    int outputOrdinal(int row) {
        return outputOrdinal[row];
    }

    /** Adds a token at {@code position} of sequence {@code seq}; {@code output}: compute its logits. */
    public void add(int tokenId, int position, int seq, boolean output) {
        checkRoom();
        nSeqId.setAtIndex(JAVA_INT, n, 1);
        seqIds[n].setAtIndex(JAVA_INT, 0, seq);
        put(tokenId, position, output);
    }

    /** Adds a token shared by several sequences (for example a common prompt). */
    public void add(int tokenId, int position, int[] seqs, boolean output) {
        checkRoom();
        if (seqs.length < 1 || seqs.length > nSeqMax) {
            throw new IllegalArgumentException("a token belongs to 1.." + nSeqMax + " sequences, not " + seqs.length);
        }
        nSeqId.setAtIndex(JAVA_INT, n, seqs.length);
        MemorySegment.copy(seqs, 0, seqIds[n], JAVA_INT, 0, seqs.length);
        put(tokenId, position, output);
    }

    private void checkRoom() {
        if (n == capacity) {
            throw new IllegalStateException("batch is full (" + capacity + " tokens)");
        }
    }

    private void put(int tokenId, int position, boolean output) {
        token.setAtIndex(JAVA_INT, n, tokenId);
        pos.setAtIndex(JAVA_INT, n, position);
        logits.set(JAVA_BYTE, n, (byte) (output ? 1 : 0));
        outputOrdinal[n] = output ? nOutputs++ : -1;
        n++;
    }

    /** The struct to pass by value, with n_tokens set to what was added. */
    MemorySegment struct() {
        if (arena == null) {
            throw new IllegalStateException("batch is closed");
        }
        N_TOKENS.set(struct, 0L, n);
        return struct;
    }

    @Override
    public void close() {
        if (arena != null) {
            Llama.llama_batch_free(struct);
            arena.close();
            arena = null;
        }
    }
}
