package org.align4j.gguf;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Llama-family architectures whose graph the trainer computes, with what sets each apart in
 * llama.cpp (src/models/llama.cpp, qwen2.cpp, qwen3.cpp): the RoPE mode (llama-model.cpp's
 * llama_model_rope_type) and which tensors it requires and which it reads when present. Everything
 * else about a file (widths, head width, RoPE base and scaling) is in its {@link LlamaShape}.
 */
public enum Architecture {
    /** Llama 1-3, Mistral: adjacent RoPE pairs, Llama 3's rope_freqs, optional biases on every projection. */
    LLAMA("llama", RopeMode.NORM, true, EnumSet.noneOf(LlamaTensor.class), EnumSet.noneOf(LlamaTensor.class), EnumSet.of(
            LlamaTensor.ROPE_FREQS, LlamaTensor.OUTPUT,
            LlamaTensor.ATTN_Q_BIAS, LlamaTensor.ATTN_K_BIAS, LlamaTensor.ATTN_V_BIAS, LlamaTensor.ATTN_OUTPUT_BIAS,
            LlamaTensor.FFN_GATE_BIAS, LlamaTensor.FFN_UP_BIAS, LlamaTensor.FFN_DOWN_BIAS)),
    /**
     * Qwen2, Qwen2.5: NEOX RoPE, biases on q, k and v (its converter always writes them), optional output
     * bias; q is C wide whatever key_length says.
     */
    QWEN2("qwen2", RopeMode.NEOX, false, EnumSet.noneOf(LlamaTensor.class),
            EnumSet.of(LlamaTensor.ATTN_Q_BIAS, LlamaTensor.ATTN_K_BIAS, LlamaTensor.ATTN_V_BIAS), EnumSet.of(
            LlamaTensor.OUTPUT, LlamaTensor.OUTPUT_BIAS,
            LlamaTensor.ATTN_Q_BIAS, LlamaTensor.ATTN_K_BIAS, LlamaTensor.ATTN_V_BIAS)),
    /** Qwen3: NEOX RoPE, RMSNorm over each head of q and k before RoPE, head width from key_length. */
    QWEN3("qwen3", RopeMode.NEOX, true, EnumSet.of(LlamaTensor.ATTN_Q_NORM, LlamaTensor.ATTN_K_NORM), EnumSet.noneOf(LlamaTensor.class), EnumSet.of(
            LlamaTensor.OUTPUT, LlamaTensor.ATTN_Q_BIAS, LlamaTensor.ATTN_K_BIAS, LlamaTensor.ATTN_V_BIAS));

    /**
     * How RoPE pairs the values of a head of width D (ggml-cpu/ops.cpp, rotate_pairs): NORM turns
     * adjacent pairs (2p, 2p + 1), NEOX pairs (p, p + D/2); pair p turns by pos * base^(-2p/D) either way.
     */
    public enum RopeMode { NORM, NEOX }

    private final String ggufName;
    private final RopeMode rope;
    private final boolean ownHeadDim;
    private final Set<LlamaTensor> required;
    private final Set<LlamaTensor> optional;
    private final Set<LlamaTensor> conventional;

    Architecture(String ggufName, RopeMode rope, boolean ownHeadDim, Set<LlamaTensor> extraRequired, Set<LlamaTensor> conventional,
                 Set<LlamaTensor> optional) {
        this.ggufName = ggufName;
        this.rope = rope;
        this.ownHeadDim = ownHeadDim;
        EnumSet<LlamaTensor> req = EnumSet.of(LlamaTensor.TOKEN_EMBD, LlamaTensor.OUTPUT_NORM, LlamaTensor.ATTN_NORM,
                LlamaTensor.ATTN_Q, LlamaTensor.ATTN_K, LlamaTensor.ATTN_V, LlamaTensor.ATTN_OUTPUT, LlamaTensor.FFN_NORM,
                LlamaTensor.FFN_GATE, LlamaTensor.FFN_UP, LlamaTensor.FFN_DOWN);
        req.addAll(extraRequired);
        this.required = Set.copyOf(req);
        this.optional = Set.copyOf(optional);
        this.conventional = Set.copyOf(conventional);
    }

    /** general.architecture, and the prefix of the file's hyper-parameter keys. */
    public String ggufName() {
        return ggufName;
    }

    public RopeMode rope() {
        return rope;
    }

    /**
     * Whether the head width may differ from C / H (key_length): llama.cpp makes q H * D wide for llama
     * and qwen3, C wide for qwen2.
     */
    public boolean allowsOwnHeadDim() {
        return ownHeadDim;
    }

    /** The tensors a file of this architecture must hold. */
    public Set<LlamaTensor> required() {
        return required;
    }

    /** The tensors llama.cpp reads when a file holds them (an absent output.weight means a tied output). */
    public Set<LlamaTensor> optional() {
        return optional;
    }

    /** The optional tensors this architecture's Hugging Face models have, which its converter writes (qwen2's q/k/v biases). */
    public Set<LlamaTensor> conventional() {
        return conventional;
    }

    /** The hyper-parameter key {@code <architecture>.<suffix>}, e.g. {@code qwen2.block_count}. */
    public String key(String suffix) {
        return ggufName + "." + suffix;
    }

    /** The architecture whose general.architecture is {@code name}, if the trainer implements it. */
    public static Optional<Architecture> named(String name) {
        return Arrays.stream(values()).filter(a -> a.ggufName.equals(name)).findFirst();
    }

    /** "llama, qwen2, qwen3". */
    public static String names() {
        return Arrays.stream(values()).map(Architecture::ggufName).collect(Collectors.joining(", "));
    }
}
