package org.align4j.cli;

import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.RepoFiles;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufValue;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.DpoTestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code align4j sft} on the committed demo model: on prompt-completion records and on the best completions
 * of real {@code bon} output (the first step's loss equals llama.cpp's NLL of those completions), a LoRA
 * run whose adapter llama.cpp loads and that raises the trained completions' log-probs, bad records under
 * fail and skip, and usage errors.
 */
class SftCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double ENGINE_TOLERANCE = 1e-3; // nats per completion token: llama.cpp vs the Java forward of the F16 model
    static final Path DEMO = RepoFiles.demoDir();
    static final Path MODEL = DEMO.resolve("demo.gguf");
    static final String[] ENGINE = {"--ctx", "32", "--seqs", "16", "--batch-tokens", "64", "--threads", "2", "--quiet"};

    @TempDir Path tmp;

    static CliRun sft(Path data, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("sft", "-m", MODEL.toString(), "--data", data.toString(),
                "--out", out.toString(), "--threads", "2"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    static CliRun run(String... args) {
        CliRun r = CliRun.of(args);
        assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
        return r;
    }

    /** The first {@code count} records of the demo's SFT set. */
    Path records(int count) throws IOException {
        return JsonlFiles.write(tmp.resolve("sft.jsonl"), Files.readAllLines(DEMO.resolve("sft.jsonl")).subList(0, count));
    }

    /** Tokens of a completion as the demo's character tokenizer has them: one per character, then EOS. */
    static int completionTokens(JsonNode record) {
        return record.get("completion").asText().length() + 1;
    }

    @Test
    void trainsOnPromptCompletionRecordsAndSaysWhatItDid() throws IOException {
        Path data = records(8);
        Path out = tmp.resolve("m2.gguf");
        CliRun r = sft(data, out, "--max-steps", "3", "--batch-size", "4", "--save-every", "2", "--out-type", "f16");
        System.out.print(r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err())
                .contains("sft: 8 records (0 from bon output, 0 skipped), 3 steps of 4 (2 per epoch), lr 5.0E-5 (linear), seed 42")
                .contains("sft: step 3/3 (epoch 1.50), loss ")
                .contains("sft: 3 steps (3 this run) on 8 records (0 skipped), ")
                .contains("sft: wrote " + out);
        List<JsonNode> metrics = read(tmp.resolve("m2.gguf.metrics.jsonl"));
        assertThat(metrics).extracting(m -> m.get("step").asInt()).containsExactly(1, 2, 3);
        // The first epoch (steps 1 and 2) covers every record once: its scored tokens are every completion's.
        long scored = read(data).stream().mapToLong(SftCommandTest::completionTokens).sum();
        assertThat(metrics.get(0).get("scored_tokens").asLong() + metrics.get(1).get("scored_tokens").asLong()).isEqualTo(scored);
        assertThat(tmp.resolve("m2.gguf.metrics.png")).exists();
        assertThat(tmp.resolve("m2.gguf.ckpt")).exists();
        assertThat(tmp.resolve("m2.gguf.lock")).doesNotExist();
        assertThat(tmp.resolve("m2.gguf.rejects.jsonl")).doesNotExist();
        CliRun info = run("info", out.toString());
        assertThat(info.out()).contains("F16");

        CliRun again = sft(data, out, "--max-steps", "3", "--batch-size", "4");
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("a checkpoint of an earlier run is at " + tmp.resolve("m2.gguf.ckpt") + ": pass --resume");
    }

    /**
     * {@code bon} on the demo model, then {@code sft} on its output: one step over every record whose best
     * completion is not empty, so its loss (taken before the update) is the NLL per token of exactly those
     * best completions, which {@code score} computes with llama.cpp from a prompt-completion file built here.
     * With {@code --min-reward 1} the records whose best completion is wrong are left out.
     */
    @Test
    void trainsOnTheBestCompletionOfEachBonRecord() throws IOException {
        Path prompts = JsonlFiles.write(tmp.resolve("prompts.jsonl"), Files.readAllLines(DEMO.resolve("heldout.jsonl")).subList(0, 12));
        Path bon = tmp.resolve("bon.jsonl");
        run(Stream.concat(Stream.of("bon", "-m", MODEL.toString(), "-i", prompts.toString(), "-o", bon.toString(), "-n", "4",
                "--reward", "match:answer", "--temperature", "1", "--max-tokens", "8", "--seed", "5"), Stream.of(ENGINE)).toArray(String[]::new));

        List<String> best = new ArrayList<>(); // prompt-completion records of the non-empty best completions
        long empty = 0, correct = 0, notFirst = 0;
        for (JsonNode row : read(bon)) {
            int b = row.get("best").asInt();
            JsonNode c = row.get("completions").get(b);
            notFirst += b > 0 ? 1 : 0;
            if (c.get("text").asText().isEmpty()) {
                empty++;
                continue;
            }
            correct += c.get("reward").asDouble() >= 1 ? 1 : 0;
            ObjectNode pc = JSON.createObjectNode().put("prompt", row.get("prompt").asText()).put("completion", c.get("text").asText());
            best.add(pc.toString());
        }
        System.out.printf("bon: %d records, best completion not the first in %d, empty in %d, correct in %d%n", 12, notFirst, empty, correct);
        assertThat(notFirst).as("some record's best is not its first completion, or the test cannot tell them apart").isPositive();
        assertThat(correct).as("some best completions are right and some wrong").isBetween(1L, (long) best.size() - 1);

        Path pcFile = JsonlFiles.write(tmp.resolve("best.jsonl"), best);
        Path scored = tmp.resolve("best.scored.jsonl");
        run("score", "-m", MODEL.toString(), "-i", pcFile.toString(), "-o", scored.toString(), "--ctx", "32", "--seqs", "16",
                "--batch-tokens", "64", "--threads", "2", "--quiet");
        double nll = 0;
        long tokens = 0;
        try (Model vocab = Model.load(MODEL, ModelOptions.VOCAB_ONLY)) {
            for (JsonNode row : read(scored)) {
                nll -= row.get("completion_logps").asDouble();
                tokens += vocab.vocab().tokenize(row.get("completion").asText(), false, true).length + 1; // and EOS
            }
        }

        Path out = tmp.resolve("rft.gguf");
        CliRun r = sft(bon, out, "--max-steps", "1", "--batch-size", "12", "--on-error", "skip");
        System.out.print(r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("sft: " + best.size() + " records (" + best.size() + " from bon output, " + empty + " skipped)");
        JsonNode step = read(tmp.resolve("rft.gguf.metrics.jsonl")).getFirst();
        System.out.printf("sft on bon output: step 1 loss %.6f over %d tokens; llama.cpp's NLL of the best completions %.6f over %d"
                + " (tolerance %.0e)%n", step.get("loss").asDouble(), step.get("scored_tokens").asLong(), nll / tokens, tokens, ENGINE_TOLERANCE);
        assertThat(step.get("sequences").asInt()).isEqualTo(best.size());
        assertThat(step.get("scored_tokens").asLong()).isEqualTo(tokens);
        assertThat(step.get("loss").asDouble()).isCloseTo(nll / tokens, within(ENGINE_TOLERANCE));

        CliRun kept = sft(bon, tmp.resolve("rft-correct.gguf"), "--max-steps", "1", "--batch-size", "12", "--on-error", "skip",
                "--min-reward", "1");
        assertThat(kept.exit()).as(kept.err()).isZero();
        long below = 12 - empty - correct;
        assertThat(kept.err()).contains("sft: " + correct + " records (" + correct + " from bon output, " + below
                + " below reward 1.0 left out, ");
        assertThat(read(tmp.resolve("rft-correct.gguf.metrics.jsonl")).getFirst().get("sequences").asLong()).isEqualTo(correct);
    }

    /**
     * LoRA SFT writes an adapter (and its PEFT files and a merged model) that llama.cpp loads; scored with
     * it by {@code score --lora} (reference: the same model with the adapter off), every trained
     * completion's log-prob has risen.
     */
    @Test
    void loraSftWritesAnAdapterThatRaisesTheCompletionsLogProbsInLlamaCpp() throws IOException {
        Path data = records(8);
        Path adapter = tmp.resolve("adapter.gguf");
        CliRun r = sft(data, adapter, "--lora-rank", "4", "--lr", "1e-2", "--max-steps", "8", "--batch-size", "8",
                "--schedule", "constant", "--peft", tmp.resolve("peft").toString(), "--merge", tmp.resolve("merged.gguf").toString());
        System.out.print(r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("; LoRA").contains("trained parameters) over " + MODEL);
        try (GgufFile a = GgufFile.open(adapter)) {
            assertThat(a.string("general.type")).isEqualTo("adapter");
        }
        assertThat(tmp.resolve("peft/adapter_model.safetensors")).exists();
        assertThat(tmp.resolve("peft/adapter_config.json")).exists();
        assertThat(tmp.resolve("merged.gguf")).exists();

        Path scored = tmp.resolve("scored.jsonl");
        run("score", "-m", MODEL.toString(), "--lora", adapter.toString(), "-i", data.toString(), "-o", scored.toString(),
                "--ctx", "32", "--seqs", "16", "--batch-tokens", "64", "--threads", "2", "--quiet");
        double leastRise = Double.POSITIVE_INFINITY, meanRise = 0;
        List<JsonNode> rows = read(scored);
        for (JsonNode row : rows) {
            double rise = row.get("completion_logps").asDouble() - row.get("ref_completion_logps").asDouble();
            leastRise = Math.min(leastRise, rise);
            meanRise += rise / rows.size();
        }
        System.out.printf("llama.cpp with the LoRA SFT adapter: completion log-probs rise by %.3f nats on average, %.3f at least (8 records)%n",
                meanRise, leastRise);
        assertThat(leastRise).isGreaterThan(0);
        assertThat(meanRise).isGreaterThan(0.5);
    }

    /**
     * After a chat prompt, a bon record's best text is the assistant's message, so the chat template closes
     * the turn and the loss covers that too (character tokenizer: one token per character, no EOS).
     */
    @Test
    void aBonRecordAfterAChatPromptTrainsOnTheAssistantTurnTheTemplateCloses() throws IOException {
        Path policy = DpoTestData.model(tmp, "policy", GgmlType.F32, 1);
        Path chat = DpoTestData.rewrite(policy, tmp.resolve("chat.gguf"), keys -> keys.put("tokenizer.chat_template",
                GgufValue.string("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")), -1);
        Path data = JsonlFiles.write(tmp.resolve("bon.jsonl"), List.of("{\"prompt\": [{\"role\": \"user\", \"content\": \"abc\"}],"
                + " \"completions\": [{\"text\": \"x\", \"reward\": 0}, {\"text\": \"abc\", \"reward\": 1}], \"best\": 1}"));
        CliRun r = CliRun.of("sft", "-m", chat.toString(), "--data", data.toString(), "--out", tmp.resolve("m2.gguf").toString(),
                "--max-steps", "1", "--quiet", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode step = read(tmp.resolve("m2.gguf.metrics.jsonl")).getFirst();
        int prompt = 1 + "<|im_start|>user\nabc<|im_end|>\n<|im_start|>assistant\n".length();
        assertThat(step.get("scored_tokens").asLong()).isEqualTo("abc<|im_end|>\n".length());
        assertThat(step.get("tokens").asLong()).isEqualTo(prompt + "abc<|im_end|>\n".length());
    }

    static Stream<Arguments> badRecords() {
        return Stream.of(
                Arguments.of("{\"prompt\": \"1+2=\", \"chosen\": \"3\", \"rejected\": \"4\"}",
                        "a preference record: sft trains on prompt-completion records (\"prompt\", \"completion\") or on bon output"),
                Arguments.of("{\"prompt\": \"1+2=\"}", "a prompt record: sft trains on prompt-completion records"),
                Arguments.of("{\"prompt\": \"1+2=\", \"completions\": [{\"text\": \"3\", \"reward\": 1}]}",
                        "has \"completions\" but no \"best\": sft trains on the output of bon"),
                Arguments.of("{\"prompt\": \"1+2=\", \"completions\": [{\"text\": \"3\", \"reward\": 1}], \"best\": 1}",
                        "\"best\" must be an index into the 1 completions, not 1"),
                Arguments.of("{\"prompt\": \"1+2=\", \"completions\": [{\"text\": \"\", \"reward\": 1}], \"best\": 0}",
                        "the best completion (best 0) is empty: nothing to train on"),
                Arguments.of("{\"prompt\": \"1+2=\", \"completions\": [{\"text\": \"3\"}], \"best\": 0}",
                        "the best completion (best 0) needs a string \"text\" and a numeric \"reward\""),
                Arguments.of("{\"prompt\": \"" + "1+".repeat(10) + "2=\", \"completion\": \"12\"}",
                        "prompt + completion is 26 tokens, more than the limit of 16 (--max-len)"),
                Arguments.of("{\"prompt\": \"1+2=\", \"completion\": ", "malformed JSON"));
    }

    static final String GOOD = "{\"prompt\": \"1+1=\", \"completion\": \"2\"}";
    static final String GOOD_BON = "{\"prompt\": \"2+2=\", \"completions\": [{\"text\": \"5\", \"reward\": 0}, {\"text\": \"4\", \"reward\": 1}], \"best\": 1}";

    @ParameterizedTest(name = "{1}")
    @MethodSource("badRecords")
    void aBadRecordStopsTheRunWithExitOneNamingFileLineAndCause(String bad, String cause) throws IOException {
        Path data = JsonlFiles.write(tmp.resolve("data.jsonl"), List.of(GOOD, bad, GOOD_BON));
        Path out = tmp.resolve("m2.gguf");
        CliRun r = sft(data, out, "--max-len", "16", "--max-steps", "1", "--quiet");
        System.out.print(r.err());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("align4j sft: error: " + data + ":2: " + cause);
        assertThat(out).doesNotExist();
        assertThat(tmp.resolve("m2.gguf.ckpt")).doesNotExist();
    }

    @Test
    void skipLogsEveryBadRecordAndTrainsOnTheRest() throws IOException {
        List<String> lines = new ArrayList<>(List.of(GOOD));
        badRecords().forEach(a -> lines.add((String) a.get()[0]));
        lines.add(GOOD_BON);
        Path data = JsonlFiles.write(tmp.resolve("data.jsonl"), lines);
        Path out = tmp.resolve("m2.gguf");
        CliRun r = sft(data, out, "--max-len", "16", "--max-steps", "1", "--quiet", "--on-error", "skip");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("sft: 1 steps (1 this run) on 2 records (8 skipped)");
        List<JsonNode> rejects = read(tmp.resolve("m2.gguf.rejects.jsonl"));
        assertThat(rejects).extracting(n -> n.get("line").asInt()).containsExactly(2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(rejects.getFirst().get("error").asText()).startsWith(data + ":2: a preference record: sft trains on");
        // The two good records: "2" then EOS, and the bon record's best, "4", then EOS.
        assertThat(read(tmp.resolve("m2.gguf.metrics.jsonl")).getFirst().get("scored_tokens").asLong()).isEqualTo(4);
        assertThat(out).exists();
    }

    @Test
    void badOptionsAreUsageErrors() throws IOException {
        Path data = JsonlFiles.write(tmp.resolve("data.jsonl"), List.of(GOOD));
        Path out = tmp.resolve("m2.gguf");
        String[][] cases = {
                {"--out-type", "q4_0"}, {"--lr", "-1"}, {"--batch-size", "0"}, {"--epochs", "0"}, {"--schedule", "step"},
                {"--on-error", "ignore"}, {"--min-reward", "NaN"}, {"--lora-rank", "0"}, {"--lora-alpha", "8"},
                {"--peft", tmp.resolve("peft").toString()}, {"--merge", tmp.resolve("merged.gguf").toString()},
                {"--lora-rank", "4", "--out-type", "f16"}, {"--warmup-ratio", "2"}};
        for (String[] c : cases) {
            CliRun r = sft(data, out, c);
            System.out.println(String.join(" ", c) + " -> " + r.err().lines().findFirst().orElse(""));
            assertThat(r.exit()).as(String.join(" ", c) + ": " + r.err()).isEqualTo(2);
        }
        CliRun noModel = CliRun.of("sft", "--data", data.toString(), "--out", out.toString());
        assertThat(noModel.exit()).isEqualTo(2);
        assertThat(noModel.err()).contains("Missing required option: '--model=M.gguf'");
        assertThat(out).doesNotExist();
    }
}
