package org.align4j.train;

import java.util.Arrays;

/**
 * The learning rate at each optimizer step: linear warm-up from 0 to the peak over warmupSteps, then
 * constant, linear decay to 0, or half-cosine decay to 0 at totalSteps. The same arithmetic as Hugging
 * Face's get_constant_schedule_with_warmup, get_linear_schedule_with_warmup and
 * get_cosine_schedule_with_warmup (num_cycles 0.5), including their convention that step s is the
 * number of steps already taken, so with warm-up the first update runs at lr 0.
 */
public record LrSchedule(Kind kind, double peakLr, int warmupSteps, int totalSteps) {
    /** By Hugging Face's lr_scheduler_type names. */
    public enum Kind {
        CONSTANT("constant_with_warmup"),
        LINEAR("linear"),
        COSINE("cosine");

        private final String cliName;

        Kind(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Kind named(String name) {
            for (Kind k : values()) {
                if (k.cliName.equals(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown learning-rate schedule '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(Kind::cliName).toList());
        }
    }

    public LrSchedule {
        if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, not " + peakLr);
        }
        if (totalSteps < 1 || warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException(
                    "need 0 <= warm-up steps <= total steps, total >= 1; got " + warmupSteps + " and " + totalSteps);
        }
    }

    /** The learning rate for the update made after {@code step} updates, step in [0, totalSteps]. */
    public double at(int step) {
        if (step < 0 || step > totalSteps) {
            throw new IllegalArgumentException("step " + step + " is outside [0, " + totalSteps + "]");
        }
        if (step < warmupSteps) {
            return peakLr * step / warmupSteps;
        }
        double decaySteps = Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case CONSTANT -> peakLr;
            case LINEAR -> peakLr * (totalSteps - step) / decaySteps;
            case COSINE -> peakLr * 0.5 * (1 + Math.cos(Math.PI * (step - warmupSteps) / decaySteps));
        };
    }
}
