package org.align4j.job;

import org.align4j.train.StepOrder;
import org.align4j.train.AdamW;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LrSchedule;
import org.align4j.train.OptimizerStep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;
import org.align4j.Align4jException;
import org.align4j.data.JsonlWriter;

/**
 * The run machinery every training job ({@code dpo}, {@code sft}, {@code rm train}) shares, around its own step: the output's lock, the
 * checkpoint to resume from and the check that it is of the same data and settings, the model or adapter
 * trained ({@link TrainedModel}), the step plan and learning-rate schedule, AdamW, and the step loop:
 * each step's metrics line (a resumed run first keeps the lines of the steps its checkpoint covers), a
 * checkpoint every {@code saveEvery} steps and at the end, and progress at most once a second; the job
 * then writes its result ({@link TrainedModel#write}, {@link TrainedModel#writeWithHead}).
 */
public final class TrainingRun {
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

    /** One optimizer step's figures, as a job records them. */
    public interface Step {
        /** Steps taken, this one included. */
        int step();

        double epoch();

        /** Tokens the step's forward and backward passes covered. */
        long tokens();

        /** Its metrics line. */
        ObjectNode toJson();
    }

    /**
     * The steps of a run and its learning rate over them.
     *
     * @param total  optimizer steps in all: {@code maxSteps}, else {@code epochs} passes
     * @param warmup {@code warmupSteps}, else ceil(warmupRatio * total)
     */
    public record Plan(int total, int warmup, LrSchedule schedule) {}

    /** What the step loop did in this invocation; first and last are null if it took no step. */
    public record Outcome<S>(S first, S last, long tokens, double seconds) {}

    private final String job;
    private final TrainerOptions o;
    private final PrintWriter log;
    private final RunCheckpoint.Loaded resumed;
    private final TrainedModel trained;

    private TrainingRun(String job, TrainerOptions o, PrintWriter log, RunCheckpoint.Loaded resumed, TrainedModel trained) {
        this.job = job;
        this.o = o;
        this.log = log;
        this.resumed = resumed;
        this.trained = trained;
    }

    /**
     * Takes {@code o.out()}'s lock, reads the checkpoint under {@code resume} (refusing to start over one
     * without it), opens what is trained and runs {@code body}; closes them after.
     */
    public static <R> R run(String job, TrainerOptions o, PrintWriter log, Function<TrainingRun, R> body) {
        if (Files.isDirectory(o.out())) {
            throw new Align4jException(o.out() + " is a directory: --out names the model file to write, such as "
                    + o.out().resolve("model.gguf"));
        }
        try (OutputLock lock = OutputLock.take(o.out(), job)) {
            if (!o.resume() && Files.exists(o.checkpoint())) {
                throw new Align4jException("a checkpoint of an earlier run is at " + o.checkpoint()
                        + ": pass --resume to continue that run, or remove it");
            }
            RunCheckpoint.Loaded resumed = o.resume() ? RunCheckpoint.read(o.checkpoint(), job) : null;
            try (TrainedModel trained = TrainedModel.open(o, resumed)) {
                return body.apply(new TrainingRun(job, o, log, resumed, trained));
            }
        }
    }

    public TrainedModel trained() {
        return trained;
    }

    /** The checkpoint this run continues; null for a fresh run. */
    public RunCheckpoint.Loaded resumed() {
        return resumed;
    }

    /** Longest prompt + completion accepted: {@code maxLen}, else the model's context. */
    public int maxLen() {
        return o.maxLen() > 0 ? o.maxLen() : trained.shape().ctx();
    }

    public Plan plan(StepOrder order) {
        int total = o.maxSteps() > 0 ? o.maxSteps() : Math.multiplyExact(o.epochs(), order.stepsPerEpoch());
        int warmup = o.warmupSteps() > 0 ? o.warmupSteps() : (int) Math.ceil(o.warmupRatio() * total);
        return new Plan(total, warmup, new LrSchedule(o.schedule(), o.learningRate(), Math.min(warmup, total), total));
    }

    /**
     * The settings a resumed run must share with the run it continues, those of the optimizer, the plan
     * and the adapter; total_steps among them, since the learning-rate schedule is laid out over it.
     */
    public Map<String, String> settings(Plan plan, int maxLen) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("learning_rate", Double.toString(o.learningRate()));
        m.put("weight_decay", Double.toString(o.weightDecay()));
        m.put("max_grad_norm", Double.toString(o.maxGradNorm()));
        m.put("batch_size", Integer.toString(o.batchSize()));
        m.put("grad_accum", Integer.toString(o.gradAccum()));
        m.put("schedule", o.schedule().cliName());
        m.put("warmup_steps", Integer.toString(plan.warmup()));
        m.put("seed", Long.toString(o.seed()));
        m.put("max_len", Integer.toString(maxLen));
        m.put("total_steps", Integer.toString(plan.total()));
        if (o.lora() != null) {
            m.put(RunCheckpoint.LORA_RANK, Integer.toString(o.lora().rank()));
            m.put("lora_alpha", Float.toString(o.lora().alpha()));
            m.put("lora_targets", o.lora().targetNames());
            if (o.lora().dropout() > 0) { // absent at 0, as in checkpoints from before --lora-dropout
                m.put("lora_dropout", Float.toString(o.lora().dropout()));
            }
            if (o.initialAdapter() != null) {
                m.put("lora_initial_adapter", o.initialAdapter().toString());
            }
        }
        return m;
    }

    /**
     * The step to start at: 0 for a fresh run; for a resumed one its checkpoint's step, once the checkpoint
     * is found to be of this data and these settings, and with its trained tensors restored.
     *
     * @param records what the data holds, in words ("pairs"), for the message
     */
    public int start(String fingerprint, Map<String, String> settings, String records) {
        if (resumed == null) {
            return 0;
        }
        int start = resumed.state().resumeStep(o.checkpoint(), fingerprint, settings, records, o.data());
        trained.restore(resumed);
        return start;
    }

    /** Prints the run's first line, and where it resumes. */
    public void logStart(String line, int start) {
        if (!o.quiet()) {
            log.println(line + trained.describe());
            if (start > 0) {
                log.println(job + ": resuming at step " + start + " from " + o.checkpoint());
            }
            log.flush();
        }
    }

    /** Clip, schedule and AdamW over {@code trainer}'s parameters; AdamW's state from the checkpoint when resumed. */
    public OptimizerStep optimizer(LlamaTrainer trainer, LrSchedule schedule) {
        OptimizerStep update = new OptimizerStep(trainer, schedule, o.weightDecay(), o.maxGradNorm());
        if (resumed != null) {
            update.adam().loadState(resumed.state().optimizerSteps(), resumed.optimizerState());
        }
        return update;
    }

    /**
     * Takes steps {@code start} to {@code total} - 1 with {@code step}, then writes the last checkpoint
     * (the job writes the result). {@code onStep} sees each step once its metrics line is written (and any checkpoint at
     * that step); an exception from it stops the run where it is, as a crash would.
     *
     * @param state   the checkpoint's state at step 0 (its step is set as the run goes)
     * @param figures the job's figures on its progress line ("loss 0.6931, accuracy ...")
     */
    public <S extends Step> Outcome<S> steps(OptimizerStep update, RunCheckpoint state, int start, int total, IntFunction<S> step,
                                      Function<S, String> figures, Consumer<? super S> onStep) {
        AdamW adam = update.adam();
        long startNanos = System.nanoTime();
        long lastPrint = startNanos;
        S first = null;
        S last = null;
        long tokens = 0;
        try (JsonlWriter metrics = MetricsFile.open(o.metrics(), start)) {
            for (int s = start; s < total; s++) {
                S taken = step.apply(s);
                tokens += taken.tokens();
                first = first == null ? taken : first;
                last = taken;
                metrics.write(taken.toJson());
                if (o.saveEvery() > 0 && taken.step() % o.saveEvery() == 0 && taken.step() < total) {
                    trained.checkpoint(state.withStep(taken.step(), adam.steps()), adam);
                }
                long now = System.nanoTime();
                if (!o.quiet() && (now - lastPrint >= PROGRESS_INTERVAL_NANOS || taken.step() == total)) {
                    lastPrint = now;
                    log.println(progressLine(taken, total, figures.apply(taken), tokens, (now - startNanos) / 1e9,
                            taken.step() - start));
                    log.flush();
                }
                onStep.accept(taken);
            }
        }
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        trained.checkpoint(state.withStep(total, adam.steps()), adam);
        return new Outcome<>(first, last, tokens, seconds);
    }

    private String progressLine(Step s, int total, String figures, long tokens, double seconds, int stepsRun) {
        long eta = stepsRun > 0 ? Math.round((total - s.step()) * seconds / stepsRun) : 0;
        return String.format(Locale.ROOT, "%s: step %d/%d (epoch %.2f), %s, %.0f tokens/s, ETA %d:%02d:%02d", job, s.step(),
                total, s.epoch(), figures, seconds > 0 ? tokens / seconds : 0.0, eta / 3600, eta / 60 % 60, eta % 60);
    }

    /** Every step of the metrics file, read back (so a resumed run's plot has every step). */
    public <S> List<S> metrics(Function<JsonNode, S> read) {
        return MetricsFile.read(o.metrics()).stream().map(read).toList();
    }

    /** {@code M.metrics.png} beside {@code M.metrics.jsonl}. */
    public Path plotFile() {
        return MetricsFile.plotFor(o.metrics());
    }
}
