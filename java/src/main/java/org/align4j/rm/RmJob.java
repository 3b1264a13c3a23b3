package org.align4j.rm;

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
import org.align4j.gguf.RewardHead;
import org.align4j.job.LinePlot;
import org.align4j.job.RejectsWriter;
import org.align4j.job.RunCheckpoint;
import org.align4j.job.TrainedModel;
import org.align4j.job.TrainingRun;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LoraDropout;
import org.align4j.train.OptimizerStep;
import org.align4j.train.RewardLoss;
import org.align4j.train.ScalarHead;
import org.align4j.train.Sequence;
import org.align4j.train.StepOrder;
import org.align4j.train.TrainerTimings;

/**
 * {@code align4j rm train}: trains a reward model on preference pairs and writes it as an RM file.
 *
 * <p>The model is the base with a scalar head on the final hidden state at the last token of prompt +
 * response, the EOS appended to it ({@link ScalarHead}; w starts seeded, b at 0). Each optimizer step
 * takes B * A pairs in a seeded shuffled order per epoch ({@link StepOrder}); per micro-batch one forward
 * and backward over its chosen and rejected sequences, with {@link RewardLoss} (ranking loss with the
 * record's margin, plus {@code lmCoef} times the chosen response's NLL per token) averaged over the
 * step's pairs; then clipping, the schedule's rate and AdamW over the transformer (or a LoRA adapter)
 * and the head ({@link OptimizerStep}). Metrics per step, checkpoints (the head among their tensors) every
 * {@code saveEvery} steps and at the end, and {@code resume} bit for bit, on the run machinery {@code dpo}
 * and {@code sft} share ({@link TrainingRun}).
 *
 * <p>The RM file: a full run writes the trained model with the head's keys; a LoRA run writes the base
 * merged with the adapter, with the head's keys ({@link TrainedModel#writeWithHead}). Either way llama.cpp
 * loads it as the base architecture.
 */
public final class RmJob {
    private static final String JOB = "rm";

    /**
     * What a run did.
     *
     * @param steps    optimizer steps in the run, in all (a resumed run counts those before it)
     * @param stepsRun steps this invocation took
     * @param tokens   tokens this invocation's passes covered
     * @param seconds  this invocation's training time (first step to last)
     * @param first    this invocation's first step, null if it took none
     * @param last     its last step, null if it took none
     */
    public record Result(int steps, int stepsRun, int pairs, long skipped, long tokens, double seconds, TrainerTimings timings,
                         RmStep first, RmStep last, Path out, Path metrics, Path plot, Path checkpoint) {
        /** {@code rm: 30 steps (30 this run) on 64 pairs (0 skipped), ...; last step: loss ..., accuracy ..., margin ...}. */
        @Override
        public String toString() {
            String s = String.format(Locale.ROOT, "rm: %d steps (%d this run) on %d pairs (%d skipped), %d tokens in %.1f s",
                    steps, stepsRun, pairs, skipped, tokens, seconds);
            if (last != null) {
                s += String.format(Locale.ROOT, "; last step: loss %.4f, accuracy %.3f, margin %.4f", last.loss(), last.accuracy(),
                        last.margin());
            }
            return s;
        }
    }

    private final RmOptions o;
    private final PrintWriter log;

    /** @param log progress and notes (the CLI's stderr) */
    public RmJob(RmOptions options, PrintWriter log) {
        this.o = Objects.requireNonNull(options, "options");
        this.log = Objects.requireNonNull(log, "log");
    }

    public Result run() {
        return run(step -> {});
    }

    /**
     * Runs the job; {@code onStep} sees each step's metrics once they are written (and after any checkpoint
     * at that step). An exception from it stops the run where it is, as a crash would.
     */
    public Result run(Consumer<RmStep> onStep) {
        return TrainingRun.run(JOB, o, log, run -> train(run, onStep));
    }

    private Result train(TrainingRun run, Consumer<RmStep> onStep) {
        TrainedModel trained = run.trained();
        int maxLen = run.maxLen();
        RmData data = readData(maxLen, trained.vocabSize());
        int n = data.size();
        StepOrder order = new StepOrder(n, o.perStep(), o.seed());
        TrainingRun.Plan plan = run.plan(order);
        int total = plan.total();
        Map<String, String> settings = run.settings(plan, maxLen);
        settings.put("lm_coef", Double.toString(o.lmCoef()));
        String fingerprint = data.fingerprint();
        int start = run.start(fingerprint, settings, "pairs");
        ScalarHead head = ScalarHead.initial(trained.shape().embd(), o.seed());
        if (run.resumed() != null) {
            head.set(headOf(run.resumed().state()));
        }
        run.logStart(String.format(Locale.ROOT, "rm: %d pairs (%d skipped), %d steps of %d pairs (%d per epoch), lm_coef %s", n,
                data.skipped(), total, o.perStep(), order.stepsPerEpoch(), o.lmCoef()), start);

        try (LlamaTrainer trainer = trained.trainer(o.threads()).withHead(head)) {
            OptimizerStep update = run.optimizer(trainer, plan.schedule());
            RewardLoss loss = new RewardLoss(o.lmCoef());
            // The head's arrays are read at each checkpoint.
            RunCheckpoint state = RunCheckpoint.start(JOB, fingerprint, settings)
                    .withExtra(Map.of(ScalarHead.WEIGHTS, head.weights(), ScalarHead.BIAS, head.bias()));
            TrainingRun.Outcome<RmStep> done = run.steps(update, state, start, total, s -> step(s, order, data, trainer, loss, update),
                    RmJob::figures, onStep);
            trained.writeWithHead(head.toRewardHead());
            return new Result(total, total - start, n, data.skipped(), done.tokens(), done.seconds(), trainer.timings(), done.first(),
                    done.last(), o.out(), o.metrics(), plot(run), o.checkpoint());
        }
    }

    // The head a checkpoint holds.
    private RewardHead headOf(RunCheckpoint state) {
        float[] w = state.extra().get(ScalarHead.WEIGHTS);
        float[] b = state.extra().get(ScalarHead.BIAS);
        if (w == null || b == null) {
            throw new Align4jException(o.checkpoint() + " is a trainer checkpoint but not of a reward model run (no "
                    + ScalarHead.WEIGHTS + ")");
        }
        return new RewardHead(w, b[0]);
    }

    // Optimizer step s (0-based): the pairs it covers, forward and backward, clip, update.
    private RmStep step(int s, StepOrder order, RmData data, LlamaTrainer trainer, RewardLoss loss, OptimizerStep update) {
        int[] indices = order.step(s);
        int pairs = indices.length;
        boolean imitation = o.lmCoef() > 0;
        double lossSum = 0, chosenReward = 0, rejectedReward = 0, correct = 0;
        long tokens = 0;
        for (int mb = 0; mb < pairs; mb += o.batchSize()) {
            int m = Math.min(pairs, mb + o.batchSize()) - mb;
            List<Sequence> batch = new ArrayList<>(2 * m);
            for (int j = 0; j < m; j++) {
                RmData.Pair p = data.pairs().get(indices[mb + j]);
                batch.add(p.chosenSequence(imitation));
                batch.add(p.rejectedSequence());
                tokens += p.tokens();
            }
            double[] sums = trainer.forward(batch, LoraDropout.passKey(o.seed(), s, mb / o.batchSize())).sums(); // (2m,): chosen, rejected of each pair
            double[] rewards = trainer.rewards(); // (2m,)
            double[] dLossDSum = new double[2 * m];
            double[] dLossDReward = new double[2 * m];
            for (int j = 0; j < m; j++) {
                RmData.Pair p = data.pairs().get(indices[mb + j]);
                RewardLoss.Result r;
                try {
                    r = loss.compute(new RewardLoss.Pair(rewards[2 * j], rewards[2 * j + 1], p.margin(), sums[2 * j], p.chosen().length));
                } catch (IllegalArgumentException ex) {
                    throw new Align4jException(p.location() + ": " + ex.getMessage() + " (step " + (s + 1) + "; try a lower --lr)", ex);
                }
                dLossDSum[2 * j] = r.dChosenLogp() / pairs;
                dLossDReward[2 * j] = r.dChosenReward() / pairs;
                dLossDReward[2 * j + 1] = r.dRejectedReward() / pairs;
                lossSum += r.loss();
                chosenReward += rewards[2 * j];
                rejectedReward += rewards[2 * j + 1];
                correct += rewards[2 * j] > rewards[2 * j + 1] ? 1 : 0;
            }
            trainer.backward(dLossDSum, dLossDReward);
        }
        long optimizerStart = System.nanoTime();
        OptimizerStep.Update u = update.apply(s);
        trainer.timings().addOptimizer(System.nanoTime() - optimizerStart);
        return new RmStep(s + 1, order.epochs(s + 1), lossSum / pairs, correct / pairs, chosenReward / pairs, rejectedReward / pairs,
                u.gradNorm(), u.learningRate(), pairs, tokens);
    }

    private RmData readData(int maxLen, int vocabSize) {
        try (Model vocab = Model.load(o.model(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(o.out())) {
            RmData data = RmData.read(o.data(), vocab.vocab(), new LlamaChatRenderer(vocab), maxLen, vocabSize, o.onError(), rejects);
            if (data.size() == 0) {
                throw new Align4jException(o.data() + ": no usable preference pairs" + (data.skipped() > 0
                        ? " (" + data.skipped() + " skipped, see " + rejects.file() + ")" : ""));
            }
            return data;
        }
    }

    // Loss, margin and accuracy against step, from the metrics file (so a resumed run's plot has every step).
    private Path plot(TrainingRun run) {
        List<RmStep> steps = run.metrics(RmStep::fromJson);
        if (steps.isEmpty()) {
            return null;
        }
        Path png = run.plotFile();
        double[] x = steps.stream().mapToDouble(RmStep::step).toArray();
        new LinePlot("rm train on " + o.data().getFileName(), "step", "")
                .series("loss", x, steps.stream().mapToDouble(RmStep::loss).toArray())
                .series("margin", x, steps.stream().mapToDouble(RmStep::margin).toArray())
                .series("accuracy", x, steps.stream().mapToDouble(RmStep::accuracy).toArray())
                .writePng(png);
        return png;
    }

    // The progress line's figures.
    private static String figures(RmStep s) {
        return String.format(Locale.ROOT, "loss %.4f, accuracy %.3f, margin %.4f", s.loss(), s.accuracy(), s.margin());
    }
}
