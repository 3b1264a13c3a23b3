package org.align4j.cli;

import org.align4j.train.LoraConfig;
import picocli.CommandLine.Option;

/** {@code --lora-rank}, {@code --lora-alpha}, {@code --lora-targets}, {@code --lora-dropout}: train a LoRA adapter instead of every weight. */
final class LoraTrainingOptions {
    @Option(names = "--lora-rank", paramLabel = "R", description = "train only a rank-R LoRA adapter over the policy, frozen in its file type (default: full fine-tuning)")
    Integer loraRank;

    @Option(names = "--lora-alpha", paramLabel = "A", description = "LoRA alpha: the adapter's delta is scaled by A/R (default: R, scale 1, as PEFT's r=8, lora_alpha=8)")
    Float loraAlpha;

    @Option(names = "--lora-targets", paramLabel = "q,k,v,o,gate,up,down", description = "the matrices of each block the adapter acts on (default: all seven)")
    String loraTargets;

    @Option(names = "--lora-dropout", paramLabel = "P", description = "dropout on the adapter's input in training passes, as PEFT's lora_dropout:"
            + " each element zeroed with probability P, the rest scaled by 1/(1-P); 0 <= P < 1 (default 0)")
    Float loraDropout;

    /**
     * The adapter's settings; null without {@code --lora-rank}.
     *
     * @throws IllegalArgumentException naming the option of a bad value
     */
    LoraConfig config() {
        if (loraRank == null) {
            String given = loraAlpha != null ? "--lora-alpha" : loraTargets != null ? "--lora-targets" : loraDropout != null ? "--lora-dropout" : null;
            if (given != null) {
                throw new IllegalArgumentException(given + " needs --lora-rank");
            }
            return null;
        }
        if (loraRank < 1) {
            throw new IllegalArgumentException("--lora-rank must be at least 1, not " + loraRank);
        }
        if (loraAlpha != null && !(Float.isFinite(loraAlpha) && loraAlpha > 0)) {
            throw new IllegalArgumentException("--lora-alpha must be positive, not " + loraAlpha);
        }
        if (loraDropout != null && !(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("--lora-dropout must be at least 0 and below 1, not " + loraDropout);
        }
        LoraConfig defaults = LoraConfig.ofRank(loraRank);
        try {
            return new LoraConfig(loraRank, loraAlpha != null ? loraAlpha : defaults.alpha(),
                    loraTargets != null ? LoraConfig.targets(loraTargets) : defaults.targets(), loraDropout != null ? loraDropout : defaults.dropout());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--lora-targets: " + e.getMessage(), e);
        }
    }
}
