package org.align4j.train;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.gguf.RewardHead;

/**
 * A reward model's head while it trains: r_s = w · h_s + b on the final hidden state h_s (C,) of each
 * sequence's last token ({@link RewardHead}'s reward, which the RM file carries), with gradient buffers
 * for w and b. A {@link LlamaTrainer} given one ({@link LlamaTrainer#withHead}) trains it with the rest.
 */
public final class ScalarHead {
    /** The parameter names of w and b, for the optimizer and checkpoints. */
    public static final String WEIGHTS = "reward.head";
    public static final String BIAS = "reward.bias";

    private final float[] w; // (C,)
    private final float[] b = new float[1];
    private final float[] dW; // (C,)
    private final float[] dB = new float[1];

    private ScalarHead(float[] w, float bias) {
        this.w = w;
        this.b[0] = bias;
        this.dW = new float[w.length];
    }

    /**
     * A fresh head for width {@code c}: w drawn from a normal of standard deviation 1 / sqrt(C + 1), b = 0
     * (the reward head's initialisation of OpenAI's lm-human-preferences, which TRL's reward examples
     * follow), seeded by {@code seed} alone.
     */
    public static ScalarHead initial(int c, long seed) {
        if (c < 1) {
            throw new IllegalArgumentException("hidden size must be at least 1, not " + c);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double std = 1 / Math.sqrt(c + 1.0);
        float[] w = new float[c];
        for (int i = 0; i < c; i++) {
            w[i] = (float) (std * rng.nextGaussian());
        }
        return new ScalarHead(w, 0f);
    }

    /** A head starting from {@code head}'s weights and bias (copied). */
    public static ScalarHead of(RewardHead head) {
        return new ScalarHead(head.weights().clone(), head.bias());
    }

    /** The head as it is now, copied: what the RM file carries. */
    public RewardHead toRewardHead() {
        return new RewardHead(w.clone(), b[0]);
    }

    public int hiddenSize() {
        return w.length;
    }

    /** w (C,), the trained array itself. */
    public float[] weights() {
        return w;
    }

    /** b (1,), the trained array itself. */
    public float[] bias() {
        return b;
    }

    /** d loss / d w (C,), accumulated since the last {@link #zeroGrads()}. */
    public float[] weightGrads() {
        return dW;
    }

    /** d loss / d b (1,). */
    public float[] biasGrads() {
        return dB;
    }

    /** r_s for hidden (S, C): (S,), each summed in double as {@link RewardHead#reward}. */
    public double[] rewards(float[] hidden) {
        int c = w.length;
        RewardHead head = new RewardHead(w, b[0]);
        double[] r = new double[hidden.length / c];
        for (int s = 0; s < r.length; s++) {
            r[s] = head.reward(hidden, s * c);
        }
        return r;
    }

    /**
     * Backward of r = w · h + b for hidden (S, C) and {@code dLossDReward} (S,): adds d loss / d w =
     * sum_s dr_s h_s and d loss / d b = sum_s dr_s into the gradient buffers, and returns d loss / d h
     * (S, C), dr_s w.
     */
    public float[] backward(float[] hidden, double[] dLossDReward) {
        int c = w.length;
        if (hidden.length != dLossDReward.length * c) {
            throw new IllegalArgumentException(hidden.length + " hidden values for " + dLossDReward.length + " rewards of width " + c);
        }
        float[] dHidden = new float[hidden.length];
        double db = dB[0];
        for (int s = 0; s < dLossDReward.length; s++) {
            double dr = dLossDReward[s];
            for (int e = 0; e < c; e++) {
                dW[e] += (float) (dr * hidden[s * c + e]);
                dHidden[s * c + e] = (float) (dr * w[e]);
            }
            db += dr;
        }
        dB[0] = (float) db;
        return dHidden;
    }

    /** w and b for an optimizer; w decays and b does not, as Hugging Face's Trainer treats score.weight and biases. */
    public List<AdamW.Param> adamParams() {
        return List.of(new AdamW.Param(WEIGHTS, w, dW, true), new AdamW.Param(BIAS, b, dB, false));
    }

    public void zeroGrads() {
        Arrays.fill(dW, 0f);
        dB[0] = 0f;
    }

    /** Sets w and b to {@code head}'s (a checkpoint's). */
    public void set(RewardHead head) {
        if (head.hiddenSize() != w.length) {
            throw new IllegalArgumentException("a head of width " + head.hiddenSize() + " for one of width " + w.length);
        }
        System.arraycopy(head.weights(), 0, w, 0, w.length);
        b[0] = head.bias();
    }
}
