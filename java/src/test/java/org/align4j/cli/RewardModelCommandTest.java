package org.align4j.cli;

import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.llama.Vocab;
import org.align4j.reward.RewardModelReference;
import org.align4j.rso.RsoJob;
import org.align4j.train.LlamaWeights;
import org.align4j.train.ReferenceForward;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --reward rm:RM.gguf} and {@code --kl-coef} through the CLI: a tiny policy (SPM tokenizer) rewarded by
 * a tiny RM with another tokenizer (GPT-2's BPE), against {@link RewardModelReference} and the pure-Java
 * forward pass; rso with rm: killed and resumed; the bad RM files.
 */
class RewardModelCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double TOLERANCE = 1e-3;
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path policy;
    static Path reference;
    static Path rm;
    static RewardHead head;

    @BeforeAll
    static void setUp() {
        SynthPreset tiny = SynthPreset.named("tiny");
        policy = models.resolve("policy.gguf");
        reference = models.resolve("ref.gguf");
        SyntheticLlama.write(policy, "policy", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        SyntheticLlama.write(reference, "ref", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 2);
        Path lm = models.resolve("rm-base.gguf");
        SyntheticLlama.write(lm, "rm", tiny.shape(), VocabFiles.named("gpt-2"), GgmlType.F32, 3);
        head = RewardModelReference.randomHead(tiny.shape().embd(), 4);
        rm = models.resolve("rm.gguf");
        RewardModelFile.write(lm, head, rm);
    }

    static List<String> prompts(int count) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add("{\"id\": \"p" + i + "\", \"prompt\": \"Prompt number " + i + " says\"}");
        }
        return out;
    }

    static CliRun bon(Path in, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("bon", "-m", policy.toString(), "-i", in.toString(), "-o", out.toString(),
                "-n", "4", "--max-tokens", "8", "--seed", "5", "--quiet", "--threads", "1", "--ctx", "128", "--seqs", "4",
                "--batch-tokens", "32"));
        a.addAll(List.of(extra));
        return CliRun.of(a.toArray(String[]::new));
    }

    static List<String> texts(JsonNode row) {
        List<String> t = new ArrayList<>();
        row.get("completions").forEach(c -> t.add(c.get("text").asText()));
        return t;
    }

    @Test
    void bonWithRmWritesTheHeadOnEachCompletionDecodedAlone() throws Exception {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), prompts(3));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = bon(in, out, "--reward", "rm:" + rm);
        assertThat(r.exit()).as(r.err()).isZero();
        double maxDiff = 0;
        int n = 0;
        for (JsonNode row : read(out)) {
            double[] direct = RewardModelReference.rewards(rm, head, row.get("prompt").asText(), texts(row));
            for (int k = 0; k < direct.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(row.get("completions").get(k).get("reward").asDouble() - direct[k]));
                n++;
            }
            assertThat(row.get("completions").get(0).has("reward_raw")).as("no KL parts without --kl-coef").isFalse();
        }
        System.out.printf("bon --reward rm: (another tokenizer than the policy's) vs the head on hidden states decoded alone: max |diff| %.3g"
                + " over %d completions (tolerance %.0e)%n", maxDiff, n, TOLERANCE);
        assertThat(n).isEqualTo(12);
        assertThat(maxDiff).isLessThan(TOLERANCE);
    }

    @Test
    void klCoefWritesTheRawRewardAndTheKlOfTheSampledTokensAsThePureJavaForwardComputesThem() throws Exception {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), prompts(3));
        Path out = tmp.resolve("out.jsonl");
        double coef = 0.5;
        CliRun r = bon(in, out, "--reward", "rm:" + rm, "-r", reference.toString(), "--kl-coef", Double.toString(coef));
        assertThat(r.exit()).as(r.err()).isZero();
        ReferenceForward pi = new ReferenceForward(LlamaWeights.load(policy));
        ReferenceForward piRef = new ReferenceForward(LlamaWeights.load(reference));
        double klDiff = 0, rawDiff = 0, rewardDiff = 0, klSpread = 0;
        try (Vocab v = Vocab.open(policy)) {
            for (JsonNode row : read(out)) {
                int[] prompt = v.tokenize(row.get("prompt").asText(), true, true);
                double[] raw = RewardModelReference.rewards(rm, head, row.get("prompt").asText(), texts(row));
                for (int k = 0; k < raw.length; k++) {
                    JsonNode c = row.get("completions").get(k);
                    int[] ids = new int[c.get("token_ids").size()];
                    Arrays.setAll(ids, i -> c.get("token_ids").get(i).asInt());
                    int[] seq = Arrays.copyOf(prompt, prompt.length + ids.length);
                    System.arraycopy(ids, 0, seq, prompt.length, ids.length);
                    double kl = Arrays.stream(pi.logProbs(seq, prompt.length)).sum() - Arrays.stream(piRef.logProbs(seq, prompt.length)).sum();
                    klDiff = Math.max(klDiff, Math.abs(c.get("kl").asDouble() - kl));
                    rawDiff = Math.max(rawDiff, Math.abs(c.get("reward_raw").asDouble() - raw[k]));
                    rewardDiff = Math.max(rewardDiff, Math.abs(c.get("reward").asDouble() - (raw[k] - coef * kl)));
                    klSpread = Math.max(klSpread, Math.abs(kl));
                }
            }
        }
        System.out.printf("bon --kl-coef %.1f: max |diff| kl %.3g, reward_raw %.3g, reward %.3g against the Java forward and the"
                + " direct rm: (tolerance %.0e; largest |kl| %.3g)%n", coef, klDiff, rawDiff, rewardDiff, TOLERANCE, klSpread);
        assertThat(klDiff).isLessThan(TOLERANCE);
        assertThat(rawDiff).isLessThan(TOLERANCE);
        assertThat(rewardDiff).isLessThan(TOLERANCE);
        assertThat(klSpread).isGreaterThan(100 * TOLERANCE);
    }

    @Test
    void rsoWithRmAndKlCoefResumedAfterAKillWritesWhatAnUninterruptedRunDoes() throws Exception {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), prompts(10));
        List<String> job = List.of("--reward", "rm:" + rm, "-r", reference.toString(), "--kl-coef", "0.1", "--candidates", "4",
                "--accept", "3", "--max-tokens", "10", "--seed", "9", "--pairing", "tournament");
        Path full = tmp.resolve("full.jsonl");
        CliRun whole = CliRun.of(rsoArgs(in, full, job).toArray(String[]::new));
        assertThat(whole.exit()).as(whole.err()).isZero();

        Path out = tmp.resolve("out.jsonl");
        Path log = RsoJob.acceptanceLogPath(out);
        CliRun.killAfterLines(rsoArgs(in, out, job), log, 3, tmp.resolve("child.log"));
        int before = CliRun.lineCount(log);
        assertThat(before).isBetween(3, 9);
        List<String> resumed = new ArrayList<>(job);
        resumed.add("--resume");
        CliRun r = CliRun.of(rsoArgs(in, out, resumed).toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> got = read(out);
        List<JsonNode> expected = read(full);
        // The same pairs of the same texts; the RM's rewards to the bit (each prompt is scored alone), the log-probs
        // and so the KLs within the resume bound (candidates are sampled beside other prompts).
        assertThat(got).extracting(p -> p.get("id").asText() + "|" + p.get("chosen") + "|" + p.get("rejected") + "|"
                        + p.get("chosen_reward_raw") + "|" + p.get("rejected_reward_raw"))
                .containsExactlyElementsOf(expected.stream().map(p -> p.get("id").asText() + "|" + p.get("chosen") + "|" + p.get("rejected")
                        + "|" + p.get("chosen_reward_raw") + "|" + p.get("rejected_reward_raw")).toList());
        double d = 0;
        for (int i = 0; i < got.size(); i++) {
            for (String f : List.of("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps", "chosen_reward",
                    "rejected_reward", "chosen_kl", "rejected_kl")) {
                d = Math.max(d, Math.abs(got.get(i).get(f).asDouble() - expected.get(i).get(f).asDouble()));
            }
        }
        System.out.printf("rso --reward rm: --kl-coef killed after %d of 10 prompts, resumed: %d pairs as uninterrupted, raw rewards"
                + " to the bit; max |diff| of log-probs, rewards and KLs %.3g (tolerance %.0e)%n", before, got.size(), d, TOLERANCE);
        assertThat(got).isNotEmpty();
        assertThat(d).isLessThan(TOLERANCE);

        List<String> otherCoef = new ArrayList<>(resumed);
        otherCoef.set(otherCoef.indexOf("0.1"), "0.2");
        CliRun refused = CliRun.of(rsoArgs(in, out, otherCoef).toArray(String[]::new));
        assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
        assertThat(refused.err()).contains("reward").contains("0.2");
    }

    static List<String> rsoArgs(Path in, Path out, List<String> job) {
        List<String> a = new ArrayList<>(List.of("rso", "-m", policy.toString(), "-i", in.toString(), "-o", out.toString(),
                "--quiet", "--threads", "1", "--ctx", "128", "--seqs", "8", "--batch-tokens", "64"));
        a.addAll(job);
        return a;
    }

    @Test
    void anRmWithoutAHeadWithAHeadOfTheWrongSizeOrMissingIsExit1NamingTheFile() throws Exception {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), prompts(1));
        Path wrong = tmp.resolve("wrong.gguf");
        RewardModelFile.write(policy, RewardModelReference.randomHead(7, 1), wrong);
        Path missing = tmp.resolve("missing.gguf");
        for (Path bad : List.of(policy, wrong, missing)) {
            CliRun r = bon(in, tmp.resolve("out.jsonl"), "--reward", "rm:" + bad);
            System.out.printf("rm:%s -> exit %d: %s", bad.getFileName(), r.exit(), r.err());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains(bad.toString()).doesNotContain("Exception").doesNotContain("\tat ");
        }
    }
}
