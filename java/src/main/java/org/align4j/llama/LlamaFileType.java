package org.align4j.llama;

/**
 * llama.h's {@code enum llama_ftype} (by its C value): the file types align4j asks
 * {@link ModelQuantizer} for. A "mostly" type names the main type; llama.cpp chooses each tensor's own
 * (Q4_K_M keeps some tensors in Q6_K, 1-D tensors stay F32, rows that are not whole blocks fall back).
 */
public enum LlamaFileType {
    MOSTLY_Q4_0(2),
    MOSTLY_Q8_0(7),
    MOSTLY_Q4_K_M(15),
    MOSTLY_Q5_K_M(17),
    MOSTLY_Q6_K(18),
    MOSTLY_BF16(32);

    private final int id;

    LlamaFileType(int id) {
        this.id = id;
    }

    /** The C enum's value, as {@code general.file_type} stores it. */
    public int id() {
        return id;
    }
}
