package org.align4j.gguf;

/**
 * The hyper-parameters of a Llama-family model ({@link Architecture}). Query heads share KV heads in
 * groups of heads / kvHeads; each head is headDim wide ({@code <arch>.attention.key_length}, by
 * default embd / heads). RoPE turns by position / ropeLinearFactor ({@code rope.scaling.type =
 * linear}; 1: no scaling) times base ropeTheta's frequencies. {@code tiedOutput}: the output
 * projection reuses token_embd (no output.weight tensor).
 */
public record LlamaShape(Architecture architecture, int layers, int embd, int heads, int kvHeads, int headDim, int ffn, int ctx,
                         float ropeTheta, float ropeLinearFactor, float rmsEps, boolean tiedOutput) {

    public LlamaShape {
        positive("layers", layers);
        positive("embd", embd);
        positive("heads", heads);
        positive("kv-heads", kvHeads);
        positive("head-dim", headDim);
        positive("ffn", ffn);
        positive("ctx", ctx);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv-heads " + kvHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head-dim " + headDim + " is odd: RoPE turns pairs of values");
        }
        if (!architecture.allowsOwnHeadDim() && (long) heads * headDim != embd) {
            throw new IllegalArgumentException(architecture.ggufName() + " has heads * head-dim = embd, not "
                    + heads + " * " + headDim + " = " + (long) heads * headDim + " with embd " + embd);
        }
        if (!(ropeTheta > 0) || !(rmsEps > 0)) {
            throw new IllegalArgumentException("rope theta and RMS epsilon must be positive");
        }
        if (!(ropeLinearFactor > 0) || Float.isInfinite(ropeLinearFactor)) {
            throw new IllegalArgumentException("the linear RoPE scaling factor must be positive, not " + ropeLinearFactor);
        }
    }

    /** A {@code llama} shape with head width embd / heads and no RoPE scaling. */
    public LlamaShape(int layers, int embd, int heads, int kvHeads, int ffn, int ctx, float ropeTheta, float rmsEps, boolean tiedOutput) {
        int headDim = divide(embd, heads);
        this(Architecture.LLAMA, layers, embd, heads, kvHeads, headDim, ffn, ctx, ropeTheta, 1f, rmsEps, tiedOutput);
    }

    public LlamaShape withArchitecture(Architecture a) {
        return new LlamaShape(a, layers, embd, heads, kvHeads, headDim, ffn, ctx, ropeTheta, ropeLinearFactor, rmsEps, tiedOutput);
    }

    public LlamaShape withHeadDim(int d) {
        return new LlamaShape(architecture, layers, embd, heads, kvHeads, d, ffn, ctx, ropeTheta, ropeLinearFactor, rmsEps, tiedOutput);
    }

    public LlamaShape withRopeLinearFactor(float factor) {
        return new LlamaShape(architecture, layers, embd, heads, kvHeads, headDim, ffn, ctx, ropeTheta, factor, rmsEps, tiedOutput);
    }

    /** Q, the width of all query heads together: heads * headDim. */
    public int queryWidth() {
        return Math.multiplyExact(heads, headDim);
    }

    /** K, the width of all key (or value) heads together: kvHeads * headDim. */
    public int kvWidth() {
        return Math.multiplyExact(kvHeads, headDim);
    }

    private static int divide(int embd, int heads) {
        positive("embd", embd);
        positive("heads", heads);
        if (embd % heads != 0) {
            throw new IllegalArgumentException("embd " + embd + " is not divisible by heads " + heads);
        }
        return embd / heads;
    }

    private static void positive(String name, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive, not " + v);
        }
    }
}
