package org.align4j.cli;

import java.util.Locale;
import org.align4j.job.TrainerOptions;
import org.align4j.gguf.GgmlType;
import org.align4j.train.LrSchedule;
import picocli.CommandLine.Option;

/**
 * The optimizer, schedule and length options every trainer command shares ({@code dpo}, {@code loop},
 * {@code sft}, {@code rm train}); each command declares {@code --lr} itself, for its default differs.
 */
final class TrainingOptions {
    @Option(names = "--weight-decay", paramLabel = "WD", description = "AdamW decoupled weight decay, not on norm weights (default: 0)")
    double weightDecay;

    @Option(names = "--max-grad-norm", paramLabel = "N", description = "clip the global gradient norm; 0: no clipping (default: 1.0)")
    double maxGradNorm = 1.0;

    @Option(names = "--batch-size", paramLabel = "N", description = "records (pairs, sequences) per micro-batch (default: ${DEFAULT-VALUE})")
    int batchSize = TrainerOptions.DEFAULT_BATCH_SIZE;

    @Option(names = "--grad-accum", paramLabel = "N", description = "micro-batches per optimizer step (default: ${DEFAULT-VALUE})")
    int gradAccum = 1;

    @Option(names = "--epochs", paramLabel = "N", description = "passes over the data (default: ${DEFAULT-VALUE})")
    int epochs = TrainerOptions.DEFAULT_EPOCHS;

    @Option(names = "--max-steps", paramLabel = "N", description = "optimizer steps in all, overriding --epochs (default: 0, unset)")
    int maxSteps;

    @Option(names = "--warmup-steps", paramLabel = "N", description = "linear warm-up steps (default: 0; overrides --warmup-ratio)")
    int warmupSteps;

    @Option(names = "--warmup-ratio", paramLabel = "R", description = "warm-up as a fraction of all steps, rounded up (default: 0)")
    double warmupRatio;

    @Option(names = "--schedule", paramLabel = "linear|cosine|constant", description = "learning rate after warm-up (default: ${DEFAULT-VALUE})")
    String schedule = "linear";

    @Option(names = "--max-len", paramLabel = "TOKENS", description = "longest prompt + completion; longer records are bad records (default: the model's context)")
    int maxLen;

    /**
     * Sets these options on {@code b}.
     *
     * @throws IllegalArgumentException for an unknown schedule name
     */
    <B extends TrainerOptions.OptimizerBuilder<B>> B applyTo(B b) {
        return b.weightDecay(weightDecay)
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

    /** {@code --out-type f32|f16}, any case. */
    static GgmlType outType(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> GgmlType.F32;
            case "f16" -> GgmlType.F16;
            default -> throw new IllegalArgumentException("--out-type must be f32 or f16, not " + name);
        };
    }

    // Hugging Face's names, and "constant" for constant_with_warmup.
    private static LrSchedule.Kind schedule(String name) {
        return name.equals("constant") ? LrSchedule.Kind.CONSTANT : LrSchedule.Kind.named(name);
    }
}
