package org.align4j.dpo;

import org.align4j.train.AdamW;
import org.align4j.train.LlamaExport;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LrSchedule;
import org.align4j.train.OptimizerStep;
import org.align4j.train.Sequence;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.align4j.Align4jException;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.ResumeState;
import org.align4j.job.RecordLoop;
import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.job.LinePlot;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.data.PromptCompletionRecord;
import org.align4j.engine.TokenizedRecord;
import org.align4j.data.TrlRecord;
import org.align4j.gguf.GgmlType;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;

/**
 * Supervised fine-tuning: trains a Llama model on prompt-completion records by the negative
 * log-likelihood of the completions, and writes it back as GGUF.
 *
 * <p>Records are tokenized by the one rule every job uses ({@link TokenizedRecord}: the prompt with BOS,
 * the completion without BOS and then EOS), so the model learns to end where the completion ends, and
 * the loss covers the completion tokens only (TRL's SFTTrainer with {@code completion_only_loss}). Each
 * optimizer step takes {@code batchSize} records in a seeded shuffled order per epoch, one forward and
 * backward over them, and minimises the mean NLL per completion token of the step; then the shared
 * {@link OptimizerStep} (clip, schedule, AdamW). Every value is a function of the model file, the
 * records and the options: the trainer's sums do not depend on the thread count, so a run is
 * reproducible bit for bit. Each step appends a metrics line ({@link SftStep}); at the end the model
 * ({@code out}) and a plot of the loss beside the metrics.
 */
public final class SftJob {
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

    /**
     * What a run did.
     *
     * @param seconds training time, first step to last (loading and writing files are not in it)
     */
    public record Result(int steps, int records, long tokens, double seconds, SftStep first, SftStep last, Path out,
                         Path metrics, Path plot) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "sft: %d steps on %d records, %d tokens in %.1f s, %.0f tokens/s; loss %.4f -> %.4f",
                    steps, records, tokens, seconds, seconds > 0 ? tokens / seconds : 0.0, first.loss(), last.loss());
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
        LlamaParams params = LlamaParams.load(o.model());
        List<Sequence> data = read(params.shape().ctx(), params.vocabSize());
        int n = data.size();
        int stepsPerEpoch = (n + o.batchSize() - 1) / o.batchSize();
        int total = o.maxSteps() > 0 ? o.maxSteps() : Math.multiplyExact(o.epochs(), stepsPerEpoch);
        LrSchedule schedule = new LrSchedule(o.schedule(), o.learningRate(), Math.min(o.warmupSteps(), total), total);
        GgmlType outType = o.outType() != null ? o.outType() : LlamaExport.defaultType(o.model());
        if (!o.quiet()) {
            log.printf(Locale.ROOT, "sft: %d records, %d steps of %d (%d per epoch), lr %s (%s), seed %d%n", n, total,
                    o.batchSize(), stepsPerEpoch, o.learningRate(), o.schedule().cliName(), o.seed());
            log.flush();
        }
        try (LlamaTrainer trainer = new LlamaTrainer(params, o.threads());
             JsonlWriter metrics = JsonlWriter.create(o.metrics())) {
            OptimizerStep update = new OptimizerStep(trainer, schedule, o.weightDecay(), o.maxGradNorm());
            List<SftStep> steps = new ArrayList<>(total);
            long startNanos = System.nanoTime();
            long lastPrint = startNanos;
            long tokens = 0;
            int[] order = null;
            for (int s = 0; s < total; s++) {
                int e = s / stepsPerEpoch;
                if (s % stepsPerEpoch == 0) {
                    order = OptimizerStep.shuffled(n, o.seed(), e);
                }
                int from = (s % stepsPerEpoch) * o.batchSize();
                int to = Math.min(n, from + o.batchSize());
                List<Sequence> batch = new ArrayList<>(to - from);
                long scored = 0, stepTokens = 0;
                for (int j = from; j < to; j++) {
                    Sequence q = data.get(order[j]);
                    batch.add(q);
                    scored += q.scored();
                    stepTokens += q.tokens().length;
                }
                double perToken = 1.0 / scored;
                LlamaTrainer.Step fb = trainer.forwardBackward(batch, (sums, dLossDSum) -> {
                    double nll = 0;
                    for (int i = 0; i < sums.length; i++) {
                        nll -= sums[i];
                        dLossDSum[i] = -perToken;
                    }
                    return nll * perToken;
                });
                OptimizerStep.Update u = update.apply(s);
                SftStep step = new SftStep(s + 1, (double) (s + 1) / stepsPerEpoch, fb.loss(), u.gradNorm(),
                        u.learningRate(), batch.size(), scored, stepTokens);
                steps.add(step);
                metrics.write(step.toJson());
                tokens += stepTokens;
                long now = System.nanoTime();
                if (!o.quiet() && (now - lastPrint >= PROGRESS_INTERVAL_NANOS || s + 1 == total)) {
                    lastPrint = now;
                    double sec = (now - startNanos) / 1e9;
                    long eta = Math.round((total - s - 1) * sec / (s + 1));
                    log.printf(Locale.ROOT, "sft: step %d/%d (epoch %.2f), loss %.4f, lr %.3g, %.0f tokens/s, ETA %d:%02d%n",
                            s + 1, total, step.epoch(), step.loss(), step.learningRate(), tokens / sec, eta / 60, eta % 60);
                    log.flush();
                }
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            LlamaExport.write(params, o.out(), outType);
            Path plot = plot(steps);
            return new Result(total, n, tokens, seconds, steps.getFirst(), steps.getLast(), o.out(), o.metrics(), plot);
        }
    }

    // Every record as one sequence, prompt + completion, scored from the completion's first token.
    private List<Sequence> read(int maxLen, int vocabSize) {
        List<Sequence> out = new ArrayList<>();
        try (Model vocab = Model.load(o.model(), ModelOptions.VOCAB_ONLY);
             JsonlReader reader = JsonlReader.open(o.data())) {
            LlamaChatRenderer renderer = new LlamaChatRenderer(vocab);
            RecordLoop.run(reader, ResumeState.empty(), ErrorPolicy.FAIL, TrlRecord::parse, record -> {
                if (!(record instanceof PromptCompletionRecord)) {
                    throw new BadRecordException(record.file(), record.lineNumber(),
                            "sft trains on prompt-completion records (\"prompt\", \"completion\")");
                }
                TokenizedRecord t = TokenizedRecord.of(record, vocab.vocab(), renderer);
                if (t.longestSequence() > maxLen) {
                    throw new BadRecordException(record.file(), record.lineNumber(), "prompt + completion is "
                            + t.longestSequence() + " tokens, more than the model's context of " + maxLen);
                }
                int[] tokens = DpoData.concat(t.prompt(), t.completions()[0]);
                for (int id : tokens) {
                    if (id < 0 || id >= vocabSize) {
                        throw new BadRecordException(record.file(), record.lineNumber(), "token id " + id
                                + " is outside the model's vocabulary of " + vocabSize);
                    }
                }
                out.add(new Sequence(tokens, t.prompt().length));
            }, () -> {}, (line, why) -> {});
        }
        if (out.isEmpty()) {
            throw new Align4jException(o.data() + ": no records to train on");
        }
        return out;
    }

    private Path plot(List<SftStep> steps) {
        String name = o.metrics().getFileName().toString();
        Path png = o.metrics().resolveSibling((name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name) + ".png");
        double[] x = steps.stream().mapToDouble(SftStep::step).toArray();
        new LinePlot("sft on " + o.data().getFileName(), "step", "NLL per completion token (nats)")
                .series("loss", x, steps.stream().mapToDouble(SftStep::loss).toArray())
                .writePng(png);
        return png;
    }
}
