package org.align4j.job;

import org.align4j.train.LoraConfig;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.ContextOptions;

/** The range checks of every training job's options; each throws IllegalArgumentException naming the value. */
public final class TrainingChecks {
    private TrainingChecks() {}

    /** What is trained and written: a LoRA run writes an f32 adapter, and only it has an initial adapter, PEFT or merged output. */
    public static void outputs(LoraConfig lora, GgmlType outType, Path initialAdapter, Path peft, Path merge) {
        if (lora != null && outType != null) {
            throw new IllegalArgumentException("a LoRA run writes the adapter (f32), not a model of a type: leave out the out type");
        }
        if (initialAdapter != null && lora == null) {
            throw new IllegalArgumentException("an initial adapter needs a LoRA run (--lora-rank)");
        }
        if (peft != null && lora == null) {
            throw new IllegalArgumentException("a PEFT adapter is written only by a LoRA run: add a LoRA rank");
        }
        if (merge != null && lora == null) {
            throw new IllegalArgumentException("a merged model is written only by a LoRA run: add a LoRA rank");
        }
        if (outType != null && outType != GgmlType.F32 && outType != GgmlType.F16) {
            throw new IllegalArgumentException("the trained model is written as f32 or f16, not " + outType);
        }
    }

    /** The optimizer's rates. */
    public static void optimizer(double learningRate, double weightDecay, double maxGradNorm, double warmupRatio) {
        atLeast("learning rate", learningRate, 0);
        atLeast("weight decay", weightDecay, 0);
        atLeast("max gradient norm", maxGradNorm, 0);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new IllegalArgumentException("warm-up ratio must be in [0, 1], not " + warmupRatio);
        }
    }

    /** The step counts, sizes and lengths. */
    public static void steps(int batchSize, int gradAccum, int epochs, int maxSteps, int warmupSteps, int saveEvery, int maxLen,
                      int threads) {
        positive("batch size", batchSize);
        positive("gradient accumulation", gradAccum);
        ContextOptions.checkThreads(threads, "threads");
        if (epochs < 1 && maxSteps < 1) {
            throw new IllegalArgumentException("need epochs >= 1 or max steps >= 1");
        }
        if (maxSteps < 0 || warmupSteps < 0 || saveEvery < 0 || maxLen < 0) {
            throw new IllegalArgumentException("max steps, warm-up steps, save interval and max length must be >= 0");
        }
        if (maxLen == 1) {
            throw new IllegalArgumentException("max length must be at least 2 (a prompt token and a completion token)");
        }
        if ((long) batchSize * gradAccum > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch size " + batchSize + " x gradient accumulation " + gradAccum
                    + " per step is more than a run can hold: lower either");
        }
    }

    public static void atLeast(String what, double v, double min) {
        if (!(v >= min) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(what + " must be finite and >= " + min + ", not " + v);
        }
    }

    private static void positive(String what, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(what + " must be at least 1, not " + v);
        }
    }
}
