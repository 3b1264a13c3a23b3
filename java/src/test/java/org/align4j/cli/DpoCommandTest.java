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
import java.util.stream.Stream;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufValue;
import org.align4j.train.DpoTestData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DpoCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path policy;

    static final String GOOD = "{\"prompt\": \"abc:\", \"chosen\": \" abc\", \"rejected\": \" cba\"}";
    static final String GOOD2 = "{\"prompt\": \"xyz:\", \"chosen\": \" xyz\", \"rejected\": \" zyx\"}";

    @BeforeAll
    static void writeModels() {
        policy = DpoTestData.model(models, "policy", GgmlType.F32, 1);
    }

    static CliRun dpo(Path data, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("dpo", "--policy", policy.toString(), "--data", data.toString(),
                "--out", out.toString(), "--threads", "2"));
        args.addAll(List.of(extra));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void trainsWritesALoadableModelMetricsAndAPlotAndSaysWhatItDid() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(8, 1));
        Path out = tmp.resolve("m2.gguf");
        CliRun r = dpo(data, out, "--lr", "1e-3", "--max-steps", "6", "--batch-size", "4", "--warmup-ratio", "0.5",
                "--schedule", "cosine", "--save-every", "4", "--out-type", "f16");
        System.out.print(r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err())
                .contains("dpo: 8 pairs (0 skipped), 6 steps of 4 pairs (2 per epoch), loss sigmoid beta 0.1, reference: computed with llama.cpp on the initial policy")
                .contains("dpo: step 6/6 (epoch 3.00), loss ")
                .contains("dpo: 6 steps (6 this run) on 8 pairs (0 skipped), ")
                .contains("dpo: wrote " + out);
        assertThat(tmp.resolve("m2.gguf.metrics.png")).exists();
        assertThat(tmp.resolve("m2.gguf.ckpt")).exists();
        assertThat(tmp.resolve("m2.gguf.rejects.jsonl")).doesNotExist();
        List<JsonNode> metrics = read(tmp.resolve("m2.gguf.metrics.jsonl"));
        assertThat(metrics).extracting(m -> m.get("step").asInt()).containsExactly(1, 2, 3, 4, 5, 6);
        assertThat(metrics.getFirst().get("learning_rate").asDouble()).as("warm-up of ceil(0.5 * 6) steps starts at 0").isZero();

        CliRun info = CliRun.of("info", out.toString());
        assertThat(info.exit()).as(info.err()).isZero();
        assertThat(info.out()).contains("F16");
    }

    @Test
    void conversationalPairsAreRenderedWithTheChatTemplate() throws IOException {
        Path chat = DpoTestData.rewrite(policy, tmp.resolve("chat.gguf"), keys -> keys.put("tokenizer.chat_template",
                GgufValue.string("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")), -1);
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"abc\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"abc\"}],"
                        + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"cba\"}]}",
                "{\"prompt\": [{\"role\": \"user\", \"content\": \"xyz\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"xyz\"}],"
                        + " \"rejected\": [{\"role\": \"assistant\", \"content\": \"zyx\"}]}"));
        CliRun r = CliRun.of("dpo", "--policy", chat.toString(), "--data", data.toString(), "--out", tmp.resolve("m2.gguf").toString(),
                "--max-steps", "2", "--quiet", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("dpo: 2 steps (2 this run) on 2 pairs (0 skipped)");
        // One character per token: BOS + the rendered prompt, and each completion is what the conversation
        // adds after it, "abc<|im_end|>\n" (14 tokens).
        int prompt = 1 + "<|im_start|>user\nabc<|im_end|>\n<|im_start|>assistant\n".length();
        JsonNode first = read(tmp.resolve("m2.gguf.metrics.jsonl")).getFirst();
        assertThat(first.get("tokens").asLong()).as("2 pairs of (prompt + chosen, prompt + rejected) in the first step")
                .isEqualTo(2 * (2 * prompt + 14 + 14));
    }

    static Stream<Arguments> badRecords() {
        return Stream.of(
                Arguments.of("{\"prompt\": \"abc:\", \"chosen\": \" same\", \"rejected\": \" same\"}",
                        "chosen and rejected tokenize to the same 6 tokens: the pair states no preference"),
                Arguments.of("{\"prompt\": \"abc:\", \"chosen\": \"\", \"rejected\": \" x\"}", "field \"chosen\" is an empty string: nothing to score"),
                Arguments.of("{\"prompt\": \"" + "long ".repeat(10) + "\", \"chosen\": \" a\", \"rejected\": \" b\"}",
                        "prompt + completion is 54 tokens, more than the limit of 32 (--max-len)"),
                Arguments.of("{\"prompt\": \"abc:\", \"completion\": \" abc\"}",
                        "a prompt-completion record: dpo trains on preference records (\"prompt\", \"chosen\", \"rejected\")"),
                Arguments.of("{\"prompt\": \"abc:\", \"chosen\": ", "malformed JSON"),
                Arguments.of("{\"prompt\": \"abc:\", \"chosen\": \" abc\", \"rejected\": \" cba\", \"ref_chosen_logps\": -3.5}",
                        "has \"ref_chosen_logps\" but no \"ref_rejected_logps\""),
                Arguments.of("{\"prompt\": \"abc:\", \"chosen\": \" abc\", \"rejected\": \" cba\", \"ref_chosen_logps\": \"x\", \"ref_rejected_logps\": -1}",
                        "field \"ref_chosen_logps\" must be a log-prob sum: a finite number <= 0, not \"x\""));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badRecords")
    void aBadRecordStopsTheRunWithExitOneNamingFileLineAndCause(String bad, String cause) throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD, bad, GOOD2));
        Path out = tmp.resolve("m2.gguf");
        CliRun r = dpo(data, out, "--max-len", "32", "--max-steps", "1", "--quiet");
        System.out.print(r.err());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("align4j dpo: error: " + data + ":2: " + cause);
        assertThat(out).doesNotExist();
        assertThat(tmp.resolve("m2.gguf.ckpt")).doesNotExist();
    }

    @Test
    void skipLogsEveryBadRecordAndTrainsOnTheRest() throws IOException {
        List<String> lines = new ArrayList<>(List.of(GOOD));
        badRecords().forEach(a -> lines.add((String) a.get()[0]));
        lines.add(GOOD2);
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), lines);
        Path out = tmp.resolve("m2.gguf");
        CliRun r = dpo(data, out, "--max-len", "32", "--max-steps", "1", "--quiet", "--on-error", "skip");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("dpo: 1 steps (1 this run) on 2 pairs (7 skipped)");
        List<JsonNode> rejects = read(tmp.resolve("m2.gguf.rejects.jsonl"));
        assertThat(rejects).extracting(n -> n.get("line").asInt()).containsExactly(2, 3, 4, 5, 6, 7, 8);
        assertThat(rejects.getFirst().get("error").asText()).isEqualTo(data + ":2: " + badRecords().findFirst().orElseThrow().get()[1]);
        assertThat(out).exists();
    }

    @Test
    void noUsablePairIsAnError() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of("{\"prompt\": \"abc:\", \"completion\": \" abc\"}"));
        CliRun r = dpo(data, tmp.resolve("m2.gguf"), "--quiet", "--on-error", "skip");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(data + ": no usable preference pairs (1 skipped, see " + tmp.resolve("m2.gguf.rejects.jsonl") + ")");
    }

    @Test
    void tokenIdsBeyondTheEmbeddingTableAreRefusedNamingTheRecord() throws IOException {
        // The tokenizer has 259 tokens but token_embd only 150 rows: 'é' (bytes C3 A9) tokenizes to ids 198 and 172.
        Path small = DpoTestData.rewrite(policy, tmp.resolve("short-embd.gguf"), keys -> {}, 150);
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD,
                "{\"prompt\": \"abc:\", \"chosen\": \" caf\u00e9\", \"rejected\": \" cafe\"}"));
        CliRun r = CliRun.of("dpo", "--policy", small.toString(), "--data", data.toString(), "--out", tmp.resolve("m2.gguf").toString(),
                "--quiet", "--threads", "2");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(data + ":2: token id 198 is outside the model's vocabulary of 150 (rows of token_embd.weight)");
    }

    @Test
    void aModelTheTrainerDoesNotSupportIsRefusedNamingIt() throws IOException {
        Path gpt2 = DpoTestData.rewrite(policy, tmp.resolve("gpt2.gguf"),
                keys -> keys.put("general.architecture", GgufValue.string("gpt2")), -1);
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD));
        CliRun r = CliRun.of("dpo", "--policy", gpt2.toString(), "--data", data.toString(), "--out", tmp.resolve("m2.gguf").toString(), "--quiet");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("align4j dpo: error: " + gpt2 + ": the Java forward pass does not support architecture 'gpt2'");
    }

    @Test
    void badOptionsAreUsageErrors() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD));
        Path out = tmp.resolve("m2.gguf");
        String[][] cases = {
                {"--loss", "kto"}, {"--out-type", "q4_0"}, {"--lr", "-1"}, {"--loss", "ipo", "--label-smoothing", "0.1"},
                {"--on-error", "ignore"}, {"--schedule", "step"}, {"--batch-size", "0"}, {"--epochs", "0"}};
        for (String[] c : cases) {
            CliRun r = dpo(data, out, c);
            assertThat(r.exit()).as(String.join(" ", c) + ": " + r.err()).isEqualTo(2);
            System.out.println(String.join(" ", c) + " -> " + r.err().lines().findFirst().orElse(""));
        }
        assertThat(out).doesNotExist();
    }


    /** LoRA usage errors exit 2 naming the option, before anything is read or written. */
    @Test
    void badLoraOptionsAreUsageErrorsNamingTheOption() {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD, GOOD2));
        Path out = tmp.resolve("lora.gguf");
        CliRun zero = dpo(data, out, "--lora-rank", "0");
        assertThat(zero.exit()).as(zero.err()).isEqualTo(2);
        assertThat(zero.err()).contains("--lora-rank must be at least 1, not 0");
        CliRun target = dpo(data, out, "--lora-rank", "4", "--lora-targets", "q,lm_head");
        assertThat(target.exit()).as(target.err()).isEqualTo(2);
        assertThat(target.err()).contains("--lora-targets: unknown LoRA target 'lm_head'").contains("q,k,v,o,gate,up,down");
        CliRun alone = dpo(data, out, "--lora-alpha", "8");
        assertThat(alone.exit()).as(alone.err()).isEqualTo(2);
        assertThat(alone.err()).contains("--lora-alpha needs --lora-rank");
        CliRun peft = dpo(data, out, "--peft", tmp.resolve("peft").toString());
        assertThat(peft.exit()).as(peft.err()).isEqualTo(2);
        assertThat(peft.err()).contains("--peft needs --lora-rank");
        CliRun merge = dpo(data, out, "--merge", tmp.resolve("merged.gguf").toString());
        assertThat(merge.exit()).as(merge.err()).isEqualTo(2);
        assertThat(merge.err()).contains("--merge needs --lora-rank");
        assertThat(tmp.resolve("merged.gguf")).doesNotExist();
        assertThat(out).doesNotExist();
    }

    /** --lora-dropout outside [0, 1) or without --lora-rank exits 2 naming the option. */
    @Test
    void badLoraDropoutIsAUsageError() {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), List.of(GOOD, GOOD2));
        Path out = tmp.resolve("lora.gguf");
        for (String[] args : new String[][] {{"--lora-rank", "4", "--lora-dropout", "1"}, {"--lora-rank", "4", "--lora-dropout", "-0.1"},
                {"--lora-dropout", "0.1"}}) {
            CliRun r = dpo(data, out, args);
            assertThat(r.exit()).as(r.err()).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", args)).contains(args.length == 2
                    ? "--lora-dropout needs --lora-rank"
                    : "--lora-dropout must be at least 0 and below 1, not " + Float.parseFloat(args[3]));
            assertThat(r.err()).doesNotContain("Exception");
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void loraRankTrainsAnAdapterWrittenToOut() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(8, 1));
        Path out = tmp.resolve("adapter.gguf");
        Path peft = tmp.resolve("peft");
        Path merged = tmp.resolve("merged.gguf");
        CliRun r = dpo(data, out, "--lr", "1e-2", "--max-steps", "2", "--batch-size", "4", "--lora-rank", "2", "--lora-targets", "q,v",
                "--peft", peft.toString(), "--merge", merged.toString());
        System.out.print(r.err());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("reference: computed with llama.cpp on the base (adapter off)")
                .contains("LoRA rank 2, alpha 2.0 on q,v").contains("dpo: wrote " + out);
        try (org.align4j.gguf.GgufFile a = org.align4j.gguf.GgufFile.open(out)) {
            assertThat(a.string("general.type")).isEqualTo("adapter");
            assertThat(a.tensors()).extracting(org.align4j.gguf.GgufTensorInfo::name).contains("blk.0.attn_q.weight.lora_a", "blk.1.attn_v.weight.lora_b")
                    .hasSize(2 * 2 * DpoTestData.SHAPE.layers());
        }
        // PEFT's two files, which read back as the same adapter GGUF.
        JsonNode config = new ObjectMapper().readTree(peft.resolve("adapter_config.json").toFile());
        assertThat(config.get("r").asInt()).isEqualTo(2);
        assertThat(config.get("target_modules").toString()).isEqualTo("[\"q_proj\",\"v_proj\"]");
        Path back = tmp.resolve("back.gguf");
        org.align4j.train.PeftAdapter.toGguf(peft, DpoTestData.SHAPE, back);
        assertThat(Files.readAllBytes(back)).isEqualTo(Files.readAllBytes(out));
        // The merged model: the policy's tensors, q and v changed by the adapter (LoraMergeTest checks the values).
        try (org.align4j.gguf.GgufFile p = org.align4j.gguf.GgufFile.open(policy); org.align4j.gguf.GgufFile m = org.align4j.gguf.GgufFile.open(merged)) {
            assertThat(m.tensors()).extracting(org.align4j.gguf.GgufTensorInfo::name)
                    .isEqualTo(p.tensors().stream().map(org.align4j.gguf.GgufTensorInfo::name).toList());
            assertThat(m.tensorData("blk.0.attn_q.weight").mismatch(p.tensorData("blk.0.attn_q.weight"))).isNotNegative();
            assertThat(m.tensorData("blk.0.attn_k.weight").mismatch(p.tensorData("blk.0.attn_k.weight"))).isEqualTo(-1);
        }
    }

    /**
     * {@code --lora-init} continues a GGUF adapter or the PEFT directory written beside it with their rank,
     * alpha and targets (at learning rate 0 the result is the adapter it started from, byte for byte), and
     * writes a Q8_0 merge on request; options that differ from the adapter's are usage errors, a file that is
     * no adapter, an adapter of another base and an rsLoRA config are errors naming the file, without a stack trace.
     */
    @Test
    void loraInitContinuesAGgufOrPeftAdapterWithItsSettings() throws IOException {
        Path data = DpoTestData.write(tmp.resolve("pairs.jsonl"), DpoTestData.copyOverReverse(8, 1));
        Path first = tmp.resolve("first.gguf");
        Path peft = tmp.resolve("first-peft");
        CliRun r = dpo(data, first, "--lr", "1e-2", "--max-steps", "2", "--batch-size", "4", "--lora-rank", "2", "--lora-alpha", "4",
                "--lora-targets", "q,v", "--peft", peft.toString(), "--quiet");
        assertThat(r.exit()).as(r.err()).isZero();
        for (Path init : List.of(first, peft)) {
            Path again = tmp.resolve("again-" + init.getFileName() + ".gguf");
            Path merged = tmp.resolve("merged-" + init.getFileName() + ".gguf");
            r = dpo(data, again, "--lr", "0", "--max-steps", "1", "--batch-size", "4", "--lora-init", init.toString(),
                    "--merge", merged.toString(), "--merge-type", "q8_0");
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.err()).contains("LoRA rank 2, alpha 4.0 on q,v").contains("continuing from " + init);
            assertThat(Files.readAllBytes(again)).as("continued from " + init + " at lr 0").isEqualTo(Files.readAllBytes(first));
            try (org.align4j.gguf.GgufFile m = org.align4j.gguf.GgufFile.open(merged)) {
                assertThat(m.integer("general.file_type")).isEqualTo(org.align4j.llama.LlamaFileType.MOSTLY_Q8_0.id());
            }
        }
        Path out = tmp.resolve("never.gguf");
        record Usage(List<String> args, String message) {}
        for (Usage u : List.of(
                new Usage(List.of("--lora-init", first.toString(), "--lora-rank", "4"), "--lora-rank 4 differs from the rank 2 of --lora-init " + first),
                new Usage(List.of("--lora-init", peft.toString(), "--lora-alpha", "2"), "--lora-alpha 2.0 differs from the alpha 4.0 of --lora-init " + peft),
                new Usage(List.of("--lora-init", first.toString(), "--lora-targets", "q"), "--lora-targets q differs from the targets q,v of --lora-init " + first),
                new Usage(List.of("--lora-init", first.toString(), "--merge-type", "q8_0"), "--merge-type needs --merge"),
                new Usage(List.of("--lora-init", first.toString(), "--merge", tmp.resolve("m.gguf").toString(), "--merge-type", "q9"),
                        "--merge-type: unknown merge type 'q9'"))) {
            r = dpo(data, out, u.args().toArray(String[]::new));
            assertThat(r.exit()).as(u.args() + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains(u.message());
        }
        Path rslora = Files.createDirectories(tmp.resolve("rslora"));
        Files.copy(peft.resolve("adapter_model.safetensors"), rslora.resolve("adapter_model.safetensors"));
        Files.writeString(rslora.resolve("adapter_config.json"), Files.readString(peft.resolve("adapter_config.json"))
                .replace("\"use_rslora\": false", "\"use_rslora\": true"));
        Path deeper = DpoTestData.model(models, "deeper", new org.align4j.gguf.LlamaShape(3, 32, 4, 2, 64, 256, 10_000f, 1e-5f, true), null, GgmlType.F32, 2);
        Path deeperAdapter = tmp.resolve("deeper-adapter.gguf");
        r = CliRun.of("dpo", "--policy", deeper.toString(), "--data", data.toString(), "--out", deeperAdapter.toString(), "--threads", "2",
                "--lr", "1e-2", "--max-steps", "1", "--batch-size", "4", "--lora-rank", "2", "--quiet");
        assertThat(r.exit()).as(r.err()).isZero();
        record Bad(Path init, String message) {}
        for (Bad b : List.of(
                new Bad(policy, policy + ": not a LoRA adapter"),
                new Bad(rslora, rslora.resolve("adapter_config.json") + ": use_rslora = true is not supported"),
                new Bad(deeperAdapter, deeperAdapter + ": tensor blk.2."))) {
            r = dpo(data, out, "--lora-init", b.init().toString());
            System.out.println("--lora-init " + b.init().getFileName() + " -> " + r.err().lines().filter(l -> l.contains(b.init().toString())).findFirst().orElse(r.err()));
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).contains(b.message()).doesNotContain("\tat ");
        }
        assertThat(out).doesNotExist();
    }
}
