package org.align4j.dpo;

import org.align4j.job.AdapterFile;
import org.align4j.job.TrainerOptions;
import org.align4j.job.TrainingChecks;
import org.align4j.train.GradClip;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import org.align4j.train.LrSchedule;

import java.nio.file.Path;
import java.util.Objects;
import org.align4j.gguf.GgmlType;
import org.align4j.job.ErrorPolicy;
import org.align4j.llama.ContextOptions;

/**
 * Everything an {@link SftJob} run needs. Build with {@link #builder}; the defaults are Hugging Face
 * TrainingArguments' where it has one (lr 5e-5, 3 epochs, linear schedule, no warm-up, no weight decay,
 * max grad norm 1.0, seed 42), batch 8 sequences per step, {@code maxLen} the model's context. The
 * parameters they share with {@link DpoOptions} mean the same ({@link TrainerOptions}).
 *
 * @param policy      the model trained, a llama GGUF (F32, F16, BF16 or Q8_0; with {@code lora}, the frozen base
 *                    in any type the trainer reads)
 * @param data        prompt-completion records ({@code {"prompt", "completion"}}, plain or conversational), or
 *                    {@code bon} output, of which each record's best completion is trained on
 * @param out         the trained model, a GGUF (with {@code lora}: the adapter)
 * @param outType     F32 or F16 matrices in {@code out}; null: F32 when every matrix of the policy file is F32, else F16
 * @param metrics     per-step metrics (JSONL); a PNG plot of the loss is written beside it
 * @param checkpoint  where the run's state is saved every {@code saveEvery} steps and at the end
 * @param batchSize   sequences per micro-batch (one forward and backward)
 * @param gradAccum   micro-batches per optimizer step
 * @param epochs      passes over the records, when {@code maxSteps} is 0
 * @param maxSteps    optimizer steps in all; 0: {@code epochs} passes
 * @param warmupSteps linear warm-up steps; 0: ceil(warmupRatio * total steps)
 * @param maxGradNorm clip the global gradient norm to this; 0: no clipping
 * @param seed        the order of the records in each epoch (and a LoRA adapter's initial A)
 * @param maxLen      longest prompt + completion accepted, in tokens; 0: the model's context length
 * @param saveEvery   checkpoint every this many steps (0: only at the end)
 * @param threads     trainer threads
 * @param quiet       no progress lines
 * @param lora        null: train every parameter; else only a LoRA adapter of these settings, written to {@code out}
 * @param initialAdapter with {@code lora}: a LoRA adapter (GGUF or PEFT directory, {@link AdapterFile}) of the same settings over the same base to continue from
 * @param peft        null, or (with {@code lora}) a directory that also gets the adapter in PEFT's format
 * @param merge       null, or (with {@code lora}) a file that also gets the base with the adapter merged in
 * @param mergeType   the type {@code merge} is written as (F16: as llama-export-lora); unused without {@code merge}
 * @param minReward   null, or: a {@code bon} record whose best completion's reward is below this is left out
 *                    (counted, not an error)
 */
public record SftOptions(Path policy, Path data, Path out, GgmlType outType, Path metrics, Path checkpoint,
                         double learningRate, double weightDecay, double maxGradNorm, int batchSize, int gradAccum,
                         int epochs, int maxSteps, int warmupSteps, double warmupRatio, LrSchedule.Kind schedule, long seed,
                         int maxLen, int saveEvery, int threads, boolean resume, ErrorPolicy onError, boolean quiet,
                         LoraConfig lora, Path initialAdapter, Path peft, Path merge, LoraMerge.Type mergeType, Double minReward)
        implements TrainerOptions {

    /** Hugging Face TrainingArguments' learning rate. */
    public static final double DEFAULT_LR = 5e-5;

    public SftOptions {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(onError, "onError");
        Objects.requireNonNull(mergeType, "mergeType");
        metrics = metrics != null ? metrics : out.resolveSibling(out.getFileName() + ".metrics.jsonl");
        checkpoint = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".ckpt");
        TrainingChecks.outputs(lora, outType, initialAdapter, peft, merge);
        TrainingChecks.optimizer(learningRate, weightDecay, maxGradNorm, warmupRatio);
        TrainingChecks.steps(batchSize, gradAccum, epochs, maxSteps, warmupSteps, saveEvery, maxLen, threads);
        if (minReward != null && !Double.isFinite(minReward)) {
            throw new IllegalArgumentException("minimum reward must be a finite number, not " + minReward);
        }
    }

    public static Builder builder(Path policy, Path data, Path out) {
        return new Builder(policy, data, out);
    }

    /** A copy to change: {@code options.toBuilder().resume(true).build()}. */
    public Builder toBuilder() {
        Builder b = new Builder(policy, data, out);
        b.outType = outType;
        b.metrics = metrics;
        b.checkpoint = checkpoint;
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
        b.peft = peft;
        b.merge = merge;
        b.mergeType = mergeType;
        b.minReward = minReward;
        return b;
    }

    /** Fills {@link SftOptions}; {@link #build()} checks the values. */
    public static final class Builder implements TrainerOptions.Builder<Builder> {
        private Path policy;
        private Path data;
        private Path out;
        private GgmlType outType;
        private Path metrics;
        private Path checkpoint;
        private double learningRate = DEFAULT_LR;
        private double weightDecay;
        private double maxGradNorm = GradClip.DEFAULT_MAX_NORM;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private int gradAccum = 1;
        private int epochs = DEFAULT_EPOCHS;
        private int maxSteps;
        private int warmupSteps;
        private double warmupRatio;
        private LrSchedule.Kind schedule = LrSchedule.Kind.LINEAR;
        private long seed = DEFAULT_SEED;
        private int maxLen;
        private int saveEvery = DEFAULT_SAVE_EVERY;
        private int threads = ContextOptions.defaultThreads();
        private boolean resume;
        private ErrorPolicy onError = ErrorPolicy.FAIL;
        private boolean quiet;
        private LoraConfig lora;
        private Path initialAdapter;
        private Path peft;
        private Path merge;
        private LoraMerge.Type mergeType = LoraMerge.Type.F16;
        private Double minReward;

        private Builder(Path policy, Path data, Path out) {
            this.policy = policy;
            this.data = data;
            this.out = out;
        }

        public Builder out(Path v) { out = v; return this; }
        public Builder outType(GgmlType v) { outType = v; return this; }
        public Builder metrics(Path v) { metrics = v; return this; }
        public Builder checkpoint(Path v) { checkpoint = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder gradAccum(int v) { gradAccum = v; return this; }
        public Builder epochs(int v) { epochs = v; return this; }
        public Builder maxSteps(int v) { maxSteps = v; return this; }
        public Builder warmupSteps(int v) { warmupSteps = v; return this; }
        public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        public Builder schedule(LrSchedule.Kind v) { schedule = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder maxLen(int v) { maxLen = v; return this; }
        public Builder saveEvery(int v) { saveEvery = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder resume(boolean v) { resume = v; return this; }
        public Builder onError(ErrorPolicy v) { onError = v; return this; }
        public Builder quiet(boolean v) { quiet = v; return this; }
        public Builder lora(LoraConfig v) { lora = v; return this; }
        public Builder initialAdapter(Path v) { initialAdapter = v; return this; }
        public Builder peft(Path v) { peft = v; return this; }
        public Builder merge(Path v) { merge = v; return this; }
        public Builder mergeType(LoraMerge.Type v) { mergeType = v; return this; }
        public Builder minReward(Double v) { minReward = v; return this; }

        /** @throws IllegalArgumentException naming the first value out of range */
        public SftOptions build() {
            return new SftOptions(policy, data, out, outType, metrics, checkpoint, learningRate, weightDecay, maxGradNorm,
                    batchSize, gradAccum, epochs, maxSteps, warmupSteps, warmupRatio, schedule, seed, maxLen, saveEvery,
                    threads, resume, onError, quiet, lora, initialAdapter, peft, merge, mergeType, minReward);
        }
    }
}
