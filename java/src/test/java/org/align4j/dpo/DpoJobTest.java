package org.align4j.dpo;

import org.align4j.job.RunCheckpoint;
import org.align4j.train.DpoTestData;
import org.align4j.train.LlamaExport;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.LrSchedule;
import org.align4j.train.PreferenceLoss;
import org.align4j.train.Sequence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.job.ErrorPolicy;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.job.RejectsWriter;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.score.ScoreJob;
import java.util.stream.Stream;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The DPO job end to end on a small synthetic model ({@link DpoTestData#SHAPE}) with real llama.cpp for
 * tokenization, reference log-probs and loading what it writes.
 */
class DpoJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double ENGINE_TOLERANCE = 1e-3; // nats on a sum: llama.cpp vs the Java forward (ScorerVsReferenceForwardTest)

    @TempDir static Path models;
    @TempDir Path tmp;
    static Path policy;
    static Path reference;

    @BeforeAll
    static void writeModels() {
        policy = DpoTestData.model(models, "policy", GgmlType.F32, 1);
        reference = DpoTestData.model(models, "reference", GgmlType.F32, 2);
    }

    static DpoOptions.Builder options(Path data, Path out) {
        return DpoOptions.builder(policy, data, out).threads(2).quiet(true);
    }

    static DpoJob.Result run(DpoOptions options, List<DpoStep> steps) {
        StringWriter log = new StringWriter();
        try {
            return new DpoJob(options, new PrintWriter(log, true)).run(steps::add);
        } finally {
            System.out.print(log);
        }
    }

    static DpoStep firstStep(DpoOptions options) {
        List<DpoStep> steps = new ArrayList<>();
        run(options, steps);
        return steps.getFirst();
    }

    @Test
    void sigmoidDpoLearnsAConsistentPreference() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(32, 7));
        Path out = tmp.resolve("out.gguf");
        List<DpoStep> steps = new ArrayList<>();
        DpoJob.Result r = run(options(data, out).learningRate(1e-3).maxSteps(200).batchSize(8)
                .schedule(LrSchedule.Kind.CONSTANT).saveEvery(0).build(), steps);
        System.out.println(r);
        assertThat(steps).hasSize(200);
        DpoStep first = steps.getFirst();
        DpoStep last = steps.getLast();
        double firstAccuracy = mean(steps.subList(0, 4), DpoStep::accuracy); // the first epoch: every pair once
        double lastAccuracy = mean(steps.subList(196, 200), DpoStep::accuracy);
        double lastMargin = mean(steps.subList(196, 200), DpoStep::margin);
        System.out.printf("learning: first epoch accuracy %.3f, margin %.4f, loss %.4f -> last epoch accuracy %.3f, margin %.4f, loss %.4f%n",
                firstAccuracy, mean(steps.subList(0, 4), DpoStep::margin), mean(steps.subList(0, 4), DpoStep::loss),
                lastAccuracy, lastMargin, mean(steps.subList(196, 200), DpoStep::loss));
        // Step 1: the policy is the reference, so the margin is only llama.cpp vs Java rounding and the loss log 2.
        assertThat(first.margin()).isCloseTo(0, within(PreferenceLoss.DEFAULT_BETA * 2 * ENGINE_TOLERANCE));
        assertThat(first.loss()).isCloseTo(Math.log(2), within(1e-3));
        assertThat(lastAccuracy).isGreaterThanOrEqualTo(0.9);
        assertThat(lastMargin).isGreaterThan(1.0);
        assertThat(last.loss()).isLessThan(0.3);
        assertThat(steps).extracting(DpoStep::step).containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, 200).boxed().toList());
        assertThat(steps.get(3).epoch()).isEqualTo(1.0);

        List<String> metrics = Files.readAllLines(r.metrics());
        assertThat(metrics).hasSize(200);
        JsonNode line = JSON.readTree(metrics.getLast());
        for (String name : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                "logps/chosen", "logps/rejected", "grad_norm", "learning_rate", "step", "epoch")) {
            assertThat(line.has(name)).as(name).isTrue();
        }
        assertThat(line.get("learning_rate").asDouble()).isEqualTo(1e-3);
        assertThat(r.metrics()).isEqualTo(tmp.resolve("out.gguf.metrics.jsonl"));
        assertThat(r.plot()).isEqualTo(tmp.resolve("out.gguf.metrics.png"));
        assertThat(Files.size(r.plot())).isPositive();
        assertThat(r.checkpoint()).exists();
    }

    static double mean(List<DpoStep> steps, java.util.function.ToDoubleFunction<DpoStep> f) {
        return steps.stream().mapToDouble(f).average().orElseThrow();
    }

    /**
     * A run that crashes after step 7 (checkpoints every 4 steps) and is resumed ends with the same
     * weights, bit for bit, as one that ran straight through; the resumed part even runs on another
     * number of threads. 20 pairs, 8 per step (2 micro-batches of 4): 3 steps per epoch, the last with 4
     * pairs, so 12 steps cross 3 epoch boundaries; linear decay after 3 warm-up steps.
     */
    @Test
    void aResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(20, 3));
        DpoOptions.Builder base = options(data, tmp.resolve("straight.gguf")).learningRate(1e-3).maxSteps(12).batchSize(4)
                .gradAccum(2).warmupSteps(3).weightDecay(0.01).saveEvery(4);
        List<DpoStep> straight = new ArrayList<>();
        DpoJob.Result a = run(base.build(), straight);

        DpoOptions interrupted = base.out(tmp.resolve("resumed.gguf")).build();
        List<DpoStep> before = new ArrayList<>();
        assertThatThrownBy(() -> new DpoJob(interrupted, new PrintWriter(new StringWriter())).run(s -> {
            before.add(s);
            if (s.step() == 7) {
                throw new IllegalStateException("killed");
            }
        })).hasMessage("killed");
        assertThat(Files.readAllLines(interrupted.metrics())).hasSize(7);
        assertThat(RunCheckpoint.read(interrupted.checkpoint(), "dpo").state().step()).isEqualTo(4);

        List<DpoStep> after = new ArrayList<>();
        DpoJob.Result c = run(interrupted.toBuilder().resume(true).threads(1).build(), after);
        assertThat(after).extracting(DpoStep::step).containsExactly(5, 6, 7, 8, 9, 10, 11, 12);
        assertThat(c.steps()).isEqualTo(12);
        assertThat(c.stepsRun()).isEqualTo(8);

        LlamaParams x = LlamaParams.load(a.out());
        LlamaParams y = LlamaParams.load(c.out());
        long differing = 0;
        double maxDiff = 0;
        for (LlamaParams.Tensor t : x.tensors()) {
            float[] u = t.data();
            float[] v = y.tensor(t.name()).data();
            for (int i = 0; i < u.length; i++) {
                if (Float.floatToRawIntBits(u[i]) != Float.floatToRawIntBits(v[i])) {
                    differing++;
                    maxDiff = Math.max(maxDiff, Math.abs(u[i] - v[i]));
                }
            }
        }
        System.out.printf("resume: %d of %d parameters differ from the uninterrupted run (max |diff| %.3g)%n",
                differing, x.tensors().stream().mapToLong(t -> t.data().length).sum(), maxDiff);
        assertThat(differing).isZero();
        assertThat(Files.readAllLines(c.metrics())).as("metrics: each step once, the same values")
                .containsExactlyElementsOf(Files.readAllLines(a.metrics()));
        assertThat(straight.get(6)).isEqualTo(before.get(6));
    }

    /**
     * Reference log-probs: computed with llama.cpp on --ref they equal {@code align4j score}'s columns;
     * given as columns they are used as they are, so shifting ref_chosen_logps by delta moves the
     * first step's chosen reward by exactly -beta delta and its loss to softplus(-(margin - beta delta)).
     */
    @Test
    void referenceColumnsAreUsedAsGivenAndComputedOnesMatchScore() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(4, 11));
        Path scored = tmp.resolve("scored.jsonl");
        try (Model p = Model.load(policy, ModelOptions.DEFAULT); Model r = Model.load(reference, ModelOptions.DEFAULT)) {
            ScoreJob.run(p, r, ScoreJob.Options.of(data, scored, new ScorerOptions(64, 512, 16, 2, true)).withQuiet(true));
        }
        List<JsonNode> rows = new ArrayList<>();
        for (String l : Files.readAllLines(scored)) {
            rows.add(JSON.readTree(l));
        }

        double[][] computed;
        try (Model vocab = Model.load(policy, ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(tmp.resolve("x.gguf"))) {
            computed = DpoData.read(data, vocab.vocab(), new LlamaChatRenderer(vocab), 256, 259, ErrorPolicy.FAIL, rejects)
                    .scoreWith(reference, 2, 0);
        }
        double maxDiff = 0;
        for (int i = 0; i < rows.size(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(computed[0][i] - rows.get(i).get("ref_chosen_logps").asDouble()));
            maxDiff = Math.max(maxDiff, Math.abs(computed[1][i] - rows.get(i).get("ref_rejected_logps").asDouble()));
        }
        System.out.printf("reference computed by dpo vs align4j score's ref_*_logps: max |diff| %.3g%n", maxDiff);
        assertThat(maxDiff).isLessThan(1e-3);

        // The job: 4 pairs in one step at lr 0, reference computed on --ref vs read from score's columns.
        double beta = PreferenceLoss.DEFAULT_BETA;
        DpoStep fromRef = firstStep(options(data, tmp.resolve("a.gguf")).reference(reference).learningRate(0).maxSteps(1).batchSize(4).build());
        DpoStep fromColumns = firstStep(options(scored, tmp.resolve("b.gguf")).learningRate(0).maxSteps(1).batchSize(4).build());
        double meanRefChosen = rows.stream().mapToDouble(n -> n.get("ref_chosen_logps").asDouble()).average().orElseThrow();
        System.out.printf("step 1 with computed vs column reference: loss %.6f vs %.6f, rewards/chosen %.6f vs %.6f%n",
                fromRef.loss(), fromColumns.loss(), fromRef.rewardsChosen(), fromColumns.rewardsChosen());
        assertThat(fromColumns.rewardsChosen()).isCloseTo(beta * (fromColumns.logpsChosen() - meanRefChosen), within(1e-9));
        assertThat(fromRef.rewardsChosen()).isCloseTo(fromColumns.rewardsChosen(), within(beta * 1e-3));
        assertThat(fromRef.loss()).isCloseTo(fromColumns.loss(), within(beta * 1e-3));

        // One pair, its reference chosen log-prob shifted by delta.
        double delta = 2.5;
        ObjectNode row = (ObjectNode) rows.getFirst();
        Path one = DpoTestData.write(tmp.resolve("one.jsonl"), List.of(row.toString()));
        row.put("ref_chosen_logps", row.get("ref_chosen_logps").asDouble() + delta);
        Path shifted = DpoTestData.write(tmp.resolve("shifted.jsonl"), List.of(row.toString()));
        DpoStep plain = firstStep(options(one, tmp.resolve("c.gguf")).learningRate(0).maxSteps(1).build());
        DpoStep moved = firstStep(options(shifted, tmp.resolve("d.gguf")).learningRate(0).maxSteps(1).build());
        System.out.printf("shifted ref_chosen_logps by %.1f: loss %.6f -> %.6f (formula %.6f), margin %.6f -> %.6f%n", delta,
                plain.loss(), moved.loss(), PreferenceLoss.softplus(-(plain.margin() - beta * delta)), plain.margin(), moved.margin());
        assertThat(moved.logpsChosen()).isEqualTo(plain.logpsChosen());
        assertThat(moved.rewardsChosen()).isCloseTo(plain.rewardsChosen() - beta * delta, within(1e-9));
        assertThat(moved.rewardsRejected()).isEqualTo(plain.rewardsRejected());
        assertThat(plain.loss()).isCloseTo(PreferenceLoss.softplus(-plain.margin()), within(1e-12));
        assertThat(moved.loss()).isCloseTo(PreferenceLoss.softplus(-(plain.margin() - beta * delta)), within(1e-9));
    }

    /**
     * The model the job writes loads in llama.cpp, and llama.cpp's log-probs of the training pairs under
     * it equal the Java trainer's on the same weights: within 1e-3 nats per sum for F32; for F16 the
     * rounding of the weights adds its own difference to the trained f32 weights, printed and bounded.
     */
    @Test
    void theWrittenModelLoadsInLlamaCppWithTheTrainersLogProbs() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(8, 5));
        DpoJob.Result r = run(options(data, tmp.resolve("out.gguf")).learningRate(3e-3).maxSteps(10).build(), new ArrayList<>());
        try (GgufFile written = GgufFile.open(r.out()); GgufFile source = GgufFile.open(policy)) {
            assertThat(written.metadata()).as("same keys, tokenizer included, in the same order").containsExactlyEntriesOf(source.metadata());
            assertThat(written.tensors()).extracting(t -> t.name() + " " + t.type())
                    .containsExactlyElementsOf(source.tensors().stream().map(t -> t.name() + " " + t.type()).toList());
        }
        LlamaParams trained = LlamaParams.load(r.out());
        Path f16 = tmp.resolve("out-f16.gguf");
        LlamaExport.write(trained, f16, GgmlType.F16);
        try (GgufFile f = GgufFile.open(f16)) {
            assertThat(f.integer("general.file_type")).isEqualTo(1);
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(f.tensor("blk.0.attn_norm.weight").type()).isEqualTo(GgmlType.F32);
        }

        DpoData pairs;
        try (Model vocab = Model.load(r.out(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(tmp.resolve("x.gguf"))) {
            pairs = DpoData.read(data, vocab.vocab(), new LlamaChatRenderer(vocab), 256, 259, ErrorPolicy.FAIL, rejects);
        }
        double[] java = javaSums(trained, pairs);
        double[] javaF16 = javaSums(LlamaParams.load(f16), pairs);
        double[] llamaF32 = flatten(pairs.scoreWith(r.out(), 2, 0));
        double[] llamaF16 = flatten(pairs.scoreWith(f16, 2, 0));
        double f32Diff = maxDiff(java, llamaF32);
        double f16Diff = maxDiff(javaF16, llamaF16);
        double f16VsTrained = maxDiff(java, llamaF16);
        System.out.printf("export: llama.cpp vs Java log-prob sums, max |diff|: F32 %.3g; F16 %.3g (vs the F16 weights), %.3g (vs the trained f32 weights)%n",
                f32Diff, f16Diff, f16VsTrained);
        assertThat(f32Diff).isLessThan(ENGINE_TOLERANCE);
        assertThat(f16Diff).isLessThan(ENGINE_TOLERANCE);
        assertThat(f16VsTrained).isLessThan(2e-2);
    }

    /**
     * DPO end to end on each architecture the trainer adds, shaped as the public models' presets are
     * (qwen2 with q/k/v biases, qwen3 with q/k norms and heads wider than C / H, llama with Llama 3.2's
     * tied output and rope_freqs): the first step's margin is llama.cpp's reference against the Java
     * policy on the same weights (0 up to their rounding), the loss falls, and the written model keeps
     * the architecture, its tensors and their order, loads in llama.cpp and scores there as in Java
     * (10 steps, as above: longer runs grow the weights until llama.cpp's F16 K/V cache moves sums by
     * 2e-3, the same for a plain llama file).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("architectures")
    void dpoTrainsAndWritesEachArchitecture(String label, LlamaShape shape, Llama3Rope ropeFreqs) throws IOException {
        Path model = DpoTestData.model(tmp, "policy-" + shape.architecture().ggufName(), shape, ropeFreqs, GgmlType.F32, 3);
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(16, 9));
        List<DpoStep> steps = new ArrayList<>();
        DpoJob.Result r = run(DpoOptions.builder(model, data, tmp.resolve("out.gguf")).threads(2).quiet(true).learningRate(3e-3)
                .maxSteps(10).batchSize(8).schedule(LrSchedule.Kind.CONSTANT).saveEvery(0).build(), steps);
        double firstLoss = mean(steps.subList(0, 2), DpoStep::loss);
        double lastLoss = mean(steps.subList(8, 10), DpoStep::loss);
        try (GgufFile written = GgufFile.open(r.out()); GgufFile source = GgufFile.open(model)) {
            assertThat(written.string("general.architecture")).isEqualTo(shape.architecture().ggufName());
            assertThat(written.tensors()).extracting(t -> t.name() + " " + t.type())
                    .containsExactlyElementsOf(source.tensors().stream().map(t -> t.name() + " " + t.type()).toList());
        }
        LlamaParams trained = LlamaParams.load(r.out());
        if (ropeFreqs != null) {
            assertThat(trained.tensor("rope_freqs.weight").data()).as("rope_freqs is frozen").isEqualTo(ropeFreqs.freqFactors(shape.headDim(), shape.ropeTheta()));
        }
        DpoData pairs;
        try (Model vocab = Model.load(r.out(), ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(tmp.resolve("x.gguf"))) {
            pairs = DpoData.read(data, vocab.vocab(), new LlamaChatRenderer(vocab), 256, 259, ErrorPolicy.FAIL, rejects);
        }
        double exportDiff = maxDiff(javaSums(trained, pairs), flatten(pairs.scoreWith(r.out(), 2, 0)));
        System.out.printf("%s: DPO loss %.4f -> %.4f over 10 steps; first margin %.2e; written model, llama.cpp vs Java sums max |diff| %.3g%n",
                label, firstLoss, lastLoss, steps.getFirst().margin(), exportDiff);
        assertThat(steps.getFirst().margin()).isCloseTo(0, within(PreferenceLoss.DEFAULT_BETA * 2 * ENGINE_TOLERANCE));
        assertThat(lastLoss).isLessThan(firstLoss - 0.05);
        assertThat(exportDiff).isLessThan(ENGINE_TOLERANCE);
    }

    static Stream<Arguments> architectures() {
        return Stream.of(
                Arguments.of("qwen2 (Qwen2.5-shaped: q/k/v biases, tied output)", DpoTestData.SHAPE.withArchitecture(Architecture.QWEN2), null),
                Arguments.of("qwen3 (Qwen3-shaped: q/k norms, head width 16 with C / H = 8)",
                        DpoTestData.SHAPE.withArchitecture(Architecture.QWEN3).withHeadDim(16), null),
                Arguments.of("llama (Llama-3.2-shaped: rope_freqs, tied output)", DpoTestData.SHAPE, Llama3Rope.of(32f, 64)));
    }

    // (2N,): chosen and rejected sums of each pair, in file order.
    static double[] javaSums(LlamaParams params, DpoData pairs) {
        List<Sequence> batch = new ArrayList<>();
        for (DpoData.Pair p : pairs.pairs()) {
            batch.add(p.chosenSequence());
            batch.add(p.rejectedSequence());
        }
        try (LlamaTrainer t = new LlamaTrainer(params, 2)) {
            return t.score(batch).sums();
        }
    }

    static double[] flatten(double[][] chosenRejected) {
        int n = chosenRejected[0].length;
        double[] out = new double[2 * n];
        for (int i = 0; i < n; i++) {
            out[2 * i] = chosenRejected[0][i];
            out[2 * i + 1] = chosenRejected[1][i];
        }
        return out;
    }

    static double maxDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    @Test
    void referenceFreeLossesNeedNoReference() {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(4, 13));
        List<DpoStep> steps = new ArrayList<>();
        DpoJob.Result r = run(options(data, tmp.resolve("out.gguf")).loss(PreferenceLoss.withDefaults(PreferenceLoss.Kind.SIMPO))
                .learningRate(1e-3).maxSteps(2).build(), steps);
        assertThat(r.reference()).contains("reference-free");
        DpoStep s = steps.getFirst();
        // SimPO's rewards are beta * mean token log-prob: "abc" and "cba" are 5 tokens each (" " + 3 letters + EOS).
        assertThat(s.rewardsChosen()).isCloseTo(PreferenceLoss.SIMPO_DEFAULT_BETA * s.logpsChosen() / 5, within(1e-9));
    }

    /**
     * RPO's term: rpo_alpha times the chosen completion's NLL per token joins each pair's loss (step 1's
     * metrics come from the same initial policy in both runs), and its gradient changes the update.
     */
    @Test
    void rpoAlphaAddsTheNllPerTokenOfTheChosenCompletion() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(4, 13));
        List<DpoStep> plain = new ArrayList<>(), rpo = new ArrayList<>();
        run(options(data, tmp.resolve("plain.gguf")).learningRate(1e-3).maxSteps(2).batchSize(4).saveEvery(0).build(), plain);
        run(options(data, tmp.resolve("rpo.gguf")).rpoAlpha(0.5).learningRate(1e-3).maxSteps(2).batchSize(4).saveEvery(0).build(), rpo);
        DpoStep p = plain.getFirst(), r = rpo.getFirst();
        // "abc" and "cba" are 5 tokens each (" " + 3 letters + EOS), so the mean NLL per token is -logps/chosen / 5.
        double nll = -p.logpsChosen() / 5;
        System.out.printf("rpo: step-1 loss %.6f = dpo %.6f + 0.5 x NLL per token %.6f%n", r.loss(), p.loss(), nll);
        assertThat(r.logpsChosen()).isEqualTo(p.logpsChosen());
        assertThat(r.loss()).isCloseTo(p.loss() + 0.5 * nll, within(1e-9));
        assertThat(rpo.get(1).logpsChosen()).isNotEqualTo(plain.get(1).logpsChosen());
    }

    @Test
    void aCheckpointIsNeverOverwrittenWithoutResumeAndResumeNeedsOne() {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(4, 13));
        DpoOptions o = options(data, tmp.resolve("out.gguf")).maxSteps(1).build();
        assertThatThrownBy(() -> run(o.toBuilder().resume(true).build(), new ArrayList<>()))
                .hasMessageContaining("no checkpoint to resume from at " + o.checkpoint());
        run(o, new ArrayList<>());
        assertThatThrownBy(() -> run(o, new ArrayList<>()))
                .hasMessageContaining("a checkpoint of an earlier run is at " + o.checkpoint()).hasMessageContaining("--resume");
        assertThatThrownBy(() -> run(o.toBuilder().resume(true).seed(7).build(), new ArrayList<>()))
                .hasMessageContaining("was trained with seed 42, not 7");
        DpoJob.Result again = run(o.toBuilder().resume(true).build(), new ArrayList<>());
        assertThat(again.stepsRun()).isZero();
    }
}
