package org.align4j.bench;

import org.align4j.gguf.LlamaShape;

/** The weight arithmetic of a Llama shape that the scoring and DPO reports explain their figures with. */
final class LlamaFlops {
    private LlamaFlops() {}

    /** Parameters of the blocks' projection matrices (q, k, v, o, gate, up, down), all layers: the multiply-adds per token through them. */
    static long blockMatmulParams(LlamaShape sh) {
        long c = sh.embd();
        long k = (long) sh.kvHeads() * sh.headDim();
        return sh.layers() * (2 * c * c + 2 * c * k + 3 * c * sh.ffn());
    }
}
