package org.align4j.gguf;

/**
 * The tensors a Llama-family GGUF may hold, by llama.cpp's names (llama-arch.cpp), with their dims as
 * the hyper-parameters give them, ne0-first: a weight [in, out] maps rows of {@code in} values to
 * {@code out} values. Which ones a file must or may hold is its {@link Architecture}'s. Declared in
 * the order the synthetic models write them.
 */
public enum LlamaTensor {
    /** Llama 3's RoPE frequency factors, one per pair of head values: the frequencies are divided by them. */
    ROPE_FREQS("rope_freqs.weight", Kind.FREQ_FACTORS, false),
    TOKEN_EMBD("token_embd.weight", Kind.MATRIX, false),
    ATTN_NORM("attn_norm.weight", Kind.NORM, true),
    ATTN_Q("attn_q.weight", Kind.MATRIX, true),
    ATTN_Q_BIAS("attn_q.bias", Kind.BIAS, true),
    ATTN_K("attn_k.weight", Kind.MATRIX, true),
    ATTN_K_BIAS("attn_k.bias", Kind.BIAS, true),
    ATTN_V("attn_v.weight", Kind.MATRIX, true),
    ATTN_V_BIAS("attn_v.bias", Kind.BIAS, true),
    /** RMSNorm weight over each head of q, before RoPE (qwen3). */
    ATTN_Q_NORM("attn_q_norm.weight", Kind.NORM, true),
    ATTN_K_NORM("attn_k_norm.weight", Kind.NORM, true),
    ATTN_OUTPUT("attn_output.weight", Kind.MATRIX, true),
    ATTN_OUTPUT_BIAS("attn_output.bias", Kind.BIAS, true),
    FFN_NORM("ffn_norm.weight", Kind.NORM, true),
    FFN_GATE("ffn_gate.weight", Kind.MATRIX, true),
    FFN_GATE_BIAS("ffn_gate.bias", Kind.BIAS, true),
    FFN_UP("ffn_up.weight", Kind.MATRIX, true),
    FFN_UP_BIAS("ffn_up.bias", Kind.BIAS, true),
    FFN_DOWN("ffn_down.weight", Kind.MATRIX, true),
    FFN_DOWN_BIAS("ffn_down.bias", Kind.BIAS, true),
    OUTPUT_NORM("output_norm.weight", Kind.NORM, false),
    OUTPUT("output.weight", Kind.MATRIX, false),
    OUTPUT_BIAS("output.bias", Kind.BIAS, false);

    /** What a tensor is for: how it is initialised, stored and trained. */
    public enum Kind { MATRIX, BIAS, NORM, FREQ_FACTORS }

    private final String suffix;
    private final Kind kind;
    private final boolean perBlock;

    LlamaTensor(String suffix, Kind kind, boolean perBlock) {
        this.suffix = suffix;
        this.kind = kind;
        this.perBlock = perBlock;
    }

    public Kind kind() {
        return kind;
    }

    /** One per block ({@code blk.N.<name>}) or one per model. */
    public boolean perBlock() {
        return perBlock;
    }

    /** Its name in block {@code block}; a model-wide tensor's name whatever the block. */
    public String nameIn(int block) {
        return perBlock ? "blk." + block + "." + suffix : suffix;
    }

    /** The name of a model-wide tensor. */
    public String ggufName() {
        if (perBlock) {
            throw new IllegalStateException(this + " is one per block");
        }
        return suffix;
    }

    /**
     * ne0-first dims, with C embd, Q = H * D the query width, K = G * D the key/value width, F ffn, V
     * the vocabulary and D the head width.
     */
    public long[] dims(LlamaShape s, int vocab) {
        long c = s.embd();
        long q = (long) s.heads() * s.headDim();
        long k = (long) s.kvHeads() * s.headDim();
        long f = s.ffn();
        return switch (this) {
            case ROPE_FREQS -> new long[] {s.headDim() / 2};
            case TOKEN_EMBD, OUTPUT -> new long[] {c, vocab};
            case OUTPUT_BIAS -> new long[] {vocab};
            case ATTN_NORM, FFN_NORM, OUTPUT_NORM, ATTN_OUTPUT_BIAS, FFN_DOWN_BIAS -> new long[] {c};
            case ATTN_Q -> new long[] {c, q};
            case ATTN_Q_BIAS -> new long[] {q};
            case ATTN_K, ATTN_V -> new long[] {c, k};
            case ATTN_K_BIAS, ATTN_V_BIAS -> new long[] {k};
            case ATTN_Q_NORM, ATTN_K_NORM -> new long[] {s.headDim()};
            case ATTN_OUTPUT -> new long[] {q, c};
            case FFN_GATE, FFN_UP -> new long[] {c, f};
            case FFN_GATE_BIAS, FFN_UP_BIAS -> new long[] {f};
            case FFN_DOWN -> new long[] {f, c};
        };
    }
}
