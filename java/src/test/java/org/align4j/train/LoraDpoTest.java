package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.dpo.DpoJob;
import org.align4j.dpo.DpoOptions;
import org.align4j.dpo.DpoStep;
import org.align4j.engine.ScoreRequest;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code dpo} with a LoRA adapter ({@link DpoOptions#lora()}) on {@link DpoTestData}'s small model: it
 * learns over a Q8_0 base with the base as reference, llama.cpp applies the adapter it writes as the
 * trainer does, and a resumed run writes the same adapter bytes as an uninterrupted one.
 */
class LoraDpoTest {
    static final double TOLERANCE = 1e-3; // per token, llama.cpp vs the trainer on an F32 base (LoraParityTest)
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir static Path models;
    @TempDir Path tmp;
    static Path f32;
    static Path q8;

    @BeforeAll
    static void writeModels() {
        f32 = DpoTestData.model(models, "lora-f32", GgmlType.F32, 1);
        q8 = DpoTestData.model(models, "lora-q8", GgmlType.Q8_0, 1);
    }

    static DpoOptions.Builder options(Path policy, Path data, Path out) {
        return DpoOptions.builder(policy, data, out).threads(2).quiet(true).learningRate(1e-2).batchSize(8)
                .schedule(LrSchedule.Kind.CONSTANT).lora(LoraConfig.ofRank(4));
    }

    static DpoJob.Result run(DpoOptions options, List<DpoStep> steps) {
        StringWriter log = new StringWriter();
        try {
            return new DpoJob(options.toBuilder().quiet(false).build(), new PrintWriter(log, true)).run(steps::add);
        } finally {
            System.out.print(log);
        }
    }

    /** Over a Q8_0 base: step 1's margin is ~0 (reference = the base, B = 0), and the loss falls within 10 steps. */
    @Test
    void loraDpoOverAQuantizedBaseLearnsFromTheBaseAsReference() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(32, 7));
        List<DpoStep> steps = new ArrayList<>();
        long t0 = System.nanoTime();
        // beta 1 rather than 0.1: a margin of a few nats moves the loss within 10 steps.
        PreferenceLoss loss = new PreferenceLoss(PreferenceLoss.Kind.SIGMOID, 1.0, 0, PreferenceLoss.SIMPO_DEFAULT_GAMMA);
        DpoJob.Result r = run(options(q8, data, tmp.resolve("adapter.gguf")).loss(loss).maxSteps(10).saveEvery(0).build(), steps);
        double seconds = (System.nanoTime() - t0) / 1e9;
        DpoStep first = steps.getFirst();
        double lastLoss = mean(steps.subList(6, 10), DpoStep::loss);
        long fileBytes = Files.size(q8);
        long adapterBytes = Files.size(r.out());
        System.out.printf("lora dpo on Q8_0 (%d bytes): step 1 margin %.3g loss %.4f -> steps 7-10 loss %.4f, accuracy %.3f;"
                + " adapter %d bytes, checkpoint %d bytes; %.2f s, %.0f tokens/s%n", fileBytes, first.margin(), first.loss(),
                lastLoss, mean(steps.subList(6, 10), DpoStep::accuracy), adapterBytes, Files.size(r.checkpoint()),
                seconds, r.tokensPerSecond());
        assertThat(r.reference()).contains("the base (adapter off)");
        // llama.cpp's Q8_0 matmuls quantize activations, the trainer's do not: a looser bound than F32's.
        assertThat(first.margin()).isCloseTo(0, within(loss.beta() * 2 * 10 * TOLERANCE));
        assertThat(first.loss()).isCloseTo(Math.log(2), within(1e-2));
        assertThat(lastLoss).isLessThan(first.loss() - 0.04);
        try (GgufFile a = GgufFile.open(r.out())) {
            assertThat(a.string("general.type")).isEqualTo("adapter");
            assertThat(a.tensors()).hasSize(2 * 7 * DpoTestData.SHAPE.layers());
        }
    }

    static double mean(List<DpoStep> steps, java.util.function.ToDoubleFunction<DpoStep> f) {
        return steps.stream().mapToDouble(f).average().orElseThrow();
    }

    /** The written adapter, loaded by llama.cpp on the F32 base, gives the trainer's log-probs with that adapter. */
    @Test
    void llamaCppAppliesTheTrainedAdapterAsTheTrainerDoes() {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(16, 3));
        LoraConfig config = new LoraConfig(4, 8f, EnumSet.allOf(LoraParams.Target.class));
        DpoJob.Result r = run(options(f32, data, tmp.resolve("adapter.gguf")).lora(config).maxSteps(6).saveEvery(0).build(),
                new ArrayList<>());

        SplittableRandom rng = new SplittableRandom(4);
        int vocab = 259; // DpoTestData's character tokenizer
        List<ScoreRequest> requests = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            requests.add(new ScoreRequest(TrainerTestModels.tokens(rng, 4 + rng.nextInt(12), vocab), new int[][] {
                TrainerTestModels.tokens(rng, 2 + rng.nextInt(8), vocab), TrainerTestModels.tokens(rng, 2 + rng.nextInt(8), vocab)}));
        }
        List<Sequence> batch = LlamaExportTest.sequences(requests);
        double[][] javaBase;
        double[][] javaLora;
        try (GgufFile base = GgufFile.open(f32); GgufFile adapter = GgufFile.open(r.out())) {
            LlamaWeights w = LlamaWeights.frozen(base);
            LoraParams lora = LoraParams.create(w, config.targets(), config.rank(), config.alpha(), 99);
            lora.set(name -> {
                float[] v = new float[Math.toIntExact(adapter.tensor(name).elementCount())];
                MemorySegment.copy(adapter.tensorData(name), F32, 0, v, 0, v.length);
                return v;
            });
            javaBase = new ReferenceForward(w).score(batch, Parallel.common(), new TrainerTimings()).tokens();
            javaLora = new ReferenceForward(lora.weights()).score(batch, Parallel.common(), new TrainerTimings()).tokens();
        }
        double[][] cppLora = LoraParityTest.llamaCppLogProbs(f32, r.out(), 1f, requests);
        double moved = LlamaExportTest.maxDiff(javaBase, javaLora);
        double diff = LlamaExportTest.maxDiff(cppLora, javaLora);
        System.out.printf("trained adapter: moves the log-probs by up to %.3g; llama.cpp with it vs the trainer, max |diff| per token %.3g"
                + " (tolerance %.0e)%n", moved, diff, TOLERANCE);
        assertThat(moved).as("the trained adapter matters").isGreaterThan(10 * TOLERANCE);
        assertThat(diff).isLessThan(TOLERANCE);
    }

    /** A run killed after step 7 (checkpoints every 4) and resumed writes the same adapter, byte for byte. */
    @Test
    void aResumedLoraRunWritesTheSameAdapterBytesAsAnUninterruptedOne() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(20, 3));
        DpoOptions.Builder base = options(q8, data, tmp.resolve("straight.gguf")).learningRate(1e-3).maxSteps(12).batchSize(4)
                .gradAccum(2).warmupSteps(3).weightDecay(0.01).saveEvery(4).schedule(LrSchedule.Kind.LINEAR);
        DpoJob.Result a = run(base.build(), new ArrayList<>());

        DpoOptions interrupted = base.out(tmp.resolve("resumed.gguf")).build();
        assertThatThrownBy(() -> new DpoJob(interrupted, new PrintWriter(new StringWriter())).run(s -> {
            if (s.step() == 7) {
                throw new IllegalStateException("killed");
            }
        })).hasMessage("killed");
        assertThatThrownBy(() -> run(interrupted.toBuilder().resume(true).lora(LoraConfig.ofRank(2)).build(), new ArrayList<>()))
                .hasMessageContaining("was trained with lora_rank 4, not 2");
        assertThatThrownBy(() -> run(interrupted.toBuilder().resume(true).lora(null).build(), new ArrayList<>()))
                .hasMessageContaining("is of a LoRA run");
        DpoJob.Result c = run(interrupted.toBuilder().resume(true).threads(1).build(), new ArrayList<>());
        assertThat(c.stepsRun()).isEqualTo(8);
        byte[] x = Files.readAllBytes(a.out());
        byte[] y = Files.readAllBytes(c.out());
        System.out.printf("lora resume: adapters of %d and %d bytes, %s%n", x.length, y.length, Arrays.equals(x, y) ? "identical" : "different");
        assertThat(y).isEqualTo(x);
        assertThat(Files.readAllLines(c.metrics())).containsExactlyElementsOf(Files.readAllLines(a.metrics()));
    }

    /**
     * With LoRA dropout 0.2: a run killed after step 3 (checkpoints every 2) and resumed on one thread
     * instead of two writes the same adapter bytes as an uninterrupted one (the masks are keyed by seed,
     * step and micro-batch), which differ from a run without dropout; resuming with another dropout is
     * refused; the PEFT config says lora_dropout 0.2.
     */
    @Test
    void aResumedRunWithDropoutWritesTheSameAdapterBytesAsAnUninterruptedOne() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(12, 3));
        LoraConfig dropout = LoraConfig.ofRank(4).withDropout(0.2f);
        DpoOptions.Builder base = options(q8, data, tmp.resolve("straight.gguf")).lora(dropout).maxSteps(6).batchSize(2)
                .gradAccum(2).saveEvery(2).peft(tmp.resolve("peft"));
        DpoJob.Result a = run(base.build(), new ArrayList<>());
        DpoJob.Result none = run(base.out(tmp.resolve("none.gguf")).lora(LoraConfig.ofRank(4)).peft(null).build(), new ArrayList<>());

        DpoOptions interrupted = base.out(tmp.resolve("resumed.gguf")).lora(dropout).peft(null).build();
        assertThatThrownBy(() -> new DpoJob(interrupted, new PrintWriter(new StringWriter())).run(s -> {
            if (s.step() == 3) {
                throw new IllegalStateException("killed");
            }
        })).hasMessage("killed");
        assertThatThrownBy(() -> run(interrupted.toBuilder().resume(true).lora(LoraConfig.ofRank(4)).build(), new ArrayList<>()))
                .hasMessageContaining("was trained with lora_dropout 0.2, not (none)");
        DpoJob.Result c = run(interrupted.toBuilder().resume(true).threads(1).build(), new ArrayList<>());
        assertThat(c.stepsRun()).isEqualTo(4);
        byte[] x = Files.readAllBytes(a.out());
        byte[] y = Files.readAllBytes(c.out());
        byte[] z = Files.readAllBytes(none.out());
        System.out.printf("lora dropout 0.2 resume: adapters %s; without dropout %s%n", Arrays.equals(x, y) ? "identical" : "different",
                Arrays.equals(x, z) ? "identical" : "different");
        assertThat(y).isEqualTo(x);
        assertThat(Files.readAllLines(c.metrics())).containsExactlyElementsOf(Files.readAllLines(a.metrics()));
        assertThat(z).as("dropout changes the training").isNotEqualTo(x);
        JsonNode config = new ObjectMapper().readTree(tmp.resolve("peft").resolve(PeftAdapter.CONFIG).toFile());
        assertThat(config.get("lora_dropout").asDouble()).isCloseTo(0.2, within(1e-7));
    }
}
