package org.align4j.cli;

import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.llama.Vocab;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path policy;
    static Path reference;

    static final List<String> GOOD = List.of(
            "{\"id\": \"a\", \"prompt\": \"What is 2+2?\", \"chosen\": \" 4\", \"rejected\": \" 5\", \"source\": {\"kept\": [1, 2]}}",
            "{\"prompt\": \"Name a colour.\", \"chosen\": \" Blue, like the sky.\", \"rejected\": \" Seven.\"}",
            "{\"id\": 3, \"prompt\": \"Say hi\", \"completion\": \" Hi there!\"}",
            "{\"id\": \"d\", \"prompt\": \"The capital of France is\", \"chosen\": \" Paris.\", \"rejected\": \" Lyon, I think.\"}");

    @BeforeAll
    static void writeModels() {
        SynthPreset tiny = SynthPreset.named("tiny");
        policy = models.resolve("policy.gguf");
        reference = models.resolve("reference.gguf");
        SyntheticLlama.write(policy, "policy", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        SyntheticLlama.write(reference, "reference", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 2);
    }

    Path input(List<String> lines) throws IOException {
        return JsonlFiles.write(tmp.resolve("in.jsonl"), lines);
    }

    static CliRun score(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("score", "-m", policy.toString(), "-r", reference.toString(),
                "-i", in.toString(), "-o", out.toString(), "--quiet", "--threads", "2"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    /** Sum of log p(completion | prompt) by the pure-Java forward, with the documented tokenization rule. */
    static double expectedSum(Path model, String prompt, String completion) {
        try (Vocab v = Vocab.open(model)) {
            int[] p = v.tokenize(prompt, true, true);
            int[] text = v.tokenize(completion, false, true);
            int[] c = java.util.Arrays.copyOf(text, text.length + 1); // then EOS, as TRL's DPOTrainer does
            c[text.length] = v.eos();
            int[] seq = new int[p.length + c.length];
            System.arraycopy(p, 0, seq, 0, p.length);
            System.arraycopy(c, 0, seq, p.length, c.length);
            double s = 0;
            for (double x : new ReferenceForward(LlamaWeights.load(model)).logProbs(seq, p.length)) {
                s += x;
            }
            return s;
        }
    }

    @Test
    void writesTrlColumnsThatMatchTheReferenceForwardAndKeepsUnknownFields() throws IOException {
        Path out = tmp.resolve("out.jsonl");
        CliRun r = score(input(GOOD), out, "--per-token");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("score: 4 records (0 skipped)");
        List<JsonNode> rows = read(out);
        assertThat(rows).hasSize(4);
        JsonNode a = rows.get(0);
        assertThat(a.get("id").asText()).isEqualTo("a");
        assertThat(a.get("source")).isEqualTo(JSON.readTree("{\"kept\": [1, 2]}"));
        assertThat(rows.get(1).get("id").asInt()).as("no id: the 0-based line number").isEqualTo(1);
        for (String f : List.of("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps",
                "chosen_tokens", "rejected_tokens", "prompt_tokens", "chosen_token_ids", "chosen_token_logps")) {
            assertThat(a.has(f)).as(f).isTrue();
        }
        assertThat(rows.get(2).has("completion_logps")).isTrue();
        assertThat(rows.get(2).has("ref_completion_logps")).isTrue();

        double maxDiff = 0;
        for (int i : new int[] {0, 1, 3}) {
            JsonNode src = JSON.readTree(GOOD.get(i));
            JsonNode row = rows.get(i);
            maxDiff = Math.max(maxDiff, Math.abs(row.get("chosen_logps").asDouble()
                    - expectedSum(policy, src.get("prompt").asText(), src.get("chosen").asText())));
            maxDiff = Math.max(maxDiff, Math.abs(row.get("ref_rejected_logps").asDouble()
                    - expectedSum(reference, src.get("prompt").asText(), src.get("rejected").asText())));
            double perTokenSum = 0;
            for (JsonNode t : row.get("chosen_token_logps")) {
                perTokenSum += t.asDouble();
            }
            assertThat(perTokenSum).isCloseTo(row.get("chosen_logps").asDouble(), org.assertj.core.data.Offset.offset(1e-4));
        }
        System.out.printf("score CLI vs Java reference forward (sums): max |diff| = %.3g%n", maxDiff);
        assertThat(maxDiff).isLessThan(5e-3);
    }

    static final List<String> MIXED = List.of(
            GOOD.get(0),
            "{\"prompt\": \"broken\", \"chosen\": ",
            GOOD.get(1),
            "{\"prompt\": \"no rejected\", \"chosen\": \" x\"}",
            "{\"prompt\": \"empty\", \"chosen\": \"\", \"rejected\": \" y\"}",
            GOOD.get(2),
            "{\"prompt\": \"" + "long ".repeat(100) + "\", \"chosen\": \" a\", \"rejected\": \" b\"}",
            GOOD.get(3));

    @Test
    void failStopsWithExitOneNamingFileAndLineAfterWritingWhatWasDone() throws IOException {
        Path in = input(MIXED);
        Path out = tmp.resolve("out.jsonl");
        CliRun r = score(in, out, "--ctx", "64");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(in + ":2:").contains("malformed JSON");
        assertThat(read(out)).hasSize(1);
    }

    @Test
    void skipWritesEveryGoodRecordAndEveryBadLineExactlyOnce() throws IOException {
        Path in = input(MIXED);
        Path out = tmp.resolve("out.jsonl");
        CliRun r = score(in, out, "--ctx", "64", "--on-error", "skip");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("4 records (4 skipped)");
        assertThat(read(out)).extracting(n -> n.get("prompt").asText())
                .containsExactly("What is 2+2?", "Name a colour.", "Say hi", "The capital of France is");
        List<JsonNode> rejects = read(tmp.resolve("out.rejects.jsonl"));
        assertThat(rejects).extracting(n -> n.get("line").asInt()).containsExactly(2, 4, 5, 7);
        assertThat(rejects.get(1).get("error").asText()).contains(in + ":4:", "rejected");
        assertThat(rejects.get(2).get("error").asText()).contains("empty");
        assertThat(rejects.get(3).get("error").asText()).contains("--ctx");
    }

    @Test
    void resumeAfterAKillWritesEveryRecordExactlyOnce() throws IOException {
        Path in = input(GOOD);
        Path full = tmp.resolve("full.jsonl");
        assertThat(score(in, full).exit()).isZero();
        // A run killed while writing its third record: two whole lines and a torn one.
        List<String> lines = Files.readAllLines(full);
        Path out = tmp.resolve("out.jsonl");
        Files.writeString(out, lines.get(0) + "\n" + lines.get(1) + "\n" + lines.get(2).substring(0, 20));
        Files.copy(tmp.resolve("full.jsonl.run.json"), tmp.resolve("out.jsonl.run.json")); // written when that run started
        CliRun refused = score(in, out);
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("--resume");
        CliRun r = score(in, out, "--resume");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("2 records");
        assertThat(read(out)).isEqualTo(read(full));
    }

    @Test
    void aReferenceWithAnotherVocabularyIsRefusedBeforeAnyWork() throws IOException {
        SynthPreset tiny = SynthPreset.named("tiny");
        Path other = tmp.resolve("other.gguf");
        SyntheticLlama.write(other, "other", tiny.shape(), VocabFiles.named("phi-3"), GgmlType.F32, 1);
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("score", "-m", policy.toString(), "-r", other.toString(), "-i", input(GOOD).toString(),
                "-o", out.toString(), "--quiet");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("vocabulary", other.toString());
        assertThat(out).doesNotExist();
    }

    @Test
    void topKWritesTheMostProbableTokensAtEveryCompletionPosition() throws IOException {
        Path out = tmp.resolve("out.jsonl");
        CliRun r = score(input(GOOD), out, "--per-token", "--top-k", "3");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode a = read(out).get(0);
        for (String name : List.of("chosen", "rejected", "ref_chosen", "ref_rejected")) {
            assertThat(a.get(name + "_top_logps")).as(name).hasSize(a.get(name.replace("ref_", "") + "_tokens").asInt());
        }
        JsonNode ids = a.get("chosen_token_ids");
        JsonNode logps = a.get("chosen_token_logps");
        JsonNode top = a.get("chosen_top_logps");
        for (int t = 0; t < top.size(); t++) {
            JsonNode at = top.get(t);
            assertThat(at).hasSize(3);
            assertThat(at.get(0).get("logp").asDouble()).isGreaterThanOrEqualTo(at.get(1).get("logp").asDouble());
            assertThat(at.get(0).get("logp").asDouble()).as("the scored token is at most as probable as the best")
                    .isGreaterThanOrEqualTo(logps.get(t).asDouble() - 1e-6);
            assertThat(at.get(0).has("token")).isTrue();
            for (JsonNode alt : at) {
                if (alt.get("id").asInt() == ids.get(t).asInt()) {
                    assertThat(alt.get("logp").asDouble()).isCloseTo(logps.get(t).asDouble(), org.assertj.core.data.Offset.offset(1e-6));
                }
            }
        }
        assertThat(score(input(GOOD), tmp.resolve("bad.jsonl"), "--top-k", "-1").exit()).isEqualTo(2);
    }

    @Test
    void conversationalRecordsAreRenderedWithTheModelsChatTemplate() throws IOException {
        // The qwen2 vocabulary carries a ChatML template; llama.cpp renders it without a default system turn.
        SynthPreset tiny = SynthPreset.named("tiny");
        Path chatml = tmp.resolve("chatml.gguf");
        SyntheticLlama.write(chatml, "chatml", tiny.shape(), VocabFiles.named("qwen2"), GgmlType.Q8_0, 5);
        Path conversational = tmp.resolve("conv.jsonl");
        Files.write(conversational, List.of(
                "{\"id\": \"c\", \"prompt\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"}], "
                        + "\"chosen\": [{\"role\": \"assistant\", \"content\": \"4\"}], "
                        + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"5, I think\"}]}"));
        Path written = tmp.resolve("text.jsonl");
        Files.write(written, List.of(JSON.createObjectNode().put("id", "c")
                .put("prompt", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
                .put("chosen", "4<|im_end|>\n")
                .put("rejected", "5, I think<|im_end|>\n").toString()));
        JsonNode[] rows = new JsonNode[2];
        Path[] inputs = {conversational, written};
        for (int i = 0; i < 2; i++) {
            Path out = tmp.resolve("out" + i + ".jsonl");
            CliRun r = CliRun.of("score", "-m", chatml.toString(), "-i", inputs[i].toString(), "-o", out.toString(),
                    "--quiet", "--threads", "2", "--per-token");
            assertThat(r.exit()).as(r.err()).isZero();
            rows[i] = read(out).get(0);
        }
        try (Vocab v = Vocab.open(chatml)) {
            assertThat(rows[0].get("prompt_tokens").asInt())
                    .isEqualTo(v.tokenize("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", true, true).length);
            int imEnd = v.tokenize("<|im_end|>", false, true)[0];
            assertThat(rows[0].get("chosen_token_ids").get(1).asInt()).as("<|im_end|> is one special token").isEqualTo(imEnd);
        }
        // The same tokens, but the plain-text record's completions end with EOS, which the template's
        // <|im_end|> stands for in the conversational one (TRL's rule).
        assertThat(rows[0].get("prompt_tokens")).isEqualTo(rows[1].get("prompt_tokens"));
        for (String name : List.of("chosen", "rejected")) {
            JsonNode conv = rows[0].get(name + "_token_ids");
            JsonNode text = rows[1].get(name + "_token_ids");
            assertThat(text).hasSize(conv.size() + 1);
            double prefixSum = 0;
            for (int t = 0; t < conv.size(); t++) {
                assertThat(text.get(t)).isEqualTo(conv.get(t));
                prefixSum += rows[1].get(name + "_token_logps").get(t).asDouble();
            }
            assertThat(rows[0].get(name + "_logps").asDouble()).as(name).isCloseTo(prefixSum, org.assertj.core.data.Offset.offset(1e-5));
        }
    }
}
