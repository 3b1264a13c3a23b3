package org.align4j.cli;

import org.align4j.dpo.DpoOptions;
import org.align4j.train.PreferenceLoss;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The DPO training options {@code dpo} and {@code loop} share: the loss, and the optimizer ({@link OptimizerOptions}). */
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

    @Mixin OptimizerOptions optimizer;

    /**
     * Sets these options on {@code b}.
     *
     * @throws IllegalArgumentException for an unknown loss or schedule name
     */
    DpoOptions.Builder applyTo(DpoOptions.Builder b) {
        return b.loss(loss())
                .rpoAlpha(rpoAlpha)
                .learningRate(optimizer.lr != null ? optimizer.lr : DpoOptions.DEFAULT_LR)
                .weightDecay(optimizer.weightDecay)
                .maxGradNorm(optimizer.maxGradNorm)
                .batchSize(optimizer.batchSize)
                .gradAccum(optimizer.gradAccum)
                .epochs(optimizer.epochs)
                .maxSteps(optimizer.maxSteps)
                .warmupSteps(optimizer.warmupSteps)
                .warmupRatio(optimizer.warmupRatio)
                .schedule(optimizer.schedule())
                .maxLen(optimizer.maxLen);
    }

    private PreferenceLoss loss() {
        PreferenceLoss.Kind kind = PreferenceLoss.Kind.named(loss);
        PreferenceLoss defaults = PreferenceLoss.withDefaults(kind);
        return new PreferenceLoss(kind, beta != null ? beta : defaults.beta(), labelSmoothing,
                simpoGamma != null ? simpoGamma : PreferenceLoss.SIMPO_DEFAULT_GAMMA);
    }
}
