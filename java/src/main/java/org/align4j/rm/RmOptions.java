package org.align4j.rm;

import java.nio.file.Path;
import java.util.Objects;
import org.align4j.gguf.GgmlType;
import org.align4j.job.AdapterFile;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.TrainerOptions;
import org.align4j.job.TrainingChecks;
import org.align4j.llama.ContextOptions;
import org.align4j.train.GradClip;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import org.align4j.train.LrSchedule;

/**
 * Everything an {@link RmJob} run needs. Defaults are Hugging Face TrainingArguments' where it has one
 * (batch 8, 3 epochs, linear schedule, no warm-up, no weight decay, max grad norm 1.0, seed 42), a peak
 * learning rate of 1e-5, no imitation term, and {@code maxLen} the model's context length. Build with
 * {@link #builder}.
 *
 * @param model      the base model, a llama-family GGUF (F32, F16, BF16 or Q8_0)
 * @param data       preference records (prompt, chosen, rejected; plain or conversational), with an
 *                   optional numeric {@code margin} (Llama 2's)
 * @param out        the reward model: a GGUF llama.cpp loads as the base architecture, with the head in
 *                   metadata ({@link org.align4j.gguf.RewardHead})
 * @param outType    F32 or F16 matrices in {@code out} of a full run; null: F32 when every matrix of the
 *                   model file is F32, else F16. A LoRA run writes the base merged with the adapter, in {@code mergeType}
 * @param metrics    per-step metrics (JSONL); a PNG plot is written beside it
 * @param checkpoint where the run's state is saved every {@code saveEvery} steps and at the end
 * @param lmCoef     weight of the chosen response's NLL per token added to the ranking loss; 0: none
 * @param maxLen     longest prompt + completion accepted, in tokens; 0: the model's context length
 * @param batchSize  pairs per micro-batch (one forward and backward)
 * @param gradAccum  micro-batches per optimizer step
 * @param epochs     passes over the pairs, when {@code maxSteps} is 0
 * @param maxSteps   optimizer steps in all; 0: {@code epochs} passes
 * @param warmupSteps linear warm-up steps; 0: ceil(warmupRatio * total steps)
 * @param maxGradNorm clip the global gradient norm to this; 0: no clipping
 * @param seed       the data order and the head's initial weights
 * @param saveEvery  checkpoint every this many steps (0: only at the end)
 * @param threads    trainer threads
 * @param quiet      no progress lines
 * @param lora       null: train every parameter; else a LoRA adapter of these settings over the model's
 *                   weights, frozen in their file type
 * @param initialAdapter with {@code lora}: a LoRA adapter (GGUF or PEFT directory, {@link AdapterFile}) of the same
 *                   settings over the same base to continue from
 * @param mergeType  the type a LoRA run's merged model is written as (F16: as llama-export-lora)
 */
public record RmOptions(Path model, Path data, Path out, GgmlType outType, Path metrics, Path checkpoint, double lmCoef,
                        double learningRate, double weightDecay, double maxGradNorm, int batchSize, int gradAccum, int epochs,
                        int maxSteps, int warmupSteps, double warmupRatio, LrSchedule.Kind schedule, long seed, int maxLen,
                        int saveEvery, int threads, boolean resume, ErrorPolicy onError, boolean quiet, LoraConfig lora,
                        Path initialAdapter, LoraMerge.Type mergeType) implements TrainerOptions {

    public static final double DEFAULT_LR = 1e-5;

    public RmOptions {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(onError, "onError");
        Objects.requireNonNull(mergeType, "mergeType");
        metrics = metrics != null ? metrics : out.resolveSibling(out.getFileName() + ".metrics.jsonl");
        checkpoint = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".ckpt");
        if (lora != null && outType != null) {
            throw new IllegalArgumentException("a LoRA run writes the base merged with the adapter (merged matrices F32 if they were,"
                    + " else F16): leave out the out type");
        }
        if (outType != null && outType != GgmlType.F32 && outType != GgmlType.F16) {
            throw new IllegalArgumentException("the reward model is written as f32 or f16, not " + outType);
        }
        TrainingChecks.outputs(lora, null, initialAdapter, null, null);
        TrainingChecks.atLeast("lm coefficient", lmCoef, 0);
        TrainingChecks.optimizer(learningRate, weightDecay, maxGradNorm, warmupRatio);
        TrainingChecks.steps(batchSize, gradAccum, epochs, maxSteps, warmupSteps, saveEvery, maxLen, threads);
    }

    /** The model trained: {@link #model}. */
    @Override
    public Path policy() {
        return model;
    }

    /** None: a LoRA run's OUT is the merged model. */
    @Override
    public Path peft() {
        return null;
    }

    /** None: a LoRA run's OUT is the merged model. */
    @Override
    public Path merge() {
        return null;
    }

    /** Options with the defaults above. */
    public static Builder builder(Path model, Path data, Path out) {
        return new Builder(model, data, out);
    }

    /** A copy to change: {@code options.toBuilder().resume(true).build()}. */
    public Builder toBuilder() {
        Builder b = new Builder(model, data, out);
        b.outType = outType;
        b.metrics = metrics;
        b.checkpoint = checkpoint;
        b.lmCoef = lmCoef;
        b.learningRate = learningRate;
        b.weightDecay = weightDecay;
        b.maxGradNorm = maxGradNorm;
        b.batchSize = batchSize;
        b.gradAccum = gradAccum;
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.warmupSteps = warmupSteps;
        b.warmupRatio = warmupRatio;
        b.schedule = schedule;
        b.seed = seed;
        b.maxLen = maxLen;
        b.saveEvery = saveEvery;
        b.threads = threads;
        b.resume = resume;
        b.onError = onError;
        b.quiet = quiet;
        b.lora = lora;
        b.initialAdapter = initialAdapter;
        b.mergeType = mergeType;
        return b;
    }

    /** Fills {@link RmOptions}; {@link #build()} checks the values. */
    public static final class Builder implements TrainerOptions.OptimizerBuilder<Builder>, TrainerOptions.RunBuilder<Builder> {
        private Path model;
        private Path data;
        private Path out;
        private GgmlType outType;
        private Path metrics;
        private Path checkpoint;
        private double lmCoef;
        private double learningRate = DEFAULT_LR;
        private double weightDecay;
        private double maxGradNorm = GradClip.DEFAULT_MAX_NORM;
        private int batchSize = TrainerOptions.DEFAULT_BATCH_SIZE;
        private int gradAccum = 1;
        private int epochs = TrainerOptions.DEFAULT_EPOCHS;
        private int maxSteps;
        private int warmupSteps;
        private double warmupRatio;
        private LrSchedule.Kind schedule = LrSchedule.Kind.LINEAR;
        private long seed = TrainerOptions.DEFAULT_SEED;
        private int maxLen;
        private int saveEvery = TrainerOptions.DEFAULT_SAVE_EVERY;
        private int threads = ContextOptions.defaultThreads();
        private boolean resume;
        private ErrorPolicy onError = ErrorPolicy.FAIL;
        private boolean quiet;
        private LoraConfig lora;
        private Path initialAdapter;
        private LoraMerge.Type mergeType = LoraMerge.Type.F16;

        private Builder(Path model, Path data, Path out) {
            this.model = model;
            this.data = data;
            this.out = out;
        }

        public Builder model(Path v) { model = v; return this; }
        public Builder data(Path v) { data = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder outType(GgmlType v) { outType = v; return this; }
        public Builder metrics(Path v) { metrics = v; return this; }
        public Builder checkpoint(Path v) { checkpoint = v; return this; }
        public Builder lmCoef(double v) { lmCoef = v; return this; }
        @Override public Builder learningRate(double v) { learningRate = v; return this; }
        @Override public Builder weightDecay(double v) { weightDecay = v; return this; }
        @Override public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        @Override public Builder batchSize(int v) { batchSize = v; return this; }
        @Override public Builder gradAccum(int v) { gradAccum = v; return this; }
        @Override public Builder epochs(int v) { epochs = v; return this; }
        @Override public Builder maxSteps(int v) { maxSteps = v; return this; }
        @Override public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        @Override public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        @Override public Builder schedule(LrSchedule.Kind v) { schedule = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        @Override public Builder maxLen(int v) { maxLen = v; return this; }
        public Builder saveEvery(int v) { saveEvery = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder resume(boolean v) { resume = v; return this; }
        public Builder onError(ErrorPolicy v) { onError = v; return this; }
        public Builder quiet(boolean v) { quiet = v; return this; }
        public Builder lora(LoraConfig v) { lora = v; return this; }
        public Builder initialAdapter(Path v) { initialAdapter = v; return this; }
        public Builder mergeType(LoraMerge.Type v) { mergeType = v; return this; }

        /** @throws IllegalArgumentException naming the first value out of range */
        public RmOptions build() {
            return new RmOptions(model, data, out, outType, metrics, checkpoint, lmCoef, learningRate, weightDecay, maxGradNorm,
                    batchSize, gradAccum, epochs, maxSteps, warmupSteps, warmupRatio, schedule, seed, maxLen, saveEvery, threads,
                    resume, onError, quiet, lora, initialAdapter, mergeType);
        }
    }
}
