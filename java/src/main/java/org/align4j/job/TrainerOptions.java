package org.align4j.job;

import org.align4j.job.TrainerOptions;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraMerge;
import org.align4j.train.LrSchedule;

import java.nio.file.Path;
import org.align4j.gguf.GgmlType;

/**
 * The options every training job shares (dpo's, sft's): what is trained (every weight, or a LoRA
 * adapter), the optimizer and its schedule, the data order, checkpoints and the output files. The run
 * machinery both jobs use reads them through this interface; the record accessors implement it.
 */
public interface TrainerOptions {
    int DEFAULT_BATCH_SIZE = 8;
    int DEFAULT_EPOCHS = 3;
    long DEFAULT_SEED = 42;
    int DEFAULT_SAVE_EVERY = 500;

    /** The model trained, a llama GGUF (with {@link #lora()}: the frozen base). */
    Path policy();

    Path data();

    Path out();

    GgmlType outType();

    Path metrics();

    Path checkpoint();

    double learningRate();

    double weightDecay();

    double maxGradNorm();

    int batchSize();

    int gradAccum();

    int epochs();

    int maxSteps();

    int warmupSteps();

    double warmupRatio();

    LrSchedule.Kind schedule();

    long seed();

    int maxLen();

    int saveEvery();

    int threads();

    boolean resume();

    ErrorPolicy onError();

    boolean quiet();

    LoraConfig lora();

    Path initialAdapter();

    Path peft();

    Path merge();

    /** The type {@link #merge()} is written as. */
    LoraMerge.Type mergeType();

    /** Records (pairs, sequences) per optimizer step: batch size times gradient accumulation. */
    default int perStep() {
        return Math.multiplyExact(batchSize(), gradAccum());
    }

    /**
     * The optimizer's and the step plan's setters, which every training job's builder has ({@code rm train}'s
     * too), so that one set of command-line options fills any of them.
     */
    interface OptimizerBuilder<B extends OptimizerBuilder<B>> {
        B learningRate(double v);

        B weightDecay(double v);

        B maxGradNorm(double v);

        B batchSize(int v);

        B gradAccum(int v);

        B epochs(int v);

        B maxSteps(int v);

        B warmupSteps(int v);

        B warmupRatio(double v);

        B schedule(LrSchedule.Kind v);

        B maxLen(int v);
    }

    /** The run's setters, which every training job's builder has: its files, checkpoints, error policy, threads. */
    interface RunBuilder<B extends RunBuilder<B>> {
        B metrics(Path v);

        B checkpoint(Path v);

        B saveEvery(int v);

        B resume(boolean v);

        B onError(ErrorPolicy v);

        B threads(int v);

        B quiet(boolean v);
    }

    /** The setters of these options that dpo's and sft's builders have: the optimizer's, the run's, and the adapter's. */
    interface Builder<B extends Builder<B>> extends OptimizerBuilder<B>, RunBuilder<B> {
        B lora(LoraConfig v);

        B initialAdapter(Path v);

        B peft(Path v);

        B merge(Path v);

        B mergeType(LoraMerge.Type v);
    }
}
