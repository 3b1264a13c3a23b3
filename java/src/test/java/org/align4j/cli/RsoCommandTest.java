package org.align4j.cli;

import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.PreferenceRecord;
import org.align4j.data.TrlRecord;
import org.align4j.engine.SamplingParams;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.VocabFiles;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.RsoJob;
import org.align4j.rso.Selection;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code align4j rso} end to end on tiny synthetic models with a real python3 {@code cmd:} reward: the pair
 * records, their log-prob columns against {@code align4j score}, the manifest, the candidates file, the
 * three selection modes, both pairings, the error policy, and resume after a kill or a torn group.
 */
class RsoCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Log-prob columns against {@code align4j score} on the written records (the same tokens; only the batch differs). */
    static final double SCORE_TOLERANCE = 1e-4;
    /** A resumed run against an uninterrupted one: candidates sampled beside other prompts (SampleCommandTest's bound). */
    static final double RESUME_TOLERANCE = 1e-3;
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path policy;
    static Path reference;
    static Path chatModel;
    static String reward;

    /** Counts the letter e in the completion: small integers, so equal rewards (ties) are common. */
    static final String COUNT_E = """
            import sys, json
            for line in sys.stdin:
                r = json.loads(line)
                print(json.dumps({"reward": r["completion"].count("e")}), flush=True)
            """;

    static final List<String> PROMPTS = List.of(
            "{\"id\": \"a\", \"prompt\": \"What is 2+2?\", \"source\": {\"kept\": [1, 2]}}",
            "{\"prompt\": \"Name a colour.\"}",
            "{\"prompt\": \"The capital of France is\", \"id\": 3, \"topic\": \"geography\"}",
            "{\"id\": \"d\", \"prompt\": \"Once upon a time\"}");

    @BeforeAll
    static void setUp() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "command -v python3").start();
        assertThat(p.waitFor()).as("these tests run a python3 reward, and python3 is not on the PATH").isZero();
        SynthPreset tiny = SynthPreset.named("tiny");
        policy = models.resolve("sft.gguf");
        reference = models.resolve("ref.gguf");
        SyntheticLlama.write(policy, "sft", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 1);
        SyntheticLlama.write(reference, "ref", tiny.shape(), VocabFiles.named(tiny.vocab()), GgmlType.F32, 2);
        chatModel = models.resolve("tiny-phi3.gguf"); // phi-3's tokenizer carries a chat template
        SyntheticLlama.write(chatModel, "tiny-phi3", tiny.shape(), VocabFiles.named("phi-3"), GgmlType.F32, 3);
        Path script = models.resolve("count_e.py");
        Files.writeString(script, COUNT_E);
        reward = "cmd:python3 " + script;
    }

    Path input(List<String> lines) throws IOException {
        return JsonlFiles.write(tmp.resolve("prompts.jsonl"), lines);
    }

    /** The test's job: 12 candidates, 6 accepted, 10 tokens each, unless {@code extra} says otherwise. */
    static List<String> args(Path model, Path in, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("rso", "-m", model.toString(), "-i", in.toString(), "-o", out.toString(),
                "--reward", reward, "--quiet", "--threads", "1", "--ctx", "128", "--seqs", "8", "--batch-tokens", "64"));
        List<String> given = List.of(extra);
        for (String[] d : new String[][] {{"--candidates", "12"}, {"--accept", "6"}, {"--max-tokens", "10"}}) {
            if (!given.contains(d[0])) {
                a.addAll(List.of(d));
            }
        }
        a.addAll(given);
        return a;
    }

    static CliRun rso(Path in, Path out, String... extra) {
        return CliRun.of(args(policy, in, out, extra).toArray(String[]::new));
    }

    static Path acceptanceLog(Path out) {
        return RsoJob.acceptanceLogPath(out);
    }

    static Path manifest(Path out) {
        return out.resolveSibling(out.getFileName() + ".manifest.json");
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    static double[] rewards(JsonNode candidatesRecord) {
        JsonNode cs = candidatesRecord.get("completions");
        double[] r = new double[cs.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = cs.get(i).get("reward").asDouble();
        }
        return r;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /**
     * Checks the pair records against the candidates file and the acceptance log: each prompt's acceptance
     * is what the selector gives on its rewards with its seed, its pairs are the pairing's games on them
     * (less ties under skip and unwritable pairs), in order, with the candidates' texts and rewards. Returns
     * the total of ties.
     */
    static int checkPairsAgainstCandidates(Path out, Path candidates, RejectionSampler selector, Pairing pairing, int k,
                                           long seed) throws IOException {
        List<JsonNode> pairs = read(out);
        List<JsonNode> cands = read(candidates);
        List<JsonNode> log = read(acceptanceLog(out));
        assertThat(log).hasSameSizeAs(cands);
        int next = 0;
        int ties = 0;
        for (int i = 0; i < cands.size(); i++) {
            JsonNode c = cands.get(i);
            JsonNode a = log.get(i);
            assertThat(a.get("id")).isEqualTo(c.get("id"));
            double[] r = rewards(c);
            long aSeed = SamplingParams.plain(10, seed).keySeed(c.get("id").toString(), RsoJob.ACCEPTANCE_STREAM);
            assertThat(a.get("acceptance_seed").asLong()).isEqualTo(aSeed);
            Selection s = selector.select(r, k, new SplittableRandom(aSeed));
            assertThat(ints(a.get("accepted"))).as("prompt %s: accepted", c.get("id")).containsExactly(s.accepted());
            assertThat(ints(c.get("accepted"))).containsExactly(s.accepted());
            for (int j = 0; j < r.length; j++) {
                assertThat(c.get("completions").get(j).get("accepted").asBoolean()).isEqualTo(s.isAccepted(j));
                assertThat(c.get("completions").get(j).get("pass").asInt()).isEqualTo(s.passOf()[j]);
            }
            assertThat(a.get("first_pass_hits").asInt()).isEqualTo(s.firstPassHits());
            double rMax = Arrays.stream(r).max().orElseThrow();
            double expected = Double.isInfinite(selector.beta()) ? 1
                    : selector.beta() == 0 ? Arrays.stream(r).filter(x -> x == rMax).count() / (double) r.length
                    : Arrays.stream(r).map(x -> Math.exp((x - rMax) / selector.beta())).average().orElseThrow();
            assertThat(a.get("expected_rate").asDouble()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));

            Pairing.Result games = pairing.pair(s.accepted(), r);
            assertThat(a.get("games").asInt()).isEqualTo(pairing.scheme() == Pairing.Scheme.FIRST_ROUND ? k / 2 : k - 1);
            assertThat(a.get("ties").asInt()).isEqualTo(games.ties());
            ties += games.ties();
            int written = 0;
            for (Pairing.Pair p : games.pairs()) {
                String chosen = c.get("completions").get(p.chosen()).get("text").asText();
                String rejected = c.get("completions").get(p.rejected()).get("text").asText();
                if (chosen.isEmpty() || rejected.isEmpty() || chosen.equals(rejected)) {
                    continue; // unwritable: counted in dropped_*
                }
                JsonNode pair = pairs.get(next++);
                String pid = c.get("id").isTextual() ? c.get("id").asText() : c.get("id").toString();
                assertThat(pair.get("id").asText()).isEqualTo(pid + "/" + written);
                assertThat(pair.get("prompt_id")).isEqualTo(c.get("id"));
                assertThat(pair.get("chosen_candidate").asInt()).isEqualTo(p.chosen());
                assertThat(pair.get("rejected_candidate").asInt()).isEqualTo(p.rejected());
                assertThat(pair.get("chosen").asText()).isEqualTo(chosen);
                assertThat(pair.get("rejected").asText()).isEqualTo(rejected);
                assertThat(pair.get("chosen_reward").asDouble()).isEqualTo(r[p.chosen()]);
                assertThat(pair.get("rejected_reward").asDouble()).isEqualTo(r[p.rejected()]);
                if (pairing.ties() == Pairing.TieRule.SKIP) {
                    assertThat(pair.get("chosen_reward").asDouble()).isGreaterThan(pair.get("rejected_reward").asDouble());
                } else {
                    assertThat(pair.get("chosen_reward").asDouble()).isGreaterThanOrEqualTo(pair.get("rejected_reward").asDouble());
                }
                written++;
            }
            assertThat(a.get("pairs").asInt()).isEqualTo(written);
            assertThat(written + a.get("dropped_empty").asInt() + a.get("dropped_identical").asInt())
                    .as("pairs + dropped = games%s", pairing.ties() == Pairing.TieRule.SKIP ? " - ties" : "")
                    .isEqualTo(games.games() - (pairing.ties() == Pairing.TieRule.SKIP ? games.ties() : 0));
        }
        assertThat(next).as("every pair record accounted for").isEqualTo(pairs.size());
        return ties;
    }

    /** Every line is a TRL preference record as align4j reads them, with the four columns and both rewards. */
    static void checkTrlRecords(Path out) {
        try (JsonlReader r = JsonlReader.open(out)) {
            for (JsonlLine line : r) {
                assertThat(line).isInstanceOf(JsonlLine.Parsed.class);
                TrlRecord rec = TrlRecord.parse((JsonlLine.Parsed) line);
                assertThat(rec).isInstanceOf(PreferenceRecord.class);
                JsonNode n = ((JsonlLine.Parsed) line).node();
                for (String f : List.of("chosen_reward", "rejected_reward", "chosen_logps", "rejected_logps", "ref_chosen_logps",
                        "ref_rejected_logps")) {
                    assertThat(n.get(f)).as("%s of %s", f, n.get("id")).isNotNull();
                    assertThat(n.get(f).isNumber()).isTrue();
                }
                assertThat(n.get("chosen_logps").asDouble()).isNegative();
            }
        }
    }

    /** The four columns against {@code align4j score} (flash attention off, as rso's default) on the same records; returns the max diff. */
    static double compareWithScore(Path out, Path ref, Path tmp) throws IOException {
        Path scored = tmp.resolve("scored-" + out.getFileName());
        List<String> a = new ArrayList<>(List.of("score", "-m", policy.toString(), "-i", out.toString(), "-o", scored.toString(),
                "--quiet", "--threads", "1", "--ctx", "256", "--no-flash-attn"));
        if (ref != null) {
            a.addAll(List.of("-r", ref.toString()));
        }
        CliRun r = CliRun.of(a.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> mine = read(out);
        List<JsonNode> theirs = read(scored);
        assertThat(theirs).hasSameSizeAs(mine);
        double max = 0;
        for (int i = 0; i < mine.size(); i++) {
            JsonNode m = mine.get(i);
            JsonNode s = theirs.get(i);
            assertThat(s.get("id")).isEqualTo(m.get("id"));
            for (String f : List.of("chosen", "rejected")) {
                assertThat(m.get(f + "_tokens")).isEqualTo(s.get(f + "_tokens"));
                max = Math.max(max, Math.abs(m.get(f + "_logps").asDouble() - s.get(f + "_logps").asDouble()));
                // Without -r the policy is the reference: score's own policy column is what ref_* must be.
                JsonNode refCol = ref != null ? s.get("ref_" + f + "_logps") : s.get(f + "_logps");
                max = Math.max(max, Math.abs(m.get("ref_" + f + "_logps").asDouble() - refCol.asDouble()));
            }
            assertThat(m.get("prompt_tokens")).isEqualTo(s.get("prompt_tokens"));
        }
        return max;
    }

    /** The manifest says what made the run and agrees with the files. */
    static JsonNode checkManifest(Path out, Path ref, int n, int k, String mode, String pairing) throws Exception {
        JsonNode m = JSON.readTree(manifest(out).toFile());
        assertThat(m.get("status").asText()).isEqualTo("complete");
        assertThat(m.at("/models/policy/sha256").asText()).isEqualTo(sha256(policy));
        assertThat(m.at("/models/policy/path").asText()).isEqualTo(policy.toAbsolutePath().toString());
        assertThat(m.at("/models/reference/sha256").asText()).isEqualTo(sha256(ref == null ? policy : ref));
        assertThat(m.at("/models/reference/is_policy").asBoolean()).isEqualTo(ref == null);
        JsonNode p = m.get("parameters");
        assertThat(p.get("mode").asText()).isEqualTo(mode);
        assertThat(p.get("candidates").asInt()).isEqualTo(n);
        assertThat(p.get("accept").asInt()).isEqualTo(k);
        assertThat(p.get("pairing").asText()).isEqualTo(pairing);
        assertThat(p.get("reward").asText()).isEqualTo(reward);
        for (String f : List.of("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "max_tokens", "stop", "seed")) {
            assertThat(p.get("sampling").has(f)).as("parameters.sampling.%s", f).isTrue();
        }
        assertThat(p.has("beta")).isTrue();
        assertThat(m.at("/seeds/seed").isIntegralNumber()).isTrue();
        assertThat(m.at("/engine/ctx").asInt()).isEqualTo(128);

        List<JsonNode> log = read(acceptanceLog(out));
        JsonNode perPrompt = m.get("per_prompt");
        assertThat(perPrompt).hasSize(log.size());
        for (int i = 0; i < log.size(); i++) {
            assertThat(perPrompt.get(i)).isEqualTo(log.get(i));
        }
        long hits = 0;
        double expected = 0;
        long pairs = 0;
        long ties = 0;
        for (JsonNode a : log) {
            hits += a.get("first_pass_hits").asLong();
            expected += a.get("expected_rate").asDouble();
            pairs += a.get("pairs").asLong();
            ties += a.get("ties").asLong();
            assertThat(a.get("observed_rate").asDouble()).isEqualTo(a.get("first_pass_hits").asDouble() / n);
        }
        JsonNode c = m.get("counts");
        assertThat(c.get("prompts").asLong()).isEqualTo(log.size());
        assertThat(c.get("candidates").asLong()).isEqualTo((long) n * log.size());
        assertThat(c.get("accepted").asLong()).isEqualTo((long) k * log.size());
        assertThat(c.get("pairs").asLong()).isEqualTo(pairs).isEqualTo(Files.readAllLines(out).size());
        assertThat(c.get("ties").asLong()).isEqualTo(ties);
        assertThat(c.get("first_pass_hits").asLong()).isEqualTo(hits);
        assertThat(m.at("/acceptance/observed_rate").asDouble()).isCloseTo((double) hits / ((long) n * log.size()),
                org.assertj.core.data.Offset.offset(1e-12));
        assertThat(m.at("/acceptance/expected_rate").asDouble()).isCloseTo(expected / log.size(), org.assertj.core.data.Offset.offset(1e-12));
        return m;
    }

    @Test
    void firstRoundWithoutReferenceWritesTrlPairsWhoseColumnsAreWhatScoreComputes() throws Exception {
        Path in = input(PROMPTS);
        Path out = tmp.resolve("pairs.jsonl");
        Path cands = tmp.resolve("cands.jsonl");
        CliRun r = rso(in, out, "--beta", "2", "--seed", "11", "--keep-candidates", cands.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("rso: 4 records (0 skipped)").contains("acceptance").contains("expected (Theorem 1)");
        checkTrlRecords(out);
        int ties = checkPairsAgainstCandidates(out, cands, RejectionSampler.rso(2), new Pairing(Pairing.Scheme.FIRST_ROUND,
                Pairing.TieRule.SKIP), 6, 11);
        List<JsonNode> pairs = read(out);
        assertThat(pairs).isNotEmpty();
        JsonNode first = pairs.getFirst();
        assertThat(first.fieldNames()).toIterable().startsWith("id", "prompt_id", "prompt", "chosen", "rejected", "chosen_reward",
                "rejected_reward", "chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps");
        // The prompt record's other fields are carried through.
        for (JsonNode p : pairs) {
            if (p.get("prompt_id").asText().equals("a")) {
                assertThat(p.get("source")).isEqualTo(JSON.readTree("{\"kept\": [1, 2]}"));
            }
            if (p.get("prompt_id").asInt(-1) == 3) {
                assertThat(p.get("topic").asText()).isEqualTo("geography");
            }
            assertThat(p.get("ref_chosen_logps")).as("no -r: the policy is the reference").isEqualTo(p.get("chosen_logps"));
        }
        double d = compareWithScore(out, null, tmp);
        System.out.printf("rso first-round, no -r: %d pairs (%d ties skipped); columns vs align4j score: max |diff| = %.3g%n",
                pairs.size(), ties, d);
        assertThat(d).isLessThan(SCORE_TOLERANCE);
        JsonNode m = checkManifest(out, null, 12, 6, "rso", "first-round");
        assertThat(m.at("/parameters/beta").asDouble()).isEqualTo(2.0);
        assertThat(m.at("/parameters/sampling/temperature").asDouble()).as("the paper's default").isCloseTo(0.7, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(m.at("/parameters/sampling/top_k").asInt()).isEqualTo(40);
        assertThat(m.at("/seeds/seed").asLong()).isEqualTo(11);
        assertThat(m.at("/counts/ties").asInt()).isEqualTo(ties);
        assertThat(m.at("/counts/ties_in_pairs").asInt()).isZero();
        System.out.printf("manifest: observed acceptance %.4f, expected (Theorem 1) %.4f over %d prompts%n",
                m.at("/acceptance/observed_rate").asDouble(), m.at("/acceptance/expected_rate").asDouble(), m.at("/counts/prompts").asInt());

        Path again = tmp.resolve("again.jsonl");
        assertThat(rso(in, again, "--beta", "2", "--seed", "11").exit()).isZero();
        List<JsonNode> b = read(again);
        assertThat(b).extracting(n -> n.get("id").asText() + n.get("chosen") + n.get("rejected"))
                .as("same seed, same pairs").containsExactlyElementsOf(pairs.stream().map(n -> n.get("id").asText() + n.get("chosen") + n.get("rejected")).toList());
    }

    @Test
    void tournamentWithReferenceKeepsTiesByTheDocumentedRuleAndScoresUnderTheReference() throws Exception {
        Path in = input(PROMPTS);
        Path out = tmp.resolve("pairs.jsonl");
        Path cands = tmp.resolve("cands.jsonl");
        CliRun r = CliRun.of(args(policy, in, out, "-r", reference.toString(), "--pairing", "tournament", "--ties", "keep",
                "--keep-candidates", cands.toString()).toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        checkTrlRecords(out);
        int ties = checkPairsAgainstCandidates(out, cands, RejectionSampler.rso(0.5), new Pairing(Pairing.Scheme.TOURNAMENT,
                Pairing.TieRule.KEEP), 6, 0);
        List<JsonNode> pairs = read(out);
        assertThat(pairs).anySatisfy(p -> assertThat(p.get("ref_chosen_logps")).isNotEqualTo(p.get("chosen_logps")));
        double d = compareWithScore(out, reference, tmp);
        System.out.printf("rso tournament, -r REF, ties kept: %d pairs (%d ties kept); columns vs align4j score -r: max |diff| = %.3g%n",
                pairs.size(), ties, d);
        assertThat(d).isLessThan(SCORE_TOLERANCE);
        JsonNode m = checkManifest(out, reference, 12, 6, "rso", "tournament");
        assertThat(m.at("/parameters/beta").asDouble()).as("the default beta").isEqualTo(0.5);
        assertThat(m.at("/parameters/ties").asText()).isEqualTo("keep");
        assertThat(m.at("/counts/ties_in_pairs").asInt()).isEqualTo(ties);
        assertThat(m.at("/models/reference/path").asText()).isEqualTo(reference.toAbsolutePath().toString());
    }

    @Test
    void sftSampleRankAndTopKOverNSelectByTheirRules() throws Exception {
        Path in = input(PROMPTS);
        Path sft = tmp.resolve("sft.jsonl");
        Path sftCands = tmp.resolve("sft-cands.jsonl");
        CliRun a = rso(in, sft, "--mode", "sft-sample-rank", "--keep-candidates", sftCands.toString());
        assertThat(a.exit()).as(a.err()).isZero();
        checkTrlRecords(sft);
        checkPairsAgainstCandidates(sft, sftCands, RejectionSampler.sftSampleRank(),
                new Pairing(Pairing.Scheme.FIRST_ROUND, Pairing.TieRule.SKIP), 6, 0);
        JsonNode ms = checkManifest(sft, null, 12, 6, "sft-sample-rank", "first-round");
        assertThat(ms.at("/parameters/beta").isNull()).isTrue();
        assertThat(ms.at("/acceptance/observed_rate").asDouble()).as("every candidate passes").isEqualTo(1.0);
        assertThat(ms.at("/acceptance/expected_rate").asDouble()).isEqualTo(1.0);

        Path top = tmp.resolve("top.jsonl");
        Path topCands = tmp.resolve("top-cands.jsonl");
        CliRun b = rso(in, top, "--mode", "top-k-over-n", "--pairing", "tournament", "--keep-candidates", topCands.toString());
        assertThat(b.exit()).as(b.err()).isZero();
        checkTrlRecords(top);
        checkPairsAgainstCandidates(top, topCands, RejectionSampler.topKOverN(),
                new Pairing(Pairing.Scheme.TOURNAMENT, Pairing.TieRule.SKIP), 6, 0);
        checkManifest(top, null, 12, 6, "top-k-over-n", "tournament");
        for (JsonNode c : read(topCands)) {
            double[] r = rewards(c);
            Integer[] byReward = new Integer[r.length];
            Arrays.setAll(byReward, i -> i);
            Arrays.sort(byReward, (x, y) -> r[x] != r[y] ? Double.compare(r[y], r[x]) : Integer.compare(x, y));
            assertThat(ints(c.get("accepted"))).as("top-k-over-n keeps the 6 highest rewards, best first")
                    .containsExactly(Arrays.stream(byReward).limit(6).mapToInt(Integer::intValue).toArray());
        }
        // Same seed, same candidates: only the selection differs between the modes.
        assertThat(read(sftCands)).extracting(n -> n.get("completions").get(0).get("text"))
                .containsExactlyElementsOf(read(topCands).stream().map(n -> n.get("completions").get(0).get("text")).toList());
    }

    @Test
    void conversationalPromptsGiveAssistantMessagesThatScoreAgrees() throws Exception {
        Path in = input(List.of("{\"id\": \"c\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"What is 2+2?\"}]}"));
        Path out = tmp.resolve("chat.jsonl");
        CliRun r = CliRun.of(args(chatModel, in, out, "--beta", "4").toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> pairs = read(out);
        assertThat(pairs).isNotEmpty();
        for (JsonNode p : pairs) {
            assertThat(p.get("chosen")).hasSize(1);
            assertThat(p.at("/chosen/0/role").asText()).isEqualTo("assistant");
            assertThat(p.at("/rejected/0/role").asText()).isEqualTo("assistant");
        }
        Path scored = tmp.resolve("chat-scored.jsonl");
        CliRun s = CliRun.of("score", "-m", chatModel.toString(), "-i", out.toString(), "-o", scored.toString(), "--quiet",
                "--threads", "1", "--ctx", "256", "--no-flash-attn");
        assertThat(s.exit()).as(s.err()).isZero();
        double d = 0;
        List<JsonNode> theirs = read(scored);
        for (int i = 0; i < pairs.size(); i++) {
            for (String f : List.of("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps")) {
                d = Math.max(d, Math.abs(pairs.get(i).get(f).asDouble() - theirs.get(i).get(f.replace("ref_", "")).asDouble()));
            }
        }
        System.out.printf("rso conversational: %d pairs; columns vs align4j score: max |diff| = %.3g%n", pairs.size(), d);
        assertThat(d).isLessThan(SCORE_TOLERANCE);
    }

    @Test
    void usageErrorsExitTwoBeforeAnyWork() throws IOException {
        Path in = input(PROMPTS);
        Path out = tmp.resolve("pairs.jsonl");
        CliRun more = rso(in, out, "--candidates", "4", "--accept", "8");
        assertThat(more.exit()).isEqualTo(2);
        assertThat(more.err()).contains("--accept", "--candidates 4");
        CliRun one = rso(in, out, "--accept", "1");
        assertThat(one.exit()).isEqualTo(2);
        assertThat(one.err()).contains("--accept");
        CliRun beta = rso(in, out, "--mode", "top-k-over-n", "--beta", "1");
        assertThat(beta.exit()).isEqualTo(2);
        assertThat(beta.err()).contains("--beta");
        CliRun zero = rso(in, out, "--beta", "0");
        assertThat(zero.exit()).isEqualTo(2);
        assertThat(zero.err()).contains("beta");
        CliRun mode = rso(in, out, "--mode", "best");
        assertThat(mode.exit()).isEqualTo(2);
        assertThat(mode.err()).contains("sft-sample-rank", "top-k-over-n");
        CliRun pairing = rso(in, out, "--pairing", "round-robin");
        assertThat(pairing.exit()).isEqualTo(2);
        assertThat(pairing.err()).contains("first-round", "tournament");
        CliRun spec = CliRun.of("rso", "-m", policy.toString(), "-i", in.toString(), "-o", out.toString(), "--reward", "bogus");
        assertThat(spec.exit()).isEqualTo(2);
        assertThat(spec.err()).contains("--reward");
        CliRun room = rso(in, out, "--max-tokens", "200");
        assertThat(room.exit()).isEqualTo(2);
        assertThat(room.err()).contains("--max-tokens 200", "--ctx 128");
        CliRun same = rso(in, out, "--keep-candidates", out.toString());
        assertThat(same.exit()).isEqualTo(2);
        assertThat(out).doesNotExist();
        assertThat(manifest(out)).doesNotExist();
        assertThat(acceptanceLog(out)).doesNotExist();
    }

    static final List<String> MIXED = List.of(
            PROMPTS.get(0),
            "{\"prompt\": \"broken\", ",
            PROMPTS.get(1),
            "{\"id\": \"no prompt\"}",
            PROMPTS.get(2),
            "{\"prompt\": \"" + "long ".repeat(150) + "\"}",
            PROMPTS.get(3));

    @Test
    void badLinesFollowTheErrorPolicy() throws Exception {
        Path in = input(MIXED);
        Path out = tmp.resolve("pairs.jsonl");
        CliRun fail = rso(in, out);
        assertThat(fail.exit()).isEqualTo(1);
        assertThat(fail.err()).contains(in + ":2:").contains("malformed JSON");
        assertThat(read(acceptanceLog(out))).extracting(n -> n.get("id").asText()).containsExactly("a");
        assertThat(read(out)).allSatisfy(p -> assertThat(p.get("prompt_id").asText()).isEqualTo("a"));
        JsonNode failed = JSON.readTree(manifest(out).toFile());
        assertThat(failed.get("status").asText()).isEqualTo("failed");
        assertThat(failed.get("error").asText()).contains(":2:");
        assertThat(failed.at("/counts/prompts").asInt()).isEqualTo(1);
        assertThat(failed.at("/last_run/prompts").asInt()).isEqualTo(1);

        // The same output, resumed with skip: the bad lines go to the rejects file, the good ones on.
        CliRun skip = rso(in, out, "--on-error", "skip", "--resume");
        assertThat(skip.exit()).as(skip.err()).isZero();
        assertThat(skip.err()).contains("rso: 3 records (3 skipped)");
        assertThat(read(acceptanceLog(out))).extracting(n -> n.get("id").asText()).containsExactly("a", "2", "3", "d");
        List<JsonNode> rejects = read(tmp.resolve("pairs.rejects.jsonl"));
        assertThat(rejects).extracting(n -> n.get("line").asInt()).containsExactly(2, 4, 6);
        assertThat(rejects.get(2).get("error").asText()).contains(in + ":6:", "--ctx 128");
        JsonNode m = JSON.readTree(manifest(out).toFile());
        assertThat(m.get("status").asText()).isEqualTo("complete");
        assertThat(m.get("runs").asInt()).isEqualTo(2);
        assertThat(m.at("/counts/prompts").asInt()).isEqualTo(4);
        assertThat(m.at("/counts/skipped").asInt()).isEqualTo(3);
        assertThat(m.at("/engine/on_error").asText()).isEqualTo("skip");

        // Equal to a clean run with skip from the start.
        Path clean = tmp.resolve("clean.jsonl");
        assertThat(rso(in, clean, "--on-error", "skip").exit()).isZero();
        assertThat(pairKeys(read(out))).containsExactlyElementsOf(pairKeys(read(clean)));
    }

    @Test
    void aRewardProcessThatDiesStopsTheRunAfterWritingWhatWasFinishedAndResumeGoesOn() throws Exception {
        Path flag = tmp.resolve("crash-on-d");
        Files.writeString(flag, "");
        Path script = tmp.resolve("crashy.py");
        Files.writeString(script, """
                import sys, json, os
                for line in sys.stdin:
                    r = json.loads(line)
                    if r["id"] == "d" and os.path.exists(sys.argv[1]):
                        sys.exit(3)
                    print(json.dumps({"reward": r["completion"].count("e")}), flush=True)
                """);
        String crashy = "cmd:python3 " + script + " " + flag;
        Path in = input(PROMPTS);
        Path out = tmp.resolve("pairs.jsonl");
        List<String> a = args(policy, in, out);
        a.set(a.indexOf(reward), crashy);
        CliRun r = CliRun.of(a.toArray(String[]::new));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("d");
        assertThat(read(acceptanceLog(out))).extracting(n -> n.get("id").asText()).containsExactly("a", "1", "3");
        assertThat(JSON.readTree(manifest(out).toFile()).get("status").asText()).isEqualTo("failed");

        Files.delete(flag); // the reward is fixed; the same command goes on
        List<String> resumed = new ArrayList<>(a);
        resumed.add("--resume");
        CliRun again = CliRun.of(resumed.toArray(String[]::new));
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.err()).contains("rso: 1 records (0 skipped)");
        Path clean = tmp.resolve("clean.jsonl");
        assertThat(rso(in, clean).exit()).isZero();
        double d = assertSamePairs(read(out), read(clean));
        assertThat(d).isLessThan(RESUME_TOLERANCE);
        System.out.printf("reward process died at prompt d: exit 1 (%s); resumed: same pairs as a clean run, max |diff| = %.3g%n",
                r.err().strip().lines().filter(l -> l.contains("error")).findFirst().orElse("?"), d);
    }

    /** What identifies a pair record's content, log-probs aside. */
    static List<String> pairKeys(List<JsonNode> pairs) {
        return pairs.stream().map(p -> p.get("id").asText() + "|" + p.get("chosen") + "|" + p.get("rejected") + "|"
                + p.get("chosen_reward") + "|" + p.get("rejected_reward")).toList();
    }

    /** Same pair records as {@code expected}; log-prob columns within the tolerance. Returns the max diff. */
    static double assertSamePairs(List<JsonNode> got, List<JsonNode> expected) {
        assertThat(pairKeys(got)).containsExactlyElementsOf(pairKeys(expected));
        double d = 0;
        for (int i = 0; i < got.size(); i++) {
            for (String f : List.of("chosen_logps", "rejected_logps", "ref_chosen_logps", "ref_rejected_logps")) {
                d = Math.max(d, Math.abs(got.get(i).get(f).asDouble() - expected.get(i).get(f).asDouble()));
            }
        }
        return d;
    }

    @Test
    void resumeAfterATornGroupGivesEveryPromptOnceAsAnUninterruptedRunDoes() throws Exception {
        Path in = input(PROMPTS);
        Path full = tmp.resolve("full.jsonl");
        Path fullCands = tmp.resolve("full-cands.jsonl");
        assertThat(rso(in, full, "--keep-candidates", fullCands.toString(), "--pairing", "tournament").exit()).isZero();
        List<JsonNode> log = read(acceptanceLog(full));
        int pairsOfTwo = log.get(0).get("pairs").asInt() + log.get(1).get("pairs").asInt();
        assertThat(log.get(2).get("pairs").asInt()).as("the third prompt has pairs to tear").isPositive();

        // A run that committed two prompts and died while writing the third's group: one whole pair, a torn one.
        Path out = tmp.resolve("out.jsonl");
        Path cands = tmp.resolve("cands.jsonl");
        List<String> pairLines = Files.readAllLines(full);
        List<String> logLines = Files.readAllLines(acceptanceLog(full));
        List<String> candLines = Files.readAllLines(fullCands);
        Files.writeString(out, String.join("\n", pairLines.subList(0, pairsOfTwo)) + (pairsOfTwo > 0 ? "\n" : ""));
        Files.writeString(acceptanceLog(out), logLines.get(0) + "\n" + logLines.get(1) + "\n");
        Files.writeString(cands, candLines.get(0) + "\n" + candLines.get(1) + "\n");
        String committed = JSON.createObjectNode().put("line", 2).set("bytes", JSON.createObjectNode()
                .put("out.jsonl", Files.size(out)).put(acceptanceLog(out).getFileName().toString(), Files.size(acceptanceLog(out)))
                .put("out.rejects.jsonl", 0).put("cands.jsonl", Files.size(cands))).toString();
        Files.writeString(tmp.resolve("out.jsonl.resume.json"), committed);
        Files.writeString(out, pairLines.get(pairsOfTwo) + "\n" + pairLines.get(pairsOfTwo).substring(0, 30),
                java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(cands, candLines.get(2).substring(0, 50), java.nio.file.StandardOpenOption.APPEND);
        Files.copy(manifest(full), manifest(out));
        // What the killed run recorded when it started: its fingerprint (the same input, models and parameters).
        Files.copy(tmp.resolve("full.jsonl.run.json"), tmp.resolve("out.jsonl.run.json"));
        CliRun refused = rso(in, out, "--keep-candidates", cands.toString(), "--pairing", "tournament");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("--resume");
        CliRun other = rso(in, out, "--keep-candidates", cands.toString(), "--pairing", "first-round", "--resume");
        assertThat(other.exit()).isEqualTo(1);
        assertThat(other.err()).contains("parameters.pairing was \"tournament\", now \"first-round\"");

        CliRun r = rso(in, out, "--keep-candidates", cands.toString(), "--pairing", "tournament", "--resume");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("rso: 2 records (0 skipped)");
        double d = assertSamePairs(read(out), read(full));
        assertThat(Files.readAllLines(acceptanceLog(out))).containsExactlyElementsOf(logLines);
        assertThat(read(cands)).extracting(n -> n.get("accepted")).containsExactlyElementsOf(read(fullCands).stream().map(n -> n.get("accepted")).toList());
        System.out.printf("resumed after a torn group vs uninterrupted: same pairs; log-prob max |diff| = %.3g%n", d);
        assertThat(d).isLessThan(RESUME_TOLERANCE);
        JsonNode m = JSON.readTree(manifest(out).toFile());
        assertThat(m.get("counts")).isEqualTo(JSON.readTree(manifest(full).toFile()).get("counts"));
    }

    @Test
    void resumeAfterKillingTheProcessGivesEveryPromptOnceAsAnUninterruptedRunDoes() throws Exception {
        List<String> ids = new ArrayList<>();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            ids.add("p" + i);
            prompts.add("{\"id\": \"p" + i + "\", \"prompt\": \"Prompt number " + i + " says\"}");
        }
        Path in = input(prompts);
        String[] job = {"--candidates", "8", "--accept", "4", "--max-tokens", "24", "--seed", "9", "--pairing", "tournament"};
        Path full = tmp.resolve("full.jsonl");
        assertThat(rso(in, full, job).exit()).isZero();

        Path out = tmp.resolve("out.jsonl");
        Path log = acceptanceLog(out);
        CliRun.killAfterLines(args(policy, in, out, job), log, 3, tmp.resolve("child.log"));
        int before = CliRun.lineCount(log);
        assertThat(before).isBetween(3, 23);
        assertThat(JSON.readTree(manifest(out).toFile()).get("status").asText()).isEqualTo("running");

        String[] resume = Arrays.copyOf(job, job.length + 1);
        resume[job.length] = "--resume";
        CliRun r = rso(in, out, resume);
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> got = read(out);
        Set<String> pairIds = new HashSet<>();
        assertThat(got).allSatisfy(p -> assertThat(pairIds.add(p.get("id").asText())).as("pair %s once", p.get("id")).isTrue());
        assertThat(read(log)).extracting(n -> n.get("id").asText()).as("every prompt once, in order").containsExactlyElementsOf(ids);
        double d = assertSamePairs(got, read(full));
        assertThat(Files.readAllLines(log)).containsExactlyElementsOf(Files.readAllLines(acceptanceLog(full)));
        JsonNode m = JSON.readTree(manifest(out).toFile());
        assertThat(m.get("status").asText()).isEqualTo("complete");
        assertThat(m.get("counts")).isEqualTo(JSON.readTree(manifest(full).toFile()).get("counts"));
        System.out.printf("rso killed (SIGKILL) after %d of 24 prompts, resumed: every prompt once, %d pairs as uninterrupted;"
                + " log-prob max |diff| = %.3g%n", before, got.size(), d);
        assertThat(d).isLessThan(RESUME_TOLERANCE);
    }
}
