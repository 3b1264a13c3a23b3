package org.align4j.cli;

import java.nio.file.Path;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.TrainerOptions;
import org.align4j.llama.ContextOptions;
import picocli.CommandLine.Option;

/** The run options every trainer command shares ({@code dpo}, {@code sft}, {@code rm train}): files, checkpoints, errors, threads. */
final class TrainingRunOptions {
    @Option(names = "--metrics", paramLabel = "FILE", description = "per-step metrics (default: OUT.metrics.jsonl)")
    Path metrics;

    @Option(names = "--checkpoint", paramLabel = "FILE", description = "checkpoint file (default: OUT.ckpt)")
    Path checkpoint;

    @Option(names = "--save-every", paramLabel = "STEPS", description = "checkpoint interval; 0: only at the end (default: ${DEFAULT-VALUE})")
    int saveEvery = TrainerOptions.DEFAULT_SAVE_EVERY;

    @Option(names = "--resume", description = "continue the run saved in the checkpoint (same data and settings)")
    boolean resume;

    @Option(names = "--on-error", paramLabel = "fail|skip", converter = OnError.class,
            description = "on a bad record: stop (exit 1) or log it to OUT.rejects.jsonl and go on (default: fail)")
    ErrorPolicy onError = ErrorPolicy.FAIL;

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads, 1 to " + ContextOptions.MAX_THREADS + " (default: all cores)")
    int threads = ContextOptions.defaultThreads();

    @Option(names = "--quiet", description = "no progress on stderr (the summary still prints)")
    boolean quiet;

    /** Sets these options on {@code b}. */
    <B extends TrainerOptions.RunBuilder<B>> B applyTo(B b) {
        return b.metrics(metrics)
                .checkpoint(checkpoint)
                .saveEvery(saveEvery)
                .resume(resume)
                .onError(onError)
                .threads(threads)
                .quiet(quiet);
    }
}
