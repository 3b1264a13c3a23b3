package org.align4j.dpo;

import org.align4j.job.RunCheckpoint;
import org.align4j.job.TrainedModel;
import org.align4j.job.TrainingRun;
import org.align4j.train.StepOrder;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LoraDropout;
import org.align4j.train.LoraExport;
import org.align4j.train.OptimizerStep;
import org.align4j.train.Sequence;
import org.align4j.train.TrainerTimings;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.engine.TokenizedRecord;
import org.align4j.job.LinePlot;
import org.align4j.job.RejectsWriter;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;

/**
 * {@code align4j sft}: supervised fine-tuning of a Llama model on prompt-completion records (or on the
 * best completions of {@code bon} output, {@link SftData}) by the negative log-likelihood of the
 * completions, written back as GGUF, or with {@code lora} as a LoRA adapter over the frozen model.
 *
 * <p>Records are tokenized by the one rule every job uses ({@link TokenizedRecord}: the prompt with BOS,
 * the completion without BOS and then EOS), so the model learns to end where the completion ends, and
 * the loss covers the completion tokens only (TRL's SFTTrainer with {@code completion_only_loss}). Each
 * optimizer step takes {@code batchSize * gradAccum} records in a seeded shuffled order per epoch
 * ({@link StepOrder}), one forward and backward per micro-batch of {@code batchSize}, and minimises the
 * mean NLL per completion token over the step's records; then the shared {@link OptimizerStep} (clip,
 * schedule, AdamW). Around the step runs the machinery {@code dpo} has ({@link TrainingRun}): metrics per
 * step ({@link SftStep}), checkpoints every {@code saveEvery} steps and at the end, {@code resume} bit
 * for bit as a run never stopped (the trainer's sums do not depend on the thread count), the output's
 * lock; at the end the model or adapter ({@link LoraExport}; PEFT's files and a merged model when asked)
 * and a plot of the loss beside the metrics.
 */
public final class SftJob {
    private static final String JOB = "sft";

    /**
     * What a run did.
     *
     * @param steps    optimizer steps in the run, in all (a resumed run counts those before it)
     * @param stepsRun steps this invocation took
     * @param records  records trained on
     * @param fromBon  of them, best completions of bon records
     * @param belowMinReward bon records left out for a best reward below the minimum
     * @param skipped  lines refused under {@code --on-error skip}
     * @param tokens   tokens this invocation's forward and backward passes covered
     * @param seconds  this invocation's training time, first step to last (loading and writing files are not in it)
     * @param first    this invocation's first step, null if it took none
     * @param last     its last step, null if it took none
     */
    public record Result(int steps, int stepsRun, int records, long fromBon, long belowMinReward, long skipped, long tokens,
                         double seconds, TrainerTimings timings, SftStep first, SftStep last, Path out, Path metrics,
                         Path plot, Path checkpoint) {
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }

        /** {@code sft: 300 steps (300 this run) on 64 records (0 skipped), ...; last step: loss ...}. */
        @Override
        public String toString() {
            String s = String.format(Locale.ROOT, "sft: %d steps (%d this run) on %d records (%d skipped), %d tokens in %.1f s, %.0f tokens/s",
                    steps, stepsRun, records, skipped, tokens, seconds, tokensPerSecond());
            if (last != null) {
                s += String.format(Locale.ROOT, "; last step: loss %.4f", last.loss());
            }
            return s;
        }
    }

    private final SftOptions o;
    private final PrintWriter log;

    /** @param log progress and notes (the CLI's stderr) */
    public SftJob(SftOptions options, PrintWriter log) {
        this.o = Objects.requireNonNull(options, "options");
        this.log = Objects.requireNonNull(log, "log");
    }

    public Result run() {
        return run(step -> {});
    }

    /**
     * Runs the job; {@code onStep} sees each step's metrics once they are written (and after any
     * checkpoint at that step). An exception from it stops the run where it is, as a crash would: the
     * last checkpoint stays, and {@code resume} continues from it.
     */
    public Result run(Consumer<SftStep> onStep) {
        return TrainingRun.run(JOB, o, log, run -> train(run, onStep));
    }

    private Result train(TrainingRun run, Consumer<SftStep> onStep) {
        TrainedModel trained = run.trained();
        int maxLen = run.maxLen();
        SftData.Read data = readData(maxLen, trained.vocabSize());
        int n = data.size();
        StepOrder order = new StepOrder(n, o.perStep(), o.seed());
        TrainingRun.Plan plan = run.plan(order);
        int total = plan.total();
        Map<String, String> settings = run.settings(plan, maxLen);
        String fingerprint = data.fingerprint();
        int start = run.start(fingerprint, settings, "records");
        run.logStart(String.format(Locale.ROOT, "sft: %d records (%d from bon output%s, %d skipped), %d steps of %d (%d per epoch), lr %s (%s), seed %d",
                n, data.fromBon(), o.minReward() != null ? ", " + data.belowMinReward() + " below reward " + o.minReward() + " left out" : "",
                data.skipped(), total, o.perStep(), order.stepsPerEpoch(), o.learningRate(), o.schedule().cliName(), o.seed()), start);

        try (LlamaTrainer trainer = trained.trainer(o.threads())) {
            OptimizerStep update = run.optimizer(trainer, plan.schedule());
            TrainingRun.Outcome<SftStep> done = run.steps(update, RunCheckpoint.start(JOB, fingerprint, settings),
                    start, total, s -> step(s, data, order, trainer, update), SftJob::figures, onStep);
            trained.write();
            Path plot = plot(run);
            return new Result(total, total - start, n, data.fromBon(), data.belowMinReward(), data.skipped(), done.tokens(),
                    done.seconds(), trainer.timings(), done.first(), done.last(), o.out(), o.metrics(), plot, o.checkpoint());
        }
    }

    private SftData.Read readData(int maxLen, int vocabSize) {
        try (Model vocab = Model.load(o.policy(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(o.out())) {
            SftData.Read data = SftData.read(o.data(), vocab.vocab(), new LlamaChatRenderer(vocab), maxLen, vocabSize,
                    o.minReward(), o.onError(), rejects);
            if (data.size() == 0) {
                throw new Align4jException(o.data() + ": no records to train on"
                        + (data.skipped() > 0 ? " (" + data.skipped() + " skipped, see " + rejects.file() + ")" : "")
                        + (data.belowMinReward() > 0 ? " (" + data.belowMinReward() + " bon records below --min-reward " + o.minReward() + ")" : ""));
            }
            return data;
        }
    }

    // Optimizer step s (0-based): its records, forward and backward per micro-batch, clip, update.
    private SftStep step(int s, SftData.Read data, StepOrder order, LlamaTrainer trainer, OptimizerStep update) {
        int[] taken = order.step(s);
        long scored = 0, tokens = 0;
        for (int i : taken) {
            Sequence q = data.examples().get(i).sequence();
            scored += q.scored();
            tokens += q.tokens().length;
        }
        double perToken = 1.0 / scored; // the loss is the mean NLL per completion token of the whole step
        double loss = 0;
        for (int mb = 0; mb < taken.length; mb += o.batchSize()) {
            List<Sequence> batch = new ArrayList<>(o.batchSize());
            for (int j = mb; j < Math.min(taken.length, mb + o.batchSize()); j++) {
                batch.add(data.examples().get(taken[j]).sequence());
            }
            loss += trainer.forwardBackward(batch, (sums, dLossDSum) -> {
                double nll = 0;
                for (int i = 0; i < sums.length; i++) {
                    nll -= sums[i];
                    dLossDSum[i] = -perToken;
                }
                return nll * perToken;
            }, LoraDropout.passKey(o.seed(), s, mb / o.batchSize())).loss();
        }
        long optimizerStart = System.nanoTime();
        OptimizerStep.Update u = update.apply(s);
        trainer.timings().addOptimizer(System.nanoTime() - optimizerStart);
        return new SftStep(s + 1, order.epochs(s + 1), loss, u.gradNorm(), u.learningRate(), taken.length, scored, tokens);
    }

    // The loss against step, from the metrics file (so a resumed run's plot has every step).
    private Path plot(TrainingRun run) {
        List<SftStep> steps = run.metrics(SftStep::fromJson);
        if (steps.isEmpty()) {
            return null;
        }
        Path png = run.plotFile();
        double[] x = steps.stream().mapToDouble(SftStep::step).toArray();
        new LinePlot("sft on " + o.data().getFileName(), "step", "NLL per completion token (nats)")
                .series("loss", x, steps.stream().mapToDouble(SftStep::loss).toArray())
                .writePng(png);
        return png;
    }

    private static String figures(SftStep s) {
        return String.format(Locale.ROOT, "loss %.4f, lr %.3g", s.loss(), s.learningRate());
    }
}
