package org.align4j.cli;

import org.align4j.dpo.DpoOptions;
import org.align4j.train.LrSchedule;
import org.align4j.train.PreferenceLoss;
import picocli.CommandLine.Option;

/** The DPO training options {@code dpo} and {@code loop} share: the loss and the optimizer. */
final class DpoTrainingOptions {
    @Option(names = "--loss", paramLabel = "NAME", description = "sigmoid (DPO; sigmoid_norm), robust, ipo, hinge, simpo, orpo, sft (default: ${DEFAULT-VALUE})")
    String loss = "sigmoid";

    @Option(names = "--beta", paramLabel = "B", description = "loss temperature (default: 0.1; simpo 2.0)")
    Double beta;

    @Option(names = "--label-smoothing", paramLabel = "EPS", description = "cDPO / robust label noise (sigmoid, robust, simpo; default: 0)")
    double labelSmoothing;

    @Option(names = "--simpo-gamma", paramLabel = "G", description = "SimPO target margin (default: 0.5)")
    Double simpoGamma;

    @Option(names = "--rpo-alpha", paramLabel = "A", description = "add A times the chosen completion's NLL per token (RPO; TRL's rpo_alpha; default: 0, none)")
    double rpoAlpha;

    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: 1e-6)")
    double lr = DpoOptions.DEFAULT_LR;

    @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW decoupled weight decay, not on norm weights (default: 0)")
    double weightDecay;

    @Option(names = "--max-grad-norm", paramLabel = "N", description = "clip the global gradient norm; 0: no clipping (default: 1.0)")
    double maxGradNorm = 1.0;

    @Option(names = "--batch-size", paramLabel = "PAIRS", description = "pairs per micro-batch (default: ${DEFAULT-VALUE})")
    int batchSize = DpoOptions.DEFAULT_BATCH_SIZE;

    @Option(names = "--grad-accum", paramLabel = "N", description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    int gradAccum = 1;

    @Option(names = "--epochs", paramLabel = "N", description = "passes over the data (default: ${DEFAULT-VALUE})")
    int epochs = DpoOptions.DEFAULT_EPOCHS;

    @Option(names = "--max-steps", paramLabel = "N", description = "optimizer steps in all, overriding --epochs (default: 0, unset)")
    int maxSteps;

    @Option(names = "--warmup-steps", paramLabel = "N", description = "linear warm-up steps (default: 0; overrides --warmup-ratio)")
    int warmupSteps;

    @Option(names = "--warmup-ratio", paramLabel = "R", description = "warm-up as a fraction of all steps, rounded up (default: 0)")
    double warmupRatio;

    @Option(names = "--schedule", paramLabel = "linear|cosine|constant", description = "learning rate after warm-up (default: ${DEFAULT-VALUE})")
    String schedule = "linear";

    @Option(names = "--max-len", paramLabel = "TOKENS", description = "longest prompt + completion; longer pairs are bad records (default: the model's context)")
    int maxLen;

    /**
     * Sets these options on {@code b}.
     *
     * @throws IllegalArgumentException for an unknown loss or schedule name
     */
    DpoOptions.Builder applyTo(DpoOptions.Builder b) {
        return b.loss(loss())
                .rpoAlpha(rpoAlpha)
                .learningRate(lr)
                .weightDecay(weightDecay)
                .maxGradNorm(maxGradNorm)
                .batchSize(batchSize)
                .gradAccum(gradAccum)
                .epochs(epochs)
                .maxSteps(maxSteps)
                .warmupSteps(warmupSteps)
                .warmupRatio(warmupRatio)
                .schedule(schedule(schedule))
                .maxLen(maxLen);
    }

    private PreferenceLoss loss() {
        PreferenceLoss.Kind kind = PreferenceLoss.Kind.named(loss);
        PreferenceLoss defaults = PreferenceLoss.withDefaults(kind);
        return new PreferenceLoss(kind, beta != null ? beta : defaults.beta(), labelSmoothing,
                simpoGamma != null ? simpoGamma : PreferenceLoss.SIMPO_DEFAULT_GAMMA);
    }

    // Hugging Face's names, and "constant" for constant_with_warmup.
    private static LrSchedule.Kind schedule(String name) {
        return name.equals("constant") ? LrSchedule.Kind.CONSTANT : LrSchedule.Kind.named(name);
    }
}
