package org.align4j.cli;

import org.align4j.dpo.DpoOptions;
import org.align4j.train.PreferenceLoss;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The DPO training options {@code dpo} and {@code loop} share: the loss, and the optimizer ({@link TrainingOptions}). */
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

    @Mixin TrainingOptions optimizer;

    /**
     * Sets these options on {@code b}.
     *
     * @throws IllegalArgumentException for an unknown loss or schedule name
     */
    DpoOptions.Builder applyTo(DpoOptions.Builder b) {
        return optimizer.applyTo(b.loss(loss())
                .rpoAlpha(rpoAlpha)
                .learningRate(lr));
    }

    private PreferenceLoss loss() {
        PreferenceLoss.Kind kind = PreferenceLoss.Kind.named(loss);
        PreferenceLoss defaults = PreferenceLoss.withDefaults(kind);
        return new PreferenceLoss(kind, beta != null ? beta : defaults.beta(), labelSmoothing,
                simpoGamma != null ? simpoGamma : PreferenceLoss.SIMPO_DEFAULT_GAMMA);
    }
}
