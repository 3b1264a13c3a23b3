package org.align4j.train;

import java.util.Arrays;
import java.util.List;

/**
 * The Llama forward pass on one sequence, positions 0..T-1, no KV cache: the pure-Java counterpart the
 * native scoring path is tested against. A thin view of {@link LlamaPass}, the forward the trainer
 * runs, on the JVM's common fork-join pool. The weights may be f32 ({@link LlamaWeights#load}) or
 * frozen in the file's type ({@link LlamaWeights#frozen}).
 */
public final class ReferenceForward {
    private final LlamaWeights weights;

    public ReferenceForward(LlamaWeights weights) {
        this.weights = weights;
    }

    /** Raw logits at every position, (T, V): row t scores the token that follows tokens[t]. */
    public float[][] logits(int[] tokens) {
        LlamaPass pass = new LlamaPass(weights, Parallel.common(), new TrainerTimings(), List.of(new Sequence(tokens, tokens.length)), false);
        pass.forward();
        int v = weights.vocabSize();
        float[] flat = LlamaPass.logits(weights, Parallel.common(), pass.normed(), tokens.length);
        float[][] out = new float[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            out[t] = Arrays.copyOfRange(flat, t * v, (t + 1) * v);
        }
        return out;
    }

    /**
     * log p(tokens[t] | tokens[..t-1]) in nats, for t = from..T-1: (T - from,). {@code from} >= 1, as
     * the first token has no context to be predicted from.
     */
    public double[] logProbs(int[] tokens, int from) {
        if (from < 1 || from > tokens.length) {
            throw new IllegalArgumentException("from must be in [1, " + tokens.length + "], not " + from);
        }
        return new LlamaPass(weights, Parallel.common(), new TrainerTimings(), List.of(new Sequence(tokens, from)), false).forward().tokens()[0];
    }

    /**
     * Log-probs of a packed batch on {@code par}'s threads, the trainer's forward without kept
     * activations, adding its time to {@code timings}: how a frozen model ({@link LlamaWeights#frozen})
     * is scored or benchmarked at a thread count of one's choosing.
     */
    public LogProbs score(List<Sequence> batch, Parallel par, TrainerTimings timings) {
        long t0 = System.nanoTime();
        LogProbs out = new LlamaPass(weights, par, timings, batch, false).forward();
        timings.addPass(System.nanoTime() - t0);
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
}
