package org.align4j.cli;

import org.align4j.train.LoraConfig;
import picocli.CommandLine.Option;

/** {@code --lora-rank}, {@code --lora-alpha}, {@code --lora-targets}: train a LoRA adapter instead of every weight. */
final class LoraTrainingOptions {
    @Option(names = "--lora-rank", paramLabel = "R", description = "train only a rank-R LoRA adapter over the policy, frozen in its file type (default: full fine-tuning)")
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha: the adapter's delta is scaled by A/R (default: R, scale 1, as PEFT's r=8, lora_alpha=8)")
    Float loraAlpha;

    @Option(names = "--lora-targets", paramLabel = "q,k,v,o,gate,up,down", description = "the matrices of each block the adapter acts on (default: all seven)")
    String loraTargets;

    /**
     * The adapter's settings; null without {@code --lora-rank}.
     *
     * @throws IllegalArgumentException naming the option of a bad value
     */
    LoraConfig config() {
        if (loraRank == null) {
            if (loraAlpha != null || loraTargets != null) {
                throw new IllegalArgumentException((loraAlpha != null ? "--lora-alpha" : "--lora-targets") + " needs --lora-rank");
            }
            return null;
        }
        if (loraRank < 1) {
            throw new IllegalArgumentException("--lora-rank must be at least 1, not " + loraRank);
        }
        if (loraAlpha != null && !(Float.isFinite(loraAlpha) && loraAlpha > 0)) {
            throw new IllegalArgumentException("--lora-alpha must be positive, not " + loraAlpha);
        }
        LoraConfig defaults = LoraConfig.ofRank(loraRank);
        try {
            return new LoraConfig(loraRank, loraAlpha != null ? loraAlpha : defaults.alpha(),
                    loraTargets != null ? LoraConfig.targets(loraTargets) : defaults.targets());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--lora-targets: " + e.getMessage(), e);
        }
    }
}
