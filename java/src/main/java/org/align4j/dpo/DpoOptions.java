package org.align4j.dpo;

import org.align4j.job.AdapterFile;
import org.align4j.job.TrainerOptions;
import org.align4j.job.TrainingChecks;
import org.align4j.train.GradClip;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import org.align4j.train.LrSchedule;
import org.align4j.train.PreferenceLoss;

import java.nio.file.Path;
import java.util.Objects;
import org.align4j.job.ErrorPolicy;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.ContextOptions;

/**
 * Everything a {@link DpoJob} run needs. Defaults are TRL's DPOConfig / Hugging Face TrainingArguments'
 * where those have one (beta 0.1, lr 1e-6, batch 8, 3 epochs, linear schedule, no warm-up, no weight
 * decay, max grad norm 1.0, seed 42), except {@code maxLen}, which defaults to the policy's context
 * length. Build with {@link #builder}.
 *
 * @param policy      the model trained, a llama GGUF (F32, F16, BF16 or Q8_0)
 * @param reference   the reference model, or null: reference log-probs then come from the dataset's
 *                    {@code ref_chosen_logps}/{@code ref_rejected_logps} columns when every pair has
 *                    them, else from the initial policy
 * @param data        preference records (TRL's prompt/chosen/rejected, plain or conversational)
 * @param out         the trained policy, a GGUF
 * @param outType     F32 or F16 matrices in {@code out} (norm weights stay F32); null: F32 when every
 *                    matrix of the policy file is F32, else F16
 * @param metrics     per-step metrics (JSONL); a PNG plot is written beside it
 * @param checkpoint  where the run's state is saved every {@code saveEvery} steps and at the end
 * @param maxLen      longest prompt + completion accepted, in tokens; 0: the policy's context length
 * @param batchSize   pairs per micro-batch (one forward and backward)
 * @param gradAccum   micro-batches per optimizer step
 * @param epochs      passes over the pairs, when {@code maxSteps} is 0
 * @param maxSteps    optimizer steps in all; 0: {@code epochs} passes
 * @param warmupSteps linear warm-up steps; 0: ceil(warmupRatio * total steps)
 * @param maxGradNorm clip the global gradient norm to this; 0: no clipping
 * @param saveEvery   checkpoint every this many steps (0: only at the end)
 * @param threads     trainer and llama.cpp threads
 * @param rpoAlpha    weight of the NLL of the chosen completion added to the loss (TRL's {@code rpo_alpha}, RPO:
 *                    Pang et al. 2024, arXiv 2404.19733): per pair, rpoAlpha * -logp_chosen / L_chosen; 0: none
 * @param gpuLayers   layers llama.cpp offloads when it computes reference log-probs
 * @param quiet       no progress lines
 * @param lora        null: train every parameter; else train only a LoRA adapter of these settings over the
 *                    policy's weights, frozen in their file type, and write the adapter to {@code out}
 * @param initialAdapter with {@code lora}: a LoRA adapter of the same settings over the same base to continue
 *                    training from, a GGUF or a PEFT directory ({@link AdapterFile}; the previous round's, in
 *                    {@code loop --lora-rank}); null: B starts at zero
 * @param peft        null, or (with {@code lora}) a directory that also gets the adapter in PEFT's format
 *                    ({@link org.align4j.train.PeftAdapter})
 * @param merge       null, or (with {@code lora}) a file that also gets the base with the adapter merged in
 *                    ({@link org.align4j.train.LoraMerge})
 * @param mergeType   the type {@code merge} is written as (F16: as llama-export-lora); unused without {@code merge}
 */
public record DpoOptions(Path policy, Path reference, Path data, Path out, GgmlType outType, Path metrics, Path checkpoint,
                         PreferenceLoss loss, double rpoAlpha, double learningRate, double weightDecay, double maxGradNorm,
                         int batchSize, int gradAccum, int epochs, int maxSteps, int warmupSteps, double warmupRatio,
                         LrSchedule.Kind schedule, long seed, int maxLen, int saveEvery, int threads, int gpuLayers,
                         boolean resume, ErrorPolicy onError, boolean quiet, LoraConfig lora, Path initialAdapter, Path peft, Path merge,
                         LoraMerge.Type mergeType)
        implements TrainerOptions {

    public static final double DEFAULT_LR = 1e-6;

    public DpoOptions {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(loss, "loss");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(onError, "onError");
        Objects.requireNonNull(mergeType, "mergeType");
        metrics = metrics != null ? metrics : out.resolveSibling(out.getFileName() + ".metrics.jsonl");
        checkpoint = checkpoint != null ? checkpoint : out.resolveSibling(out.getFileName() + ".ckpt");
        TrainingChecks.outputs(lora, outType, initialAdapter, peft, merge);
        TrainingChecks.atLeast("rpo alpha", rpoAlpha, 0);
        TrainingChecks.optimizer(learningRate, weightDecay, maxGradNorm, warmupRatio);
        TrainingChecks.steps(batchSize, gradAccum, epochs, maxSteps, warmupSteps, saveEvery, maxLen, threads);
    }

    /** Options with the defaults above; {@code loss} defaults to sigmoid (DPO) with beta 0.1. */
    public static Builder builder(Path policy, Path data, Path out) {
        return new Builder(policy, data, out);
    }

    /** A copy to change: {@code options.toBuilder().resume(true).build()}. */
    public Builder toBuilder() {
        Builder b = new Builder(policy, data, out);
        b.reference = reference;
        b.outType = outType;
        b.metrics = metrics;
        b.checkpoint = checkpoint;
        b.loss = loss;
        b.rpoAlpha = rpoAlpha;
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
        b.gpuLayers = gpuLayers;
        b.resume = resume;
        b.onError = onError;
        b.quiet = quiet;
        b.lora = lora;
        b.initialAdapter = initialAdapter;
        b.peft = peft;
        b.merge = merge;
        b.mergeType = mergeType;
        return b;
    }

    /** Fills {@link DpoOptions}; {@link #build()} checks the values. */
    public static final class Builder implements TrainerOptions.Builder<Builder> {
        private Path policy;
        private Path data;
        private Path out;
        private Path reference;
        private GgmlType outType;
        private Path metrics;
        private Path checkpoint;
        private PreferenceLoss loss = PreferenceLoss.withDefaults(PreferenceLoss.Kind.SIGMOID);
        private double rpoAlpha;
        private double learningRate = DEFAULT_LR;
        private double weightDecay = 0;
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
        private int gpuLayers;
        private boolean resume;
        private ErrorPolicy onError = ErrorPolicy.FAIL;
        private boolean quiet;
        private LoraConfig lora;
        private Path initialAdapter;
        private Path peft;
        private Path merge;
        private LoraMerge.Type mergeType = LoraMerge.Type.F16;

        private Builder(Path policy, Path data, Path out) {
            this.policy = policy;
            this.data = data;
            this.out = out;
        }

        public Builder policy(Path v) { policy = v; return this; }
        public Builder data(Path v) { data = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder reference(Path v) { reference = v; return this; }
        public Builder outType(GgmlType v) { outType = v; return this; }
        public Builder metrics(Path v) { metrics = v; return this; }
        public Builder checkpoint(Path v) { checkpoint = v; return this; }
        public Builder loss(PreferenceLoss v) { loss = v; return this; }
        public Builder rpoAlpha(double v) { rpoAlpha = v; return this; }
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
        public Builder gpuLayers(int v) { gpuLayers = v; return this; }
        public Builder resume(boolean v) { resume = v; return this; }
        public Builder onError(ErrorPolicy v) { onError = v; return this; }
        public Builder quiet(boolean v) { quiet = v; return this; }
        public Builder lora(LoraConfig v) { lora = v; return this; }
        public Builder initialAdapter(Path v) { initialAdapter = v; return this; }
        public Builder peft(Path v) { peft = v; return this; }
        public Builder merge(Path v) { merge = v; return this; }
        public Builder mergeType(LoraMerge.Type v) { mergeType = v; return this; }

        /** @throws IllegalArgumentException naming the first value out of range */
        public DpoOptions build() {
            return new DpoOptions(policy, reference, data, out, outType, metrics, checkpoint, loss, rpoAlpha, learningRate,
                    weightDecay, maxGradNorm, batchSize, gradAccum, epochs, maxSteps, warmupSteps, warmupRatio, schedule,
                    seed, maxLen, saveEvery, threads, gpuLayers, resume, onError, quiet, lora, initialAdapter, peft, merge, mergeType);
        }
    }
}
