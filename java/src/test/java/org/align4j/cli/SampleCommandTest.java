package org.align4j.cli;

import org.align4j.TestModels;
import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.align4j.engine.Completion;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SampleCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path model;
    static Path chatModel;

    static final List<String> GOOD = List.of(
            "{\"id\": \"a\", \"prompt\": \"What is 2+2?\", \"source\": {\"kept\": [1, 2]}}",
            "{\"prompt\": \"Name a colour.\"}",
            "{\"prompt\": \"The capital of France is\", \"id\": 3, \"chosen\": \" Paris\", \"rejected\": \" Lyon\"}",
            "{\"id\": \"d\", \"prompt\": \"Once upon a time\"}");

    @BeforeAll
    static void writeModels() {
        model = TestModels.tiny(models, GgmlType.F32, 1);
        chatModel = models.resolve("tiny-phi3.gguf"); // phi-3's tokenizer carries a chat template
        SyntheticLlama.write(chatModel, "tiny-phi3", SynthPreset.named("tiny").shape(), VocabFiles.named("phi-3"), GgmlType.F32, 2);
    }

    Path input(List<String> lines) throws IOException {
        return JsonlFiles.write(tmp.resolve("prompts.jsonl"), lines);
    }

    static List<String> args(Path m, Path in, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("sample", "-m", m.toString(), "-i", in.toString(), "-o", out.toString(),
                "--quiet", "--threads", "1", "--ctx", "128", "--seqs", "4", "--batch-tokens", "32"));
        a.addAll(List.of(extra));
        return a;
    }

    static CliRun sample(Path in, Path out, String... extra) {
        return CliRun.of(args(model, in, out, extra).toArray(String[]::new));
    }

    @Test
    void writesEachPromptRecordWithIdFirstAndItsCompletions() throws IOException {
        Path out = tmp.resolve("out.jsonl");
        CliRun r = sample(input(GOOD), out, "-n", "3", "--max-tokens", "8", "--seed", "5");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("sample: 4 records (0 skipped)");
        List<JsonNode> rows = read(out);
        assertThat(rows).extracting(n -> n.get("id").asText()).containsExactly("a", "1", "3", "d");
        for (JsonNode row : rows) {
            assertThat(row.fieldNames().next()).isEqualTo("id");
            assertThat(row.get("completions")).hasSize(3);
            for (JsonNode c : row.get("completions")) {
                assertThat(c.fieldNames()).toIterable().containsExactly("text", "token_ids", "logps", "token_logps", "finish_reason");
                assertThat(c.get("token_ids").size()).isEqualTo(c.get("token_logps").size()).isBetween(1, 8);
                double sum = 0;
                for (JsonNode v : c.get("token_logps")) {
                    assertThat(v.asDouble()).isNegative();
                    sum += v.asDouble();
                }
                assertThat(c.get("logps").asDouble()).isCloseTo(sum, org.assertj.core.data.Offset.offset(1e-4));
                assertThat(c.get("finish_reason").asText()).isIn("eos", "length");
            }
        }
        assertThat(rows.get(0).get("source")).isEqualTo(JSON.readTree("{\"kept\": [1, 2]}"));
        assertThat(rows.get(2).get("chosen").asText()).isEqualTo(" Paris");

        Path again = tmp.resolve("again.jsonl");
        assertThat(sample(input(GOOD), again, "-n", "3", "--max-tokens", "8", "--seed", "5").exit()).isZero();
        assertThat(Files.readString(again)).as("same seed, same output").isEqualTo(Files.readString(out));
        Path other = tmp.resolve("other.jsonl");
        assertThat(sample(input(GOOD), other, "-n", "3", "--max-tokens", "8", "--seed", "6").exit()).isZero();
        assertThat(Files.readString(other)).isNotEqualTo(Files.readString(out));
    }

    @Test
    void samplingOptionsReachTheSampler() throws IOException {
        Path free = tmp.resolve("free.jsonl");
        assertThat(sample(input(GOOD), free, "-n", "4", "--max-tokens", "24").exit()).isZero();
        // A stop string from the middle of a completion's text: the completions that contain it stop there.
        String text = read(free).get(0).get("completions").get(0).get("text").asText();
        String stop = text.substring(text.length() / 2, text.length() / 2 + 3);
        Path stopped = tmp.resolve("stopped.jsonl");
        CliRun r = sample(input(GOOD), stopped, "-n", "4", "--max-tokens", "24", "--stop", "\u0001never", "--stop", stop);
        assertThat(r.exit()).as(r.err()).isZero();
        int nStopped = 0;
        List<JsonNode> a = read(free);
        List<JsonNode> b = read(stopped);
        for (int i = 0; i < a.size(); i++) {
            for (int k = 0; k < 4; k++) {
                String full = a.get(i).get("completions").get(k).get("text").asText();
                JsonNode got = b.get(i).get("completions").get(k);
                int at = full.indexOf(stop);
                if (at >= 0) {
                    nStopped++;
                    assertThat(got.get("finish_reason").asText()).isEqualTo("stop");
                    assertThat(got.get("text").asText()).isEqualTo(full.substring(0, at));
                } else {
                    assertThat(got.get("text").asText()).isEqualTo(full);
                }
            }
        }
        assertThat(nStopped).isPositive();

        Path greedy = tmp.resolve("greedy.jsonl");
        assertThat(sample(input(GOOD), greedy, "-n", "3", "--max-tokens", "3", "--temperature", "0").exit()).isZero();
        for (JsonNode row : read(greedy)) {
            JsonNode first = row.get("completions").get(0);
            assertThat(first.get("token_ids").size()).isLessThanOrEqualTo(3);
            assertThat(row.get("completions")).allSatisfy(c -> assertThat(c.get("token_ids")).isEqualTo(first.get("token_ids")));
        }
    }

    @Test
    void conversationalPromptsAreRenderedWithTheChatTemplateAndItsAssistantOpening() throws IOException {
        String line = "{\"id\": \"c\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"What is 2+2?\"}]}";
        Path out = tmp.resolve("chat.jsonl");
        CliRun r = CliRun.of(args(chatModel, input(List.of(line)), out, "-n", "2", "--max-tokens", "6", "--seed", "3")
                .toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode row = read(out).getFirst();
        try (Model m = Model.load(chatModel, ModelOptions.DEFAULT)) {
            String rendered = m.applyChatTemplate(new String[] {"system", "user"}, new String[] {"Be brief.", "What is 2+2?"}, true);
            assertThat(rendered).endsWith("<|assistant|>\n");
            SampleRequest request = new SampleRequest("\"c\"", rendered, m.vocab().tokenize(rendered, true, true), 2);
            List<SampleResult> expected = new ArrayList<>();
            try (ContinuousBatchSampler s = new ContinuousBatchSampler(m, new SamplerOptions(128, 32, 4, 1),
                    new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 6, List.of(), 3))) {
                s.submit(request, expected::add);
                s.finish();
            }
            for (int k = 0; k < 2; k++) {
                Completion c = expected.getFirst().completions().get(k);
                JsonNode got = row.get("completions").get(k);
                assertThat(got.get("token_ids")).extracting(JsonNode::asInt).containsExactly(IntStream.of(c.tokenIds()).boxed().toArray(Integer[]::new));
                assertThat(got.get("text").asText()).isEqualTo(c.text());
            }
        }
    }

    @Test
    void ignoreEosRunsEveryCompletionToMaxTokensAndTheRunSaysWhereItsTimeWent() throws IOException {
        // The demo shape's character vocabulary has 259 tokens, so at a high temperature (near-uniform draws) EOS comes up often.
        SynthPreset demo = SynthPreset.named("demo");
        Path charModel = models.resolve("demo-shape.gguf");
        if (!Files.exists(charModel)) {
            SyntheticLlama.write(charModel, "demo", demo.shape(), demo.tokenizer(), GgmlType.F32, 3);
        }
        List<String> prompts = IntStream.range(0, 6).mapToObj(i -> "{\"prompt\": \"" + i + "+" + (7 - i) + "=\"}").toList();
        List<String> common = List.of("sample", "-m", charModel.toString(), "-i", input(prompts).toString(), "--threads", "1",
                "--ctx", "80", "--seqs", "8", "--batch-tokens", "32", "-n", "8", "--max-tokens", "60", "--temperature", "1000");
        Path free = tmp.resolve("free.jsonl");
        List<String> a = new ArrayList<>(common);
        a.addAll(List.of("-o", free.toString(), "--quiet"));
        assertThat(CliRun.of(a.toArray(String[]::new)).exit()).isZero();
        long eos = read(free).stream().flatMap(r -> java.util.stream.StreamSupport.stream(r.get("completions").spliterator(), false))
                .filter(c -> c.get("finish_reason").asText().equals("eos")).count();
        assertThat(eos).as("completions ended by EOS without --ignore-eos").isPositive();

        Path ignoring = tmp.resolve("ignoring.jsonl");
        List<String> b = new ArrayList<>(common);
        b.addAll(List.of("-o", ignoring.toString(), "--ignore-eos"));
        CliRun r = CliRun.of(b.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        for (JsonNode row : read(ignoring)) {
            for (JsonNode c : row.get("completions")) {
                assertThat(c.get("finish_reason").asText()).isEqualTo("length");
                assertThat(c.get("token_ids")).hasSize(60).noneMatch(t -> t.asInt() == org.align4j.gguf.CharTokenizer.EOS);
            }
        }
        System.out.printf("--ignore-eos: %d of 48 completions ended by EOS without it, none with it%n", eos);
        assertThat(r.err()).containsPattern("sample: \\d+ tokens in \\d+ llama_decode calls .*: decode [0-9.]+%, sampling [0-9.]+%, "
                + "log-probs [0-9.]+%, other [0-9.]+%");
    }

    static final List<String> MIXED = List.of(
            GOOD.get(0),
            "{\"prompt\": \"broken\", ",
            GOOD.get(1),
            "{\"id\": \"no prompt\"}",
            "{\"prompt\": 5}",
            GOOD.get(2),
            "{\"prompt\": \"" + "long ".repeat(150) + "\"}",
            GOOD.get(3));

    @Test
    void failStopsWithExitOneNamingFileAndLineAfterWritingWhatWasRead() throws IOException {
        Path in = input(MIXED);
        Path out = tmp.resolve("out.jsonl");
        CliRun r = sample(in, out, "-n", "2", "--max-tokens", "8");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(in + ":2:").contains("malformed JSON");
        assertThat(read(out)).extracting(n -> n.get("id").asText()).containsExactly("a");
    }

    @Test
    void skipWritesEveryGoodRecordAndEveryBadLineExactlyOnce() throws IOException {
        Path in = input(MIXED);
        Path out = tmp.resolve("out.jsonl");
        CliRun r = sample(in, out, "-n", "2", "--max-tokens", "8", "--on-error", "skip");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("sample: 4 records (4 skipped)");
        assertThat(read(out)).extracting(n -> n.get("id").asText()).containsExactly("a", "2", "3", "d");
        List<JsonNode> rejects = read(tmp.resolve("out.rejects.jsonl"));
        assertThat(rejects).extracting(n -> n.get("line").asInt()).containsExactly(2, 4, 5, 7);
        assertThat(rejects.get(0).get("error").asText()).contains(in + ":2:", "malformed JSON");
        assertThat(rejects.get(1).get("error").asText()).contains(in + ":4:", "\"prompt\"");
        assertThat(rejects.get(2).get("error").asText()).contains(in + ":5:", "\"prompt\"");
        assertThat(rejects.get(3).get("error").asText()).contains(in + ":7:", "--ctx 128", "--max-tokens 8");
    }

    @Test
    void badOptionsAreUsageErrorsSayingWhatToChange() throws IOException {
        Path in = input(GOOD);
        Path out = tmp.resolve("out.jsonl");
        CliRun topP = sample(in, out, "-n", "2", "--top-p", "1.5");
        assertThat(topP.exit()).isEqualTo(2);
        assertThat(topP.err()).contains("--top-p");
        CliRun seqs = CliRun.of("sample", "-m", model.toString(), "-i", in.toString(), "-o", out.toString(), "-n", "2",
                "--seqs", "64", "--batch-tokens", "32");
        assertThat(seqs.exit()).isEqualTo(2);
        assertThat(seqs.err()).contains("--batch-tokens", "--seqs");
        CliRun room = sample(in, out, "-n", "2", "--max-tokens", "200");
        assertThat(room.exit()).isEqualTo(2);
        assertThat(room.err()).contains("--max-tokens 200", "--ctx 128");
        assertThat(sample(in, out, "-n", "0").exit()).isEqualTo(2);
        assertThat(out).doesNotExist();
    }

    /** Same ids, texts, tokens and finish reasons in the same order. Returns the max log-prob diff, for the caller's bound. */
    static double assertSameRecords(List<JsonNode> got, List<JsonNode> expected) {
        assertThat(got).extracting(n -> n.get("id").asText()).containsExactlyElementsOf(expected.stream().map(n -> n.get("id").asText()).toList());
        double d = 0;
        for (int i = 0; i < got.size(); i++) {
            JsonNode a = got.get(i).get("completions");
            JsonNode b = expected.get(i).get("completions");
            assertThat(a).hasSameSizeAs(b);
            for (int k = 0; k < a.size(); k++) {
                for (String f : List.of("text", "token_ids", "finish_reason")) {
                    assertThat(a.get(k).get(f)).as("record %d completion %d %s", i, k, f).isEqualTo(b.get(k).get(f));
                }
                for (int t = 0; t < a.get(k).get("token_logps").size(); t++) {
                    d = Math.max(d, Math.abs(a.get(k).get("token_logps").get(t).asDouble() - b.get(k).get("token_logps").get(t).asDouble()));
                }
            }
        }
        return d;
    }

    @Test
    void resumeAfterATornWriteGivesEveryRecordOnceAsAnUninterruptedRunDoes() throws IOException {
        Path in = input(GOOD);
        Path full = tmp.resolve("full.jsonl");
        assertThat(sample(in, full, "-n", "3", "--max-tokens", "12").exit()).isZero();
        List<String> lines = Files.readAllLines(full);
        Path out = tmp.resolve("out.jsonl");
        Files.writeString(out, lines.get(0) + "\n" + lines.get(1) + "\n" + lines.get(2).substring(0, 40));
        Files.copy(tmp.resolve("full.jsonl.run.json"), tmp.resolve("out.jsonl.run.json")); // written when that run started
        CliRun refused = sample(in, out, "-n", "3", "--max-tokens", "12");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("--resume");
        CliRun r = sample(in, out, "-n", "3", "--max-tokens", "12", "--resume");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("sample: 2 records");
        double d = assertSameRecords(read(out), read(full));
        System.out.printf("resumed after a torn write vs uninterrupted: same records; log-prob max |diff| = %.3g (bound 0)%n", d);
        assertThat(d).isZero();
    }

    @Test
    void resumeAfterKillingTheProcessGivesEveryRecordOnceAsAnUninterruptedRunDoes() throws Exception {
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            prompts.add("{\"id\": \"p" + i + "\", \"prompt\": \"Prompt number " + i + " says\"}");
        }
        Path in = input(prompts);
        String[] job = {"-n", "4", "--max-tokens", "48", "--seed", "9"};
        Path full = tmp.resolve("full.jsonl");
        assertThat(sample(in, full, job).exit()).isZero();

        Path out = tmp.resolve("out.jsonl");
        CliRun.killAfterLines(args(model, in, out, job), out, 3, tmp.resolve("child.log"));
        int before = CliRun.lineCount(out);
        assertThat(before).isBetween(3, 39);

        CliRun r = sample(in, out, ArraysConcat.of(job, "--resume"));
        assertThat(r.exit()).as(r.err()).isZero();
        double d = assertSameRecords(read(out), read(full));
        System.out.printf("killed (SIGKILL) after %d of 40 records, resumed: every record once, as uninterrupted; log-prob max |diff| = %.3g (bound 0)%n",
                before, d);
        assertThat(d).isZero();
    }

    static final class ArraysConcat {
        static String[] of(String[] a, String... b) {
            String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, out, a.length, b.length);
            return out;
        }
    }
}
