package org.align4j.dpo;

import org.align4j.train.GradClip;
import org.align4j.train.LrSchedule;

import java.nio.file.Path;
import java.util.Objects;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.ContextOptions;

/**
 * Everything an {@link SftJob} run needs. Build with {@link #builder}; the defaults are Hugging Face
 * TrainingArguments' where it has one (lr 5e-5, 3 epochs, linear schedule, no warm-up, no weight decay,
 * max grad norm 1.0, seed 42), batch 8 sequences per step.
 *
 * @param model       the starting model, a llama GGUF (F32, F16, BF16 or Q8_0)
 * @param data        prompt-completion records ({@code {"prompt", "completion"}}, plain or conversational)
 * @param out         the trained model, a GGUF
 * @param outType     F32 or F16 matrices in {@code out}; null: as {@link org.align4j.train.LlamaExport#defaultType}
 * @param metrics     per-step metrics (JSONL); a PNG plot of the loss is written beside it
 * @param batchSize   sequences per optimizer step
 * @param epochs      passes over the records, when {@code maxSteps} is 0
 * @param maxSteps    optimizer steps in all; 0: {@code epochs} passes
 * @param warmupSteps linear warm-up steps
 * @param maxGradNorm clip the global gradient norm to this; 0: no clipping
 * @param seed        the order of the records in each epoch
 * @param threads     trainer threads
 * @param quiet       no progress lines
 */
public record SftOptions(Path model, Path data, Path out, GgmlType outType, Path metrics, double learningRate,
                         double weightDecay, double maxGradNorm, int batchSize, int epochs, int maxSteps, int warmupSteps,
                         LrSchedule.Kind schedule, long seed, int threads, boolean quiet) {

    public static final double DEFAULT_LR = 5e-5;

    public SftOptions {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(schedule, "schedule");
        metrics = metrics != null ? metrics : out.resolveSibling(out.getFileName() + ".metrics.jsonl");
        if (outType != null && outType != GgmlType.F32 && outType != GgmlType.F16) {
            throw new IllegalArgumentException("the trained model is written as f32 or f16, not " + outType);
        }
        if (!(learningRate >= 0) || !(weightDecay >= 0) || !(maxGradNorm >= 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate, weight decay and max gradient norm must be finite and >= 0");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1");
        }
        ContextOptions.checkThreads(threads, "threads");
        if (epochs < 1 && maxSteps < 1) {
            throw new IllegalArgumentException("need epochs >= 1 or max steps >= 1");
        }
        if (maxSteps < 0 || warmupSteps < 0) {
            throw new IllegalArgumentException("max steps and warm-up steps must be >= 0");
        }
    }

    public static Builder builder(Path model, Path data, Path out) {
        return new Builder(model, data, out);
    }

    /** Fills {@link SftOptions}; {@link #build()} checks the values. */
    public static final class Builder {
        private final Path model;
        private final Path data;
        private final Path out;
        private GgmlType outType;
        private Path metrics;
        private double learningRate = DEFAULT_LR;
        private double weightDecay;
        private double maxGradNorm = GradClip.DEFAULT_MAX_NORM;
        private int batchSize = 8;
        private int epochs = 3;
        private int maxSteps;
        private int warmupSteps;
        private LrSchedule.Kind schedule = LrSchedule.Kind.LINEAR;
        private long seed = 42;
        private int threads = ContextOptions.defaultThreads();
        private boolean quiet;

        private Builder(Path model, Path data, Path out) {
            this.model = model;
            this.data = data;
            this.out = out;
        }

        public Builder outType(GgmlType v) { outType = v; return this; }
        public Builder metrics(Path v) { metrics = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder schedule(LrSchedule.Kind v) { schedule = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder quiet(boolean v) { quiet = v; return this; }

        public SftOptions build() {
            return new SftOptions(model, data, out, outType, metrics, learningRate, weightDecay, maxGradNorm, batchSize,
                    epochs, maxSteps, warmupSteps, schedule, seed, threads, quiet);
        }
    }
}
