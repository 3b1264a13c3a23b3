package org.align4j.gguf;

/**
 * The hyper-parameters of a Llama-architecture model. Head dimension = embd / heads; query heads
 * share KV heads in groups of heads / kvHeads. {@code tiedOutput}: the output projection reuses
 * token_embd (no output.weight tensor).
 */
public record LlamaShape(int layers, int embd, int heads, int kvHeads, int ffn, int ctx,
                         float ropeTheta, float rmsEps, boolean tiedOutput) {

    public LlamaShape {
        positive("layers", layers);
        positive("embd", embd);
        positive("heads", heads);
        positive("kv-heads", kvHeads);
        positive("ffn", ffn);
        positive("ctx", ctx);
        if (embd % heads != 0) {
            throw new IllegalArgumentException("embd " + embd + " is not divisible by heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv-heads " + kvHeads);
        }
        if (!(ropeTheta > 0) || !(rmsEps > 0)) {
            throw new IllegalArgumentException("rope theta and RMS epsilon must be positive");
        }
    }

    public int headDim() {
        return embd / heads;
    }

    private static void positive(String name, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive, not " + v);
        }
    }
}
