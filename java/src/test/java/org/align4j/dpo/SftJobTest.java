package org.align4j.dpo;

import org.align4j.job.RunCheckpoint;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LrSchedule;
import org.align4j.train.ReferenceForward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.align4j.data.BadRecordException;
import org.align4j.gguf.CharTokenizer;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.llama.Context;
import org.align4j.llama.ContextOptions;
import org.align4j.llama.Batch;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.SamplerChain;
import org.align4j.llama.Vocab;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The SFT job on the demo preset (character tokenizer, so records are short and tokenization is plain):
 * its loss is the NLL of the completion and EOS only, it learns a small set by heart, its output loads in
 * llama.cpp and answers what it learned, runs on different thread counts write the same bytes, a resumed
 * run (full or LoRA) writes what an uninterrupted one does, and micro-batches add up to one batch.
 */
class SftJobTest {
    static final SynthPreset DEMO = SynthPreset.named("demo");
    static final double FORWARD_TOLERANCE = 1e-4; // nats per token: the trainer's batched forward vs ReferenceForward

    @TempDir static Path dir;
    @TempDir Path tmp;
    static Path start;
    static Path data;
    static List<String[]> records = new ArrayList<>(); // (prompt, completion)

    @BeforeAll
    static void writeModelAndData() throws IOException {
        start = dir.resolve("start.gguf");
        SyntheticLlama.write(start, "demo", DEMO.shape(), DEMO.tokenizer(), GgmlType.F32, 5);
        SplittableRandom rng = new SplittableRandom(3);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int a = rng.nextInt(100), b = rng.nextInt(100);
            records.add(new String[] {a + "+" + b + "=", Integer.toString(a + b)});
            lines.add("{\"prompt\": \"" + a + "+" + b + "=\", \"completion\": \"" + (a + b) + "\"}");
        }
        data = dir.resolve("sft.jsonl");
        Files.write(data, lines, StandardCharsets.UTF_8);
    }

    static SftOptions.Builder options(Path out) {
        return SftOptions.builder(start, data, out).batchSize(8).learningRate(3e-3).schedule(LrSchedule.Kind.CONSTANT)
                .threads(2).quiet(true);
    }

    static SftJob.Result run(SftOptions options) {
        return run(options, step -> {});
    }

    static SftJob.Result run(SftOptions options, Consumer<SftStep> onStep) {
        StringWriter log = new StringWriter();
        try {
            return new SftJob(options, new PrintWriter(log, true)).run(onStep);
        } finally {
            System.out.print(log);
        }
    }

    /** BOS and the characters of the prompt; the characters of the completion, then EOS. */
    static int[][] tokens(String prompt, String completion) {
        byte[] p = prompt.getBytes(StandardCharsets.US_ASCII), c = completion.getBytes(StandardCharsets.US_ASCII);
        int[] seq = new int[1 + p.length + c.length + 1];
        seq[0] = CharTokenizer.BOS;
        for (int i = 0; i < p.length; i++) {
            seq[1 + i] = CharTokenizer.tokenOf(p[i]);
        }
        for (int i = 0; i < c.length; i++) {
            seq[1 + p.length + i] = CharTokenizer.tokenOf(c[i]);
        }
        seq[seq.length - 1] = CharTokenizer.EOS;
        return new int[][] {seq, {1 + p.length}};
    }

    @Test
    void theFirstLossIsTheNllPerTokenOfTheCompletionsAndTheirEos() throws IOException {
        SftJob.Result r = run(options(tmp.resolve("one.gguf")).maxSteps(1).batchSize(records.size()).build());
        ReferenceForward ref = new ReferenceForward(LlamaWeights.load(start));
        double nll = 0;
        long scored = 0;
        for (String[] pc : records) {
            int[][] t = tokens(pc[0], pc[1]);
            for (double lp : ref.logProbs(t[0], t[1][0])) {
                nll -= lp;
                scored++;
            }
        }
        System.out.printf("first step: loss %.6f, reference forward %.6f over %d completion tokens%n", r.first().loss(),
                nll / scored, scored);
        assertThat(r.first().scored()).isEqualTo(scored);
        assertThat(r.first().sequences()).isEqualTo(records.size());
        assertThat(r.first().loss()).isCloseTo(nll / scored, within(FORWARD_TOLERANCE));
        assertThat(Files.readAllLines(r.metrics())).hasSize(1);
    }

    @Test
    void itLearnsASmallSetByHeartAndLlamaCppAnswersIt() {
        SftJob.Result r = run(options(tmp.resolve("learned.gguf")).maxSteps(150).outType(GgmlType.F16).build());
        System.out.println(r);
        assertThat(r.steps()).isEqualTo(150);
        assertThat(r.last().epoch()).isEqualTo(75.0);
        assertThat(r.last().loss()).isLessThan(0.1);
        assertThat(r.plot()).exists();
        int right = 0;
        try (Model m = Model.load(r.out(), ModelOptions.DEFAULT);
             SamplerChain greedy = SamplerChain.builder().greedy(CharTokenizer.VOCAB_SIZE)) {
            Vocab v = m.vocab();
            for (String[] pc : records) {
                StringBuilder answer = new StringBuilder();
                try (Context ctx = Context.create(m, ContextOptions.single(DEMO.shape().ctx()));
                     Batch batch = new Batch(32, 1)) {
                    int[] prompt = v.tokenize(pc[0], true, false);
                    for (int t = 0; t < prompt.length; t++) {
                        batch.add(prompt[t], t, 0, t == prompt.length - 1);
                    }
                    ctx.decode(batch);
                    int pos = prompt.length;
                    for (int k = 0; k < 8; k++) {
                        int next = greedy.sample(ctx, -1);
                        if (v.isEog(next)) {
                            break;
                        }
                        answer.append(v.tokenToPiece(next, false));
                        batch.clear();
                        batch.add(next, pos++, 0, true);
                        ctx.decode(batch);
                    }
                }
                right += answer.toString().equals(pc[1]) ? 1 : 0;
            }
        }
        System.out.printf("llama.cpp greedy on the learned F16 model: %d of %d answers exact, then EOS%n", right, records.size());
        assertThat(right).isEqualTo(records.size());
    }

    @Test
    void runsOnOneAndTwoThreadsWriteTheSameBytes() throws IOException {
        Path one = tmp.resolve("t1.gguf"), two = tmp.resolve("t2.gguf");
        run(options(one).maxSteps(6).threads(1).schedule(LrSchedule.Kind.COSINE).warmupSteps(2).build());
        run(options(two).maxSteps(6).threads(2).schedule(LrSchedule.Kind.COSINE).warmupSteps(2).build());
        assertThat(Files.readAllBytes(one)).isEqualTo(Files.readAllBytes(two));
        assertThat(Files.readAllLines(one.resolveSibling("t1.gguf.metrics.jsonl")))
                .isEqualTo(Files.readAllLines(two.resolveSibling("t2.gguf.metrics.jsonl")));
    }

    @Test
    void aRecordThatIsNotPromptCompletionIsRefusedNamingItsLine() throws IOException {
        Path bad = tmp.resolve("bad.jsonl");
        Files.write(bad, List.of("{\"prompt\": \"1+1=\", \"completion\": \"2\"}",
                "{\"prompt\": \"1+2=\", \"chosen\": \"3\", \"rejected\": \"4\"}"), StandardCharsets.UTF_8);
        assertThatThrownBy(() -> run(SftOptions.builder(start, bad, tmp.resolve("x.gguf")).quiet(true).build()))
                .isInstanceOf(BadRecordException.class).hasMessageContaining("bad.jsonl:2")
                .hasMessageContaining("prompt-completion");
    }

    /**
     * A run killed after step 5 (checkpoints every 3 steps) and resumed on another thread count writes the
     * same bytes and metrics as one never stopped: 16 records, micro-batches of 3, 2 per step, so 3 steps
     * per epoch (the last with 4 records) and 8 steps cross two epoch boundaries; linear decay after 2
     * warm-up steps. Full fine-tuning and LoRA alike.
     */
    @ParameterizedTest(name = "lora {0}")
    @ValueSource(booleans = {false, true})
    void aResumedRunWritesTheSameBytesAsAnUninterruptedOne(boolean lora) throws IOException {
        SftOptions.Builder base = options(tmp.resolve("straight.gguf")).maxSteps(8).batchSize(3).gradAccum(2).warmupSteps(2)
                .schedule(LrSchedule.Kind.LINEAR).weightDecay(0.01).saveEvery(3).lora(lora ? LoraConfig.ofRank(4) : null);
        SftJob.Result a = run(base.build());

        SftOptions interrupted = base.out(tmp.resolve("resumed.gguf")).build();
        assertThatThrownBy(() -> new SftJob(interrupted, new PrintWriter(new StringWriter())).run(s -> {
            if (s.step() == 5) {
                throw new IllegalStateException("killed");
            }
        })).hasMessage("killed");
        assertThat(Files.readAllLines(interrupted.metrics())).hasSize(5);
        assertThat(RunCheckpoint.read(interrupted.checkpoint(), "sft").state().step()).isEqualTo(3);
        assertThatThrownBy(() -> run(interrupted.toBuilder().resume(true).learningRate(1e-3).build()))
                .hasMessageContaining("was trained with learning_rate 0.003, not 0.001");
        List<SftStep> after = new ArrayList<>();
        SftJob.Result c = run(interrupted.toBuilder().resume(true).threads(1).build(), after::add);
        assertThat(after).extracting(SftStep::step).containsExactly(4, 5, 6, 7, 8);
        assertThat(c.stepsRun()).isEqualTo(5);
        byte[] x = Files.readAllBytes(a.out());
        byte[] y = Files.readAllBytes(c.out());
        System.out.printf("sft resume (%s): outputs of %d and %d bytes, %s%n", lora ? "LoRA" : "full", x.length, y.length,
                Arrays.equals(x, y) ? "identical" : "different");
        assertThat(y).isEqualTo(x);
        assertThat(Files.readAllLines(c.metrics())).containsExactlyElementsOf(Files.readAllLines(a.metrics()));
    }

    /**
     * Gradient accumulation splits a step into micro-batches and changes nothing but rounding: one step of
     * 2 micro-batches of 8 has the loss of one batch of 16 (the mean NLL per completion token of the step)
     * and moves the weights the same way.
     */
    @Test
    void gradientAccumulationGivesTheStepOfOneBigBatch() {
        SftJob.Result one = run(options(tmp.resolve("one.gguf")).maxSteps(1).batchSize(16).build());
        SftJob.Result two = run(options(tmp.resolve("two.gguf")).maxSteps(1).batchSize(8).gradAccum(2).build());
        LlamaParams x = LlamaParams.load(one.out());
        LlamaParams y = LlamaParams.load(two.out());
        double maxDiff = 0;
        for (LlamaParams.Tensor t : x.tensors()) {
            float[] u = t.data();
            float[] v = y.tensor(t.name()).data();
            for (int i = 0; i < u.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(u[i] - v[i]));
            }
        }
        System.out.printf("one batch of 16 vs 2 x 8: loss %.9f vs %.9f, weights max |diff| %.3g after one step (lr 3e-3)%n",
                one.first().loss(), two.first().loss(), maxDiff);
        assertThat(two.first().sequences()).isEqualTo(16);
        assertThat(two.first().loss()).isCloseTo(one.first().loss(), within(1e-9));
        assertThat(maxDiff).isLessThan(1e-5);
    }
}
