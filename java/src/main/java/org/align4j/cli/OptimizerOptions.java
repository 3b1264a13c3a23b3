package org.align4j.cli;

import org.align4j.dpo.DpoOptions;
import org.align4j.train.LrSchedule;
import picocli.CommandLine.Option;

/** The optimizer and step options every training command shares ({@code dpo}, {@code loop}, {@code rm train}). */
final class OptimizerOptions {
    @Option(names = "--lr", paramLabel = "LR", description = "peak learning rate (default: dpo 1e-6, rm 1e-5)")
    Double lr;

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
     * The schedule: Hugging Face's names, and "constant" for constant_with_warmup.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    LrSchedule.Kind schedule() {
        return schedule.equals("constant") ? LrSchedule.Kind.CONSTANT : LrSchedule.Kind.named(schedule);
    }
}
