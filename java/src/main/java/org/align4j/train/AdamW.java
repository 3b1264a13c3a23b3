package org.align4j.train;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019, arXiv 1711.05101, Algorithm 2), step
 * for step as torch.optim.AdamW computes it: with g the gradient and t the step count after this step,
 * <pre>
 *   theta = theta * (1 - lr * weightDecay)            (decayed parameters only)
 *   m     = beta1 * m + (1 - beta1) * g
 *   v     = beta2 * v + (1 - beta2) * g^2
 *   theta = theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 * Parameters, gradients and the moment estimates are f32; each element's update is computed in double
 * and rounded once. Elements are independent, so the parallel loop gives the same bits on any thread
 * count.
 */
public final class AdamW {
    /** torch.optim.AdamW's and Hugging Face TrainingArguments' defaults. */
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.999;
    public static final double DEFAULT_EPS = 1e-8;

    private static final int CHUNK = 1 << 15; // elements per parallel task

    /**
     * One trainable tensor: its values and the gradient the trainer has accumulated for them, both
     * flat (n,) in the same layout. {@code decay} false exempts it from weight decay; Hugging Face's
     * Trainer exempts biases and normalisation weights.
     */
    public record Param(String name, float[] values, float[] grads, boolean decay) {
        public Param {
            if (values.length != grads.length) {
                throw new IllegalArgumentException(
                        name + ": " + values.length + " values but " + grads.length + " gradients");
            }
        }
    }

    private final List<Param> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final float[][] m; // per param, (n,): first-moment estimate
    private final float[][] v; // per param, (n,): second-moment estimate
    private long steps;

    public AdamW(List<Param> params, double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("betas must be in [0, 1), not " + beta1 + ", " + beta2);
        }
        if (!(eps > 0) || !(weightDecay >= 0)) {
            throw new IllegalArgumentException("eps must be > 0 and weight decay >= 0, not " + eps + ", " + weightDecay);
        }
        if (params.stream().map(Param::name).distinct().count() != params.size()) {
            throw new IllegalArgumentException("parameter names must be distinct");
        }
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new float[params.size()][];
        this.v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).values().length];
            v[i] = new float[params.get(i).values().length];
        }
    }

    /** Default betas and eps, with the given weight decay (Hugging Face's default is 0). */
    public static AdamW withDefaults(List<Param> params, double weightDecay) {
        return new AdamW(params, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS, weightDecay);
    }

    public List<Param> params() {
        return params;
    }

    /** Updates every parameter in place from its gradient at learning rate lr; gradients are left as they are. */
    public void step(double lr) {
        steps++;
        double correction1 = 1 - Math.pow(beta1, steps);
        double correction2 = 1 - Math.pow(beta2, steps);
        for (int p = 0; p < params.size(); p++) {
            Param param = params.get(p);
            float[] theta = param.values();
            float[] g = param.grads();
            float[] mp = m[p];
            float[] vp = v[p];
            double shrink = param.decay() ? 1 - lr * weightDecay : 1;
            int n = theta.length;
            IntStream.range(0, (n + CHUNK - 1) / CHUNK).parallel().forEach(c -> {
                for (int i = c * CHUNK, end = Math.min(n, i + CHUNK); i < end; i++) {
                    double gi = g[i];
                    double mi = beta1 * mp[i] + (1 - beta1) * gi;
                    double vi = beta2 * vp[i] + (1 - beta2) * gi * gi;
                    mp[i] = (float) mi;
                    vp[i] = (float) vi;
                    theta[i] = (float) (theta[i] * shrink - lr * (mi / correction1) / (Math.sqrt(vi / correction2) + eps));
                }
            });
        }
    }

    /** Sets every gradient to 0, for the next accumulation. */
    public void zeroGrads() {
        for (Param p : params) {
            Arrays.fill(p.grads(), 0f);
        }
    }

    /** Steps taken so far: t of the bias corrections (torch's state "step"). */
    public long steps() {
        return steps;
    }

    /**
     * The moment estimates for checkpointing, named {@code <param>.exp_avg} and {@code <param>.exp_avg_sq}
     * (torch's state keys), in parameter order. The arrays are the live state, not copies.
     */
    public Map<String, float[]> state() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int p = 0; p < params.size(); p++) {
            out.put(params.get(p).name() + ".exp_avg", m[p]);
            out.put(params.get(p).name() + ".exp_avg_sq", v[p]);
        }
        return out;
    }

    /** Restores what {@link #state()} and {@link #steps()} gave, copying the arrays; every name must be there at its length. */
    public void loadState(long steps, Map<String, float[]> state) {
        if (steps < 0) {
            throw new IllegalArgumentException("step count must be >= 0, not " + steps);
        }
        Map<String, float[]> mine = state();
        if (!mine.keySet().equals(state.keySet())) {
            throw new IllegalArgumentException("optimizer state has tensors " + state.keySet() + ", expected " + mine.keySet());
        }
        for (Map.Entry<String, float[]> e : mine.entrySet()) {
            float[] from = state.get(e.getKey());
            if (from.length != e.getValue().length) {
                throw new IllegalArgumentException(e.getKey() + " has " + from.length + " values, expected " + e.getValue().length);
            }
            System.arraycopy(from, 0, e.getValue(), 0, from.length);
        }
        this.steps = steps;
    }
}
