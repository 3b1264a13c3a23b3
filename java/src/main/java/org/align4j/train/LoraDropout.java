package org.align4j.train;

import org.align4j.SplitMix64;
import org.align4j.gguf.LlamaTensor;

/**
 * PEFT's {@code lora_dropout} on one adapted matrix in one training pass (peft/tuners/lora/layer.py,
 * Linear.forward: {@code result + lora_B(lora_A(dropout(x))) * scaling}): each element of the adapter's
 * input x (R, I) is zeroed with probability p and the kept ones are scaled by 1 / (1 - p); the base
 * product W x sees x itself.
 *
 * <p>The mask is a function of {@code key} alone, recomputed wherever it is needed rather than stored:
 * element (row, col) is kept iff SplitMix64 of (key, row, col), as a fraction in [0, 1) of its top 53
 * bits, is at least p. So a pass carries no mask from forward to backward (nor the dropped inputs, R * I
 * values per adapted matrix per block), at the price of a hash per input element three times a step
 * (forward, dX, the A and B gradients), small beside the I * O multiply-adds of each row's product; any
 * number of threads computes the same mask; and a resumed run draws the masks an uninterrupted one
 * drew, since the key is a function of the run's seed, the optimizer step and the micro-batch
 * ({@link #passKey}), and of the block and matrix ({@link #of}): q, k and v share their input but not
 * their masks.
 *
 * @param p   the probability of dropping an element, 0 <= p < 1; 0 is no dropout
 * @param key the mask's key
 */
public record LoraDropout(float p, long key) {
    /** No dropout: the input as it is. */
    static final LoraDropout NONE = new LoraDropout(0, 0);

    private static final long SALT = 0x6C6F72615F64726FL; // "lora_dro": keys apart from the seed's other uses

    public LoraDropout {
        checkProbability(p);
    }

    /** @throws IllegalArgumentException unless 0 <= p < 1 */
    static void checkProbability(float p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("LoRA dropout must be at least 0 and below 1, not " + p);
        }
    }

    /** The key of the training pass of micro-batch {@code microBatch} (0-based) of optimizer step {@code step} of a run seeded {@code seed}. */
    public static long passKey(long seed, long step, long microBatch) {
        return next(next(SplitMix64.mix(seed ^ SALT), step), microBatch);
    }

    /** The dropout of block {@code layer}'s matrix {@code kind} in the pass of {@code passKey}. */
    static LoraDropout of(float p, long passKey, int layer, LlamaTensor kind) {
        return new LoraDropout(p, next(next(passKey, layer), kind.ordinal()));
    }

    /** Whether element (row, col) of the input is kept. */
    boolean keeps(int row, int col) {
        return kept(rowKey(row), col, threshold());
    }

    /** x (rows, cols) with the mask applied and kept elements scaled by 1 / (1 - p): x itself when p is 0. */
    float[] apply(Parallel par, int rows, int cols, float[] x) {
        if (p == 0) {
            return x;
        }
        float[] out = new float[rows * cols];
        long threshold = threshold();
        float keptScale = 1 / (1 - p);
        LlamaOps.forRows(par, rows, r -> {
            long rowKey = rowKey(r);
            for (int c = 0, at = r * cols; c < cols; c++, at++) {
                out[at] = kept(rowKey, c, threshold) ? x[at] * keptScale : 0;
            }
        });
        return out;
    }

    /** {@code dst (rows, cols) += v} with the mask applied and kept elements scaled by 1 / (1 - p): the gradient through {@link #apply}. */
    void addApplied(Parallel par, int rows, int cols, float[] v, float[] dst) {
        long threshold = threshold();
        float keptScale = 1 / (1 - p);
        LlamaOps.forRows(par, rows, r -> {
            long rowKey = rowKey(r);
            for (int c = 0, at = r * cols; c < cols; c++, at++) {
                if (kept(rowKey, c, threshold)) {
                    dst[at] += v[at] * keptScale;
                }
            }
        });
    }

    // Kept iff the top 53 bits are at least p * 2^53 (exact in double), so that P(kept) = 1 - p within 2^-53.
    private long threshold() {
        return (long) Math.ceil(p * 0x1p53);
    }

    private long rowKey(int row) {
        return next(key, row);
    }

    private static boolean kept(long rowKey, int col, long threshold) {
        return next(rowKey, col) >>> 11 >= threshold;
    }

    // Element i of the SplitMix64 stream from state z: distinct (z, i) give unrelated outputs.
    private static long next(long z, long i) {
        return SplitMix64.mix(z + SplitMix64.GOLDEN * (i + 1));
    }
}
