package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.RepoFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every sampling option given to {@code loop} reaches each round's sampler (the bug this guards against:
 * {@code --ignore-eos} was accepted and dropped when a round re-seeded its parameters). Round 1 and 2 run
 * RSO on the demo model; each round's manifest records the sampling it ran with, and under
 * {@code --ignore-eos} every sample runs to {@code --max-tokens}. Without {@code --eval} the loop prints no
 * evaluation figures.
 */
class LoopRoundOptionsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Rewards by the completion's characters, so that samples of one prompt differ in reward whatever they say. */
    static final String REWARD = "cmd:python3 -c 'import sys, json; [print(json.dumps({\"reward\": sum(map(ord, json.loads(l)[\"completion\"])) % 7}),"
            + " flush=True) for l in sys.stdin]'";
    @TempDir Path tmp;

    @Test
    void everySamplingOptionReachesEachRoundsSampler() throws IOException {
        Path demo = RepoFiles.demoDir();
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, Files.readAllLines(demo.resolve("train.jsonl")).subList(0, 6), StandardCharsets.UTF_8);
        Path out = tmp.resolve("run");
        CliRun r = CliRun.of("loop", "--policy", demo.resolve("demo.gguf").toString(), "-i", prompts.toString(), "-o", out.toString(),
                "--reward", REWARD, "--rounds", "2", "--prompts-per-round", "3", "-n", "6", "--accept", "4",
                "--rso-beta", "1", "--temperature", "1.3", "--top-k", "17", "--top-p", "0.97", "--min-p", "0.01",
                "--repeat-penalty", "1.05", "--repeat-last-n", "9", "--max-tokens", "5", "--stop", "##", "--ignore-eos",
                "--seed", "11", "--epochs", "1", "--batch-size", "4", "--lr", "1e-4", "--ctx", "32", "--seqs", "32",
                "--batch-tokens", "64", "--threads", "1", "--train-threads", "1", "--quiet");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).doesNotContain("NaN").doesNotContain("eval greedy");
        for (int round = 1; round <= 2; round++) {
            Path dir = out.resolve("round-" + round);
            JsonNode sampling = JSON.readTree(dir.resolve("pairs.jsonl.manifest.json").toFile()).path("parameters").path("sampling");
            assertThat(sampling.path("temperature").asDouble()).as("round %d temperature", round).isEqualTo(1.3, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(sampling.path("top_k").asInt()).isEqualTo(17);
            assertThat(sampling.path("top_p").asDouble()).isEqualTo(0.97, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(sampling.path("min_p").asDouble()).isEqualTo(0.01, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(sampling.path("repeat_penalty").asDouble()).isEqualTo(1.05, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(sampling.path("repeat_last_n").asInt()).isEqualTo(9);
            assertThat(sampling.path("max_tokens").asInt()).isEqualTo(5);
            assertThat(sampling.path("stop").get(0).asText()).isEqualTo("##");
            assertThat(sampling.path("seed").asLong()).as("round K samples with --seed + K").isEqualTo(11 + round);
            assertThat(sampling.path("ignore_eos").asBoolean()).as("round %d --ignore-eos", round).isTrue();
            List<String> samples = Files.readAllLines(dir.resolve("samples.jsonl"));
            assertThat(samples).hasSize(3);
            for (String line : samples) {
                for (JsonNode c : JSON.readTree(line).get("completions")) {
                    assertThat(c.path("finish_reason").asText()).as("round %d: %s", round, c).isEqualTo("length");
                    assertThat(c.path("token_ids")).hasSize(5);
                }
            }
        }
    }
}
