package org.align4j.cli;

import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.llama.Vocab;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraParams;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --lora FILE[:SCALE]} on the engine's commands: llama.cpp applies the adapter to the policy as the
 * trainer's forward with it does (within {@value #TOLERANCE} per token: LoraParityTest's F32 tolerance), the
 * reference is the base with the adapter off, sampling is greedy under base + adapter, and a run's adapters
 * are part of what {@code --resume} checks. The adapter is rank 8 on all seven targets, alpha 16, with a
 * random non-zero B.
 */
class LoraEngineCommandTest {
    static final double TOLERANCE = 1e-3;

    @TempDir static Path models;
    @TempDir Path tmp;
    static Path base;
    static Path adapter;
    static Path otherAdapter;
    static GgufFile baseFile;        // open while the frozen weights are used
    static LlamaWeights withAdapter; // the trainer's weights: base + adapter at scale 1

    static final List<String> PAIRS = List.of(
            "{\"id\": \"a\", \"prompt\": \"What is 2+2?\", \"chosen\": \" 4\", \"rejected\": \" 5\"}",
            "{\"id\": \"b\", \"prompt\": \"The capital of France is\", \"chosen\": \" Paris.\", \"rejected\": \" Lyon, I think.\"}",
            "{\"id\": \"c\", \"prompt\": \"Say hi\", \"completion\": \" Hi there!\"}");
    static final List<String> PROMPTS = List.of(
            "{\"id\": \"p1\", \"prompt\": \"Once upon a time\"}",
            "{\"id\": \"p2\", \"prompt\": \"The capital of France is\"}");

    @BeforeAll
    static void writeModelAndAdapters() {
        SynthPreset tiny = SynthPreset.named("tiny");
        base = models.resolve("base.gguf");
        SyntheticLlama.write(base, "base", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        baseFile = GgufFile.open(base);
        LlamaWeights frozen = LlamaWeights.frozen(baseFile);
        adapter = models.resolve("adapter.gguf");
        withAdapter = writeAdapter(frozen, adapter, 9);
        otherAdapter = models.resolve("other-adapter.gguf");
        writeAdapter(frozen, otherAdapter, 10);
    }

    @AfterAll
    static void closeBase() {
        baseFile.close();
    }

    // An adapter of rank 8 on every target with B ~ N(0, 0.05²) (LoraParams starts B at zero: no change); returns base + it.
    static LlamaWeights writeAdapter(LlamaWeights weights, Path file, long seed) {
        LoraParams lora = LoraParams.create(weights, EnumSet.allOf(LoraParams.Target.class), 8, 16f, 7);
        SplittableRandom rng = new SplittableRandom(seed);
        for (LoraParams.Adapter a : lora.adapters()) {
            float[] b = a.matrix().b();
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (0.05 * rng.nextGaussian());
            }
        }
        LoraExport.write(lora, file);
        return lora.weights();
    }

    static CliRun run(String command, Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of(command, "-m", base.toString(), "-i", in.toString(), "-o", out.toString(),
                "--quiet", "--threads", "2"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static CliRun greedy(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("-n", "2", "--max-tokens", "8", "--temperature", "0", "--seed", "1"));
        args.addAll(List.of(extra));
        return run("sample", in, out, args.toArray(String[]::new));
    }

    // Per-token log-probs of prompt -> completion + EOS under `weights`, tokenized as score does.
    static double[] expected(LlamaWeights weights, String prompt, String completion) {
        try (Vocab v = Vocab.open(base)) {
            int[] p = v.tokenize(prompt, true, true);
            int[] text = v.tokenize(completion, false, true);
            int[] seq = Arrays.copyOf(p, p.length + text.length + 1);
            System.arraycopy(text, 0, seq, p.length, text.length);
            seq[seq.length - 1] = v.eos();
            return new ReferenceForward(weights).logProbs(seq, p.length);
        }
    }

    static double maxDiff(JsonNode values, double[] expected) {
        assertThat(values.size()).isEqualTo(expected.length);
        double d = 0;
        for (int i = 0; i < expected.length; i++) {
            d = Math.max(d, Math.abs(values.get(i).asDouble() - expected[i]));
        }
        return d;
    }

    @Test
    void scoreAppliesTheAdapterToThePolicyAndScoresTheReferenceWithItOff() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("pairs.jsonl"), PAIRS);
        Path withLora = tmp.resolve("lora.jsonl");
        Path plain = tmp.resolve("plain.jsonl");
        CliRun r = run("score", in, withLora, "--per-token", "--lora", adapter.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(run("score", in, plain, "--per-token").exit()).isZero();
        List<JsonNode> lora = read(withLora);
        List<JsonNode> baseRows = read(plain);
        double policyDiff = 0, moved = 0;
        for (int i = 0; i < PAIRS.size(); i++) {
            JsonNode row = lora.get(i);
            for (String name : row.has("chosen") ? List.of("chosen", "rejected") : List.of("completion")) {
                double[] want = expected(withAdapter, row.get("prompt").asText(), row.get(name).asText());
                policyDiff = Math.max(policyDiff, maxDiff(row.get(name + "_token_logps"), want));
                moved = Math.max(moved, maxDiff(baseRows.get(i).get(name + "_token_logps"), want));
                // The reference is the base: what a plain score of the base writes as the policy, to the bit.
                assertThat(row.get("ref_" + name + "_token_logps")).isEqualTo(baseRows.get(i).get(name + "_token_logps"));
                assertThat(row.get("ref_" + name + "_logps")).isEqualTo(baseRows.get(i).get(name + "_logps"));
            }
        }
        System.out.printf("score --lora: policy vs the trainer's forward with the adapter, max |diff| per token %.3g"
                + " (tolerance %.0e); the adapter moves log-probs by up to %.3g%n", policyDiff, TOLERANCE, moved);
        assertThat(moved).as("the adapter matters").isGreaterThan(50 * TOLERANCE);
        assertThat(policyDiff).isLessThan(TOLERANCE);
    }

    @Test
    void sampleAtTemperatureZeroIsGreedyUnderBasePlusAdapter() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("prompts.jsonl"), PROMPTS);
        Path plain = tmp.resolve("plain.jsonl");
        Path off = tmp.resolve("off.jsonl");
        Path on = tmp.resolve("on.jsonl");
        assertThat(greedy(in, plain).exit()).isZero();
        CliRun r = greedy(in, off, "--lora", adapter + ":0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(greedy(in, on, "--lora", adapter.toString()).exit()).isZero();
        List<JsonNode> plainRows = read(plain);
        List<JsonNode> offRows = read(off);
        List<JsonNode> onRows = read(on);
        boolean changed = false;
        try (Vocab v = Vocab.open(base)) {
            ReferenceForward forward = new ReferenceForward(withAdapter);
            for (int i = 0; i < PROMPTS.size(); i++) {
                assertThat(offRows.get(i).get("completions")).as("scale 0 is the base, bit for bit")
                        .isEqualTo(plainRows.get(i).get("completions"));
                int[] prompt = v.tokenize(onRows.get(i).get("prompt").asText(), true, true);
                int[] want = greedyTokens(forward, prompt, 8, v);
                for (JsonNode c : onRows.get(i).get("completions")) {
                    int[] got = new int[c.get("token_ids").size()];
                    for (int t = 0; t < got.length; t++) {
                        got[t] = c.get("token_ids").get(t).asInt();
                    }
                    assertThat(got).as("greedy continuation of prompt %d under base + adapter", i).containsExactly(want);
                }
                changed |= !onRows.get(i).get("completions").get(0).get("token_ids")
                        .equals(plainRows.get(i).get("completions").get(0).get("token_ids"));
                System.out.printf("sample --lora, prompt %d: %s (base: %s)%n", i, onRows.get(i).get("completions").get(0).get("text"),
                        plainRows.get(i).get("completions").get(0).get("text"));
            }
        }
        assertThat(changed).as("a non-zero adapter changes some greedy continuation").isTrue();
    }

    // Argmax decoding by the trainer's forward, stopping after an end-of-generation token, as sample does.
    static int[] greedyTokens(ReferenceForward forward, int[] prompt, int maxTokens, Vocab v) {
        int[] seq = prompt;
        List<Integer> out = new ArrayList<>();
        while (out.size() < maxTokens) {
            float[][] logits = forward.logits(seq); // (T, V)
            float[] last = logits[logits.length - 1];
            int best = 0;
            for (int t = 1; t < last.length; t++) {
                if (last[t] > last[best]) {
                    best = t;
                }
            }
            out.add(best);
            if (v.isEog(best)) {
                break;
            }
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = best;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void resumeWithAnotherAdapterOrScaleIsRefusedNamingIt() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("prompts.jsonl"), PROMPTS);
        Path out = tmp.resolve("out.jsonl");
        assertThat(greedy(in, out, "--lora", adapter + ":0.5").exit()).isZero();
        CliRun same = greedy(in, out, "--lora", adapter + ":0.5", "--resume");
        assertThat(same.exit()).as(same.err()).isZero();

        CliRun scale = greedy(in, out, "--lora", adapter + ":0.25", "--resume");
        assertThat(scale.exit()).isEqualTo(1);
        assertThat(scale.err()).contains("parameters.lora_scales was [0.5], now [0.25]").doesNotContain("\tat ");

        CliRun other = greedy(in, out, "--lora", otherAdapter + ":0.5", "--resume");
        assertThat(other.exit()).isEqualTo(1);
        assertThat(other.err()).contains("the lora adapter differs").contains(otherAdapter.toString()).doesNotContain("\tat ");

        CliRun none = greedy(in, out, "--resume");
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.err()).contains("the lora adapter was " + adapter + ", and is not in this run");

        Path scored = tmp.resolve("scored.jsonl");
        Path pairs = JsonlFiles.write(tmp.resolve("pairs.jsonl"), PAIRS);
        assertThat(run("score", pairs, scored, "--lora", adapter.toString()).exit()).isZero();
        CliRun score = run("score", pairs, scored, "--lora", otherAdapter.toString(), "--resume");
        assertThat(score.exit()).isEqualTo(1);
        assertThat(score.err()).contains("the lora adapter differs").contains(otherAdapter.toString());
    }

    @Test
    void badAdaptersAreRefusedNamingTheFileOrOption() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("prompts.jsonl"), PROMPTS);
        Path missing = tmp.resolve("missing.gguf");
        CliRun r = greedy(in, tmp.resolve("a.jsonl"), "--lora", missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(missing.toString()).doesNotContain("\tat ");

        SynthPreset tiny = SynthPreset.named("tiny");
        Path qwen2 = models.resolve("qwen2.gguf");
        SyntheticLlama.write(qwen2, "qwen2", tiny.shape().withArchitecture(Architecture.QWEN2), VocabFiles.named(tiny.vocab()), GgmlType.F32, 3);
        Path qwenAdapter = tmp.resolve("qwen2-adapter.gguf");
        try (GgufFile f = GgufFile.open(qwen2)) {
            writeAdapter(LlamaWeights.frozen(f), qwenAdapter, 4);
        }
        r = greedy(in, tmp.resolve("b.jsonl"), "--lora", qwenAdapter.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("cannot load LoRA adapter " + qwenAdapter).doesNotContain("\tat ");

        // An adapter over a wider model (another shape), and one over a deeper model (tensors the base lacks).
        LlamaShape shape = tiny.shape();
        record Other(LlamaShape shape, String cause) {}
        for (Other o : List.of(
                new Other(new LlamaShape(shape.layers(), 2 * shape.embd(), shape.heads(), shape.kvHeads(), shape.ffn(), shape.ctx(),
                        shape.ropeTheta(), shape.rmsEps(), shape.tiedOutput()), "tensor 'blk.0.attn_k.weight' has incorrect shape"),
                new Other(new LlamaShape(shape.layers() + 1, shape.embd(), shape.heads(), shape.kvHeads(), shape.ffn(), shape.ctx(),
                        shape.ropeTheta(), shape.rmsEps(), shape.tiedOutput()), "'blk." + shape.layers() + ".attn_k.weight' does not exist in base model"))) {
            LlamaShape other = o.shape();
            Path model = models.resolve("other-" + other.layers() + "x" + other.embd() + ".gguf");
            SyntheticLlama.write(model, "other", other, VocabFiles.named(tiny.vocab()), GgmlType.F32, 3);
            Path otherShape = tmp.resolve("adapter-" + other.layers() + "x" + other.embd() + ".gguf");
            try (GgufFile f = GgufFile.open(model)) {
                writeAdapter(LlamaWeights.frozen(f), otherShape, 4);
            }
            r = greedy(in, tmp.resolve("shape.jsonl"), "--lora", otherShape.toString());
            System.out.println("--lora " + otherShape.getFileName() + ": " + r.err().lines().findFirst().orElse(""));
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("cannot load LoRA adapter " + otherShape).contains(o.cause()).doesNotContain("\tat ");
        }

        r = run("score", JsonlFiles.write(tmp.resolve("pairs.jsonl"), PAIRS), tmp.resolve("c.jsonl"), "--lora", adapter + ":abc");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--lora").contains(adapter + ":abc").contains("'abc' is not a finite number").doesNotContain("\tat ");
        System.out.println("bad --lora: " + r.err().lines().findFirst().orElse(""));
    }
}
