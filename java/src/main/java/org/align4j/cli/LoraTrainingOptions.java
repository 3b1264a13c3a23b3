package org.align4j.cli;

import java.nio.file.Path;
import java.util.Set;
import org.align4j.job.AdapterFile;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraParams;
import picocli.CommandLine.Option;

/**
 * {@code --lora-rank}, {@code --lora-alpha}, {@code --lora-targets}, {@code --lora-dropout}: train a LoRA adapter
 * instead of every weight; {@code --lora-init}: continue training an adapter, whose settings are then the run's.
 */
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

    @Option(names = "--lora-init", paramLabel = "FILE|DIR", description = "continue training this LoRA adapter: a GGUF adapter"
            + " or a PEFT directory (adapter_config.json, adapter_model.safetensors); its rank, alpha and targets are the run's"
            + " (--lora-rank, --lora-alpha, --lora-targets may be left out; given, they must match it). The reference stays the base")
    Path loraInit;

    /** The adapter the run continues from ({@code --lora-init}), or null. */
    Path initialAdapter() {
        return loraInit;
    }

    /**
     * The adapter's settings; null without {@code --lora-rank} or {@code --lora-init}.
     *
     * @throws IllegalArgumentException naming the option of a bad value, or of one that differs from {@code --lora-init}'s
     * @throws org.align4j.Align4jException naming the file if {@code --lora-init} is not an adapter training continues
     */
    LoraConfig config() {
        if (loraInit != null) {
            return initialSettings().withDropout(dropout());
        }
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
        LoraConfig defaults = LoraConfig.ofRank(loraRank);
        return new LoraConfig(loraRank, loraAlpha != null ? loraAlpha : defaults.alpha(), loraTargets != null ? targets() : defaults.targets(),
                dropout());
    }

    // --lora-dropout's P, 0 when not given.
    private float dropout() {
        if (loraDropout != null && !(loraDropout >= 0 && loraDropout < 1)) {
            throw new IllegalArgumentException("--lora-dropout must be at least 0 and below 1, not " + loraDropout);
        }
        return loraDropout != null ? loraDropout : 0;
    }

    private Set<LoraParams.Target> targets() {
        try {
            return LoraConfig.targets(loraTargets);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--lora-targets: " + e.getMessage(), e);
        }
    }

    // --lora-init's settings, after checking that the --lora-* options given agree with them.
    private LoraConfig initialSettings() {
        LoraConfig file = AdapterFile.settings(loraInit);
        if (loraRank != null && loraRank != file.rank()) {
            throw new IllegalArgumentException("--lora-rank " + loraRank + " differs from the rank " + file.rank() + " of --lora-init "
                    + loraInit + ": leave --lora-rank out to continue at its rank");
        }
        if (loraAlpha != null && loraAlpha != file.alpha()) {
            throw new IllegalArgumentException("--lora-alpha " + loraAlpha + " differs from the alpha " + file.alpha() + " of --lora-init "
                    + loraInit + ": leave --lora-alpha out to continue with its alpha");
        }
        if (loraTargets != null && !targets().equals(file.targets())) {
            throw new IllegalArgumentException("--lora-targets " + loraTargets + " differs from the targets " + file.targetNames()
                    + " of --lora-init " + loraInit + ": leave --lora-targets out to continue on its targets");
        }
        return file;
    }
}
