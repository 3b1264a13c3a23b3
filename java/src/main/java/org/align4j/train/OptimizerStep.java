package org.align4j.train;

import org.align4j.SplitMix64;
import java.util.SplittableRandom;
import org.align4j.Align4jException;

/**
 * The machinery every training job shares around its loss: AdamW over what a trainer trains
 * ({@link LlamaTrainer#trainable()}: every parameter, with no weight decay on the 1-D ones, the norm
 * weights, as Hugging Face's Trainer; or a LoRA adapter's A and B), and the end of each
 * optimizer step: global-norm clipping, the learning rate of the {@link LrSchedule} for the step, the
 * AdamW update, gradients back to zero. The job's own part is the forward and backward passes that
 * accumulate the step's gradients in between, and the order of its examples ({@link #shuffled}).
 */
public final class OptimizerStep {
    /** What the update of one step did: the gradient norm before clipping, and the rate it used. */
    public record Update(double gradNorm, double learningRate) {}

    private final LlamaTrainer trainer;
    private final AdamW adam;
    private final LrSchedule schedule;
    private final double maxGradNorm;

    /** @param maxGradNorm clip the global gradient norm to this; 0: no clipping */
    public OptimizerStep(LlamaTrainer trainer, LrSchedule schedule, double weightDecay, double maxGradNorm) {
        this.trainer = trainer;
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
        this.adam = AdamW.withDefaults(trainer.trainable(), weightDecay);
    }

    public AdamW adam() {
        return adam;
    }

    /**
     * Ends optimizer step s (0-based) once its gradients are accumulated: clip, update at the schedule's
     * rate for s, zero the gradients.
     *
     * @throws Align4jException if the gradient is not finite (the run diverged)
     */
    public Update apply(int s) {
        double norm;
        try {
            norm = maxGradNorm > 0 ? GradClip.clipByGlobalNorm(adam.params(), maxGradNorm) : GradClip.globalNorm(adam.params());
        } catch (ArithmeticException ex) {
            throw new Align4jException("step " + (s + 1) + ": " + ex.getMessage() + ": training diverged (try a lower --lr)", ex);
        }
        double lr = schedule.at(s);
        adam.step(lr);
        trainer.zeroGrads();
        return new Update(norm, lr);
    }

    /** Epoch e's order of n examples: a Fisher-Yates shuffle seeded by (seed, e) alone. */
    public static int[] shuffled(int n, long seed, int epoch) {
        SplittableRandom rng = new SplittableRandom(seed + SplitMix64.GOLDEN * (epoch + 1L));
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return order;
    }
}
