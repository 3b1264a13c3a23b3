package org.align4j.train;

import java.util.Arrays;
import org.align4j.gguf.LlamaShape;

/**
 * The Llama forward pass in plain Java, computed the way llama.cpp's graph for general.architecture =
 * llama computes it (src/models/llama.cpp): per block, x += wo . attention(rope(wq . n), rope(wk . n),
 * wv . n) with n = rmsNorm(x), then x += wDown . (silu(wGate . n) * wUp . n) with n = rmsNorm(x); then
 * logits = output . rmsNorm(x). One sequence, positions 0..T-1, no KV cache: the independent oracle
 * the native scoring path is tested against.
 */
public final class ReferenceForward {
    private final LlamaWeights weights;
    private final LlamaShape shape;

    public ReferenceForward(LlamaWeights weights) {
        this.weights = weights;
        this.shape = weights.shape();
    }

    /** Raw logits at every position, (T, V): row t scores the token that follows tokens[t]. */
    public float[][] logits(int[] tokens) {
        return project(finalHidden(tokens), 0, tokens.length);
    }

    /**
     * log p(tokens[t] | tokens[..t-1]) in nats, for t = from..T-1: (T - from,). {@code from} >= 1, as
     * the first token has no context to be predicted from.
     */
    public double[] logProbs(int[] tokens, int from) {
        if (from < 1 || from > tokens.length) {
            throw new IllegalArgumentException("from must be in [1, " + tokens.length + "], not " + from);
        }
        float[][] logits = project(finalHidden(tokens), from - 1, tokens.length - 1);
        double[] out = new double[tokens.length - from];
        for (int t = from; t < tokens.length; t++) {
            out[t - from] = logSoftmax(logits[t - from])[tokens[t]];
        }
        return out;
    }

    /** log(softmax(logits)) in nats, computed in double with the maximum subtracted first. */
    public static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) {
            max = Math.max(max, z);
        }
        double sum = 0;
        for (float z : logits) {
            sum += Math.exp(z - max);
        }
        double logNorm = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - logNorm;
        }
        return out;
    }

    // The final RMSNorm's output: (T, C).
    private float[] finalHidden(int[] tokens) {
        int t = tokens.length;
        int c = shape.embd();
        int k = shape.kvHeads() * shape.headDim();
        float[] x = embed(tokens); // (T, C), the residual stream
        for (LlamaWeights.Layer layer : weights.layers()) {
            float[] n = LlamaOps.rmsNorm(x, layer.attnNorm(), t, c, shape.rmsEps());
            float[] q = LlamaOps.matmul(n, layer.wq(), t, c, c); // (T, H, D)
            float[] key = LlamaOps.matmul(n, layer.wk(), t, c, k); // (T, G, D)
            float[] value = LlamaOps.matmul(n, layer.wv(), t, c, k); // (T, G, D)
            LlamaOps.rope(q, t, shape.heads(), shape.headDim(), shape.ropeTheta());
            LlamaOps.rope(key, t, shape.kvHeads(), shape.headDim(), shape.ropeTheta());
            float[] attended = LlamaOps.causalAttention(q, key, value, t, shape.heads(), shape.kvHeads(), shape.headDim());
            LlamaOps.addInPlace(x, LlamaOps.matmul(attended, layer.wo(), t, c, c));

            n = LlamaOps.rmsNorm(x, layer.ffnNorm(), t, c, shape.rmsEps());
            float[] gate = LlamaOps.matmul(n, layer.wGate(), t, c, shape.ffn()); // (T, F)
            float[] up = LlamaOps.matmul(n, layer.wUp(), t, c, shape.ffn()); // (T, F)
            LlamaOps.addInPlace(x, LlamaOps.matmul(LlamaOps.swiglu(gate, up), layer.wDown(), t, shape.ffn(), c));
        }
        return LlamaOps.rmsNorm(x, weights.outputNorm(), t, c, shape.rmsEps());
    }

    // (T, C): row t is token t's embedding.
    private float[] embed(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        int c = shape.embd();
        float[] x = new float[tokens.length * c];
        for (int t = 0; t < tokens.length; t++) {
            if (tokens[t] < 0 || tokens[t] >= weights.vocabSize()) {
                throw new IllegalArgumentException("token " + tokens[t] + " at " + t + " is outside the vocabulary of " + weights.vocabSize());
            }
            System.arraycopy(weights.tokenEmbd(), tokens[t] * c, x, t * c, c);
        }
        return x;
    }

    // Logits of hidden rows [first, end): (end - first, V).
    private float[][] project(float[] hidden, int first, int end) {
        int c = shape.embd();
        int v = weights.vocabSize();
        int rows = end - first;
        float[] flat = LlamaOps.matmul(Arrays.copyOfRange(hidden, first * c, end * c), weights.output(), rows, c, v);
        float[][] out = new float[rows][];
        for (int r = 0; r < rows; r++) {
            out[r] = Arrays.copyOfRange(flat, r * v, (r + 1) * v);
        }
        return out;
    }
}
