package org.align4j.cli;

import org.align4j.TestModels;
import static org.align4j.cli.JsonlFiles.read;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.align4j.bon.RewardCurve;
import org.align4j.engine.ScorerOptions;
import org.align4j.gguf.GgmlType;
import org.align4j.reward.Completion;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardInput;
import org.align4j.reward.RewardSpec;
import org.align4j.reward.Rewards;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code align4j bon} end to end: a tiny synthetic model, real rewards ({@code match:}, and {@code cmd:} python3 children). */
class BonCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path model;

    /** Rewards the number of distinct characters modulo 3 (ties are common); logs each request line to argv[1]. */
    static final String DISTINCT = """
            import sys, json
            log = open(sys.argv[1], "a")
            for line in sys.stdin:
                log.write(line); log.flush()
                r = json.loads(line)
                print(json.dumps({"reward": len(set(r["completion"])) % 3}), flush=True)
            """;

    /** Rewards the length modulo 4, but exits 3 on record p3 while the file argv[1] exists. */
    static final String CRASH_ON_P3 = """
            import sys, json, os
            for line in sys.stdin:
                r = json.loads(line)
                if r["id"] == "p3" and os.path.exists(sys.argv[1]):
                    sys.stderr.write("cannot score p3\\n"); sys.stderr.flush()
                    sys.exit(3)
                print(json.dumps({"reward": len(r["completion"]) % 4}), flush=True)
            """;

    @BeforeAll
    static void setUp() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "command -v python3").start();
        assertThat(p.waitFor()).as("these tests run python3 reward processes, and python3 is not on the PATH").isZero();
        model = TestModels.tiny(models, GgmlType.F32, 1);
    }

    Path file(String name, List<String> lines) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, lines, StandardCharsets.UTF_8);
        return f;
    }

    String script(String name, String source) throws IOException {
        Path p = tmp.resolve(name + ".py");
        Files.writeString(p, source);
        return "python3 " + p;
    }

    static List<String> prompts(int count) {
        return IntStream.range(0, count).mapToObj(i -> "{\"id\": \"p" + i + "\", \"prompt\": \"Prompt number " + i + " says\", \"topic\": "
                + i % 3 + "}").toList();
    }

    static List<String> args(String command, Path in, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(command, "-m", model.toString(), "-i", in.toString(), "-o", out.toString(),
                "--threads", "1", "--ctx", "128", "--seqs", "4", "--batch-tokens", "32"));
        a.addAll(List.of(extra));
        return a;
    }

    static CliRun bon(Path in, Path out, String... extra) {
        return CliRun.of(args("bon", in, out, extra).toArray(String[]::new));
    }

    static double[] rewards(JsonNode row) {
        double[] r = new double[row.get("completions").size()];
        for (int k = 0; k < r.length; k++) {
            JsonNode v = row.get("completions").get(k).get("reward");
            assertThat(v).as("completion %d of %s has a reward", k, row.get("id")).isNotNull();
            assertThat(v.isNumber()).isTrue();
            r[k] = v.asDouble();
        }
        return r;
    }

    static List<String> texts(JsonNode row) {
        List<String> out = new ArrayList<>();
        row.get("completions").forEach(c -> out.add(c.get("text").asText()));
        return out;
    }

    /** {@code best} is the index of the highest reward, the lowest such index on a tie; returns whether the top was tied. */
    static boolean assertBestIsTheFirstArgmax(JsonNode row) {
        double[] r = rewards(row);
        double max = java.util.Arrays.stream(r).max().orElseThrow();
        int first = IntStream.range(0, r.length).filter(k -> r[k] == max).findFirst().orElseThrow();
        assertThat(row.get("best").asInt()).as("best of %s", row.get("id")).isEqualTo(first);
        return IntStream.range(0, r.length).filter(k -> r[k] == max).count() > 1;
    }

    /** The curve table's rows: {n, mean, best}. */
    static List<double[]> curveRows(Path md) throws IOException {
        List<double[]> rows = new ArrayList<>();
        Matcher m = Pattern.compile("\\| (\\d+) \\| ([0-9.]+) \\| ([0-9.]+) \\|").matcher(Files.readString(md));
        while (m.find()) {
            rows.add(new double[] {Integer.parseInt(m.group(1)), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))});
        }
        return rows;
    }

    /** The curve files exist; best of n rises (weakly) with n from the mean, and the mean is flat; the table is the output's. */
    static void assertCurve(Path out, List<JsonNode> rows, int n) throws IOException {
        Path md = beside(out, ".curve.md");
        Path png = beside(out, ".curve.png");
        assertThat(md).exists();
        assertThat(png).exists();
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(png), 8);
        assertThat(head).startsWith(0x89, 'P', 'N', 'G');
        List<double[]> curve = curveRows(md);
        List<Integer> ns = new ArrayList<>(IntStream.iterate(1, k -> k < n, k -> 2 * k).boxed().toList());
        ns.add(n);
        assertThat(curve).extracting(r -> (int) r[0]).containsExactlyElementsOf(ns);
        for (int i = 1; i < curve.size(); i++) {
            assertThat(curve.get(i)[1]).as("mean reward is flat in n").isEqualTo(curve.getFirst()[1]);
            assertThat(curve.get(i)[2]).as("best of n is non-decreasing in n").isGreaterThanOrEqualTo(curve.get(i - 1)[2]);
        }
        assertThat(curve.getFirst()[2]).as("best of 1 is the mean").isCloseTo(curve.getFirst()[1], org.assertj.core.data.Offset.offset(1e-4));
        double bestOfAll = rows.stream().mapToDouble(r -> java.util.Arrays.stream(rewards(r)).max().orElseThrow()).average().orElseThrow();
        assertThat(curve.getLast()[2]).as("best of N is the mean of the per-prompt maxima").isCloseTo(bestOfAll, org.assertj.core.data.Offset.offset(1e-4));
        RewardCurve expected = new RewardCurve(n);
        rows.forEach(r -> expected.add(rewards(r)));
        assertThat(Files.readString(md)).isEqualTo(expected.table());
    }

    static Path beside(Path out, String suffix) {
        String name = out.getFileName().toString();
        return out.resolveSibling(name.substring(0, name.length() - ".jsonl".length()) + suffix);
    }

    static double[] independently(String spec, JsonNode inputRecord, List<String> texts) {
        List<Completion> cs = texts.stream().map(t -> new Completion(t, new int[0], Double.NaN)).toList();
        try (Reward r = Rewards.parse(spec, new RewardContext(null, new ScorerOptions(128, 32, 4, 1, true), 0, RewardContext.DEFAULT_TIMEOUT))) {
            return r.score(new RewardInput(inputRecord.path("id").asText(), (ObjectNode) inputRecord, inputRecord.get("prompt").asText(),
                    new int[] {1}, cs));
        }
    }

    @Test
    void matchRewardsEveryCompletionMarksTheBestAndWritesARisingCurve() throws IOException {
        // Each prompt's answer is the text of one of its completions (from a sample run with the same seed), so that
        // completion matches and the others mostly do not.
        String[] sampling = {"-n", "8", "--max-tokens", "6", "--seed", "4", "--stop", "\n"};
        Path plain = file("plain.jsonl", prompts(6));
        Path sampled = tmp.resolve("sampled.jsonl");
        List<String> s = args("sample", plain, sampled, sampling);
        s.add("--quiet");
        assertThat(CliRun.of(s.toArray(String[]::new)).exit()).isZero();
        List<String> withAnswers = new ArrayList<>();
        int[] answerOf = new int[6];
        for (JsonNode row : read(sampled)) {
            int i = Integer.parseInt(row.get("id").asText().substring(1));
            ObjectNode rec = (ObjectNode) JSON.readTree(prompts(6).get(i));
            answerOf[i] = -1;
            List<String> t = texts(row);
            for (int k = 0; k < t.size() && answerOf[i] < 0; k++) {
                rec.put("answer", t.get(k));
                if (independently("match:answer", rec, List.of(t.get(k)))[0] == 1) {
                    answerOf[i] = k;
                }
            }
            if (answerOf[i] < 0) {
                rec.put("answer", "no completion says this");
            }
            withAnswers.add(rec.toString());
        }
        assertThat(IntStream.of(answerOf).filter(k -> k >= 0).count()).as("prompts with an answer taken from a completion").isGreaterThanOrEqualTo(4);

        Path in = file("prompts.jsonl", withAnswers);
        Path out = tmp.resolve("out.jsonl");
        List<String> b = args("bon", in, out, sampling);
        b.addAll(List.of("--reward", "match:answer", "--quiet"));
        CliRun r = CliRun.of(b.toArray(String[]::new));
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> rows = read(out);
        assertThat(rows).extracting(n -> n.get("id").asText()).containsExactly("p0", "p1", "p2", "p3", "p4", "p5");
        List<JsonNode> sampleRows = read(sampled);
        int ones = 0;
        for (int i = 0; i < rows.size(); i++) {
            JsonNode row = rows.get(i);
            assertThat(row.get("answer").asText()).isEqualTo(JSON.readTree(withAnswers.get(i)).get("answer").asText());
            assertThat(texts(row)).as("bon samples what sample does").isEqualTo(texts(sampleRows.get(i)));
            for (JsonNode c : row.get("completions")) {
                assertThat(c.fieldNames()).toIterable().containsExactly("text", "token_ids", "logps", "token_logps", "finish_reason", "reward");
            }
            double[] got = rewards(row);
            assertThat(got).as("rewards of %s", row.get("id")).containsExactly(independently("match:answer", JSON.readTree(withAnswers.get(i)), texts(row)));
            if (answerOf[i] >= 0) {
                assertThat(got[answerOf[i]]).isEqualTo(1.0);
            }
            assertBestIsTheFirstArgmax(row);
            ones += (int) java.util.Arrays.stream(got).sum();
        }
        assertCurve(out, rows, 8);
        assertThat(r.err()).contains("bon: 6 records (0 skipped)", "bon: 6 prompts: mean reward", "out.curve.md", "out.curve.png");
        System.out.printf("bon match: %d of 48 completions rewarded 1; curve: %s%n", ones, r.err().lines()
                .filter(l -> l.startsWith("bon: 6 prompts")).findFirst().orElseThrow());
        assertThat(ones).isLessThan(48);
    }

    @Test
    void commandRewardScoresEveryCompletionInAChildProcess() throws IOException {
        Path log = tmp.resolve("requests.jsonl");
        Path in = file("prompts.jsonl", prompts(5));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = bon(in, out, "-n", "4", "--max-tokens", "8", "--reward", "cmd:" + script("distinct", DISTINCT) + " " + log,
                "--reward-timeout", "30");
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> rows = read(out);
        assertThat(rows).extracting(n -> n.get("id").asText()).containsExactly("p0", "p1", "p2", "p3", "p4");
        int tied = 0;
        for (JsonNode row : rows) {
            double[] expected = texts(row).stream().mapToDouble(t -> t.codePoints().distinct().count() % 3).toArray();
            assertThat(rewards(row)).as("rewards of %s", row.get("id")).containsExactly(expected);
            tied += assertBestIsTheFirstArgmax(row) ? 1 : 0;
        }
        assertThat(tied).as("records whose top reward is tied (the tie rule is exercised)").isPositive();
        List<JsonNode> requests = read(log);
        assertThat(requests).hasSize(20);
        for (int i = 0; i < 20; i++) {
            JsonNode q = requests.get(i);
            JsonNode row = rows.get(i / 4);
            assertThat(q.get("id").asText()).isEqualTo(row.get("id").asText());
            assertThat(q.get("prompt").asText()).isEqualTo(row.get("prompt").asText());
            assertThat(q.get("completion").asText()).isEqualTo(texts(row).get(i % 4));
            assertThat(q.get("topic")).as("the record's other fields go to the reward process").isEqualTo(row.get("topic"));
        }
        assertCurve(out, rows, 4);
        assertThat(r.err()).contains("align4j: backend CPU (")
                .containsPattern("bon: \\d+ tokens in \\d+ llama_decode calls .*: decode [0-9.]+%, sampling [0-9.]+%, log-probs [0-9.]+%, other [0-9.]+%")
                .containsPattern("bon: rewards took [0-9.]+ s")
                .contains("bon: 5 prompts: mean reward");
        System.out.printf("bon cmd: 20 completions rewarded by a python3 child, %d records with a tied top; %s%n", tied,
                r.err().lines().filter(l -> l.startsWith("bon: 5 prompts")).findFirst().orElseThrow());
    }

    /** Same ids, completions (log-probs to the bit, as a resumed run writes them), rewards and best in the same order. */
    static void assertSameBon(List<JsonNode> got, List<JsonNode> expected) {
        double d = SampleCommandTest.assertSameRecords(got, expected);
        assertThat(d).isZero();
        for (int i = 0; i < got.size(); i++) {
            assertThat(rewards(got.get(i))).containsExactly(rewards(expected.get(i)));
            assertThat(got.get(i).get("best")).isEqualTo(expected.get(i).get("best"));
        }
    }

    @Test
    void aFailingRewardStopsNamingTheRecordAfterWritingWhatCameBeforeAndResumeFinishesTheCurve() throws IOException {
        Path flag = Files.writeString(tmp.resolve("crash-on-p3"), "");
        String spec = "cmd:" + script("crash", CRASH_ON_P3) + " " + flag;
        Path in = file("prompts.jsonl", prompts(6));
        String[] job = {"-n", "4", "--max-tokens", "8", "--seed", "2", "--quiet", "--reward", spec};

        Path out = tmp.resolve("out.jsonl");
        CliRun failed = bon(in, out, job);
        assertThat(failed.exit()).as(failed.err()).isEqualTo(1);
        assertThat(failed.err()).contains("align4j bon: error: record p3", "exited with code 3", "cannot score p3");
        assertThat(read(out)).extracting(n -> n.get("id").asText()).containsExactly("p0", "p1", "p2");
        assertThat(beside(out, ".curve.md")).doesNotExist();

        Files.delete(flag);
        Path full = tmp.resolve("full.jsonl");
        assertThat(bon(in, full, job).exit()).isZero();
        CliRun resumed = bon(in, out, SampleCommandTest.ArraysConcat.of(job, "--resume"));
        assertThat(resumed.exit()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("bon: 3 records (0 skipped)", "bon: 6 prompts");
        assertSameBon(read(out), read(full));
        assertThat(Files.readString(beside(out, ".curve.md"))).as("the resumed run's curve covers the earlier run's records")
                .isEqualTo(Files.readString(beside(full, ".curve.md")));
        assertCurve(out, read(out), 4);
    }

    @Test
    void resumeAfterKillingTheProcessAndATornLineGivesEveryPromptOnceAndTheUninterruptedCurve() throws Exception {
        Path in = file("prompts.jsonl", prompts(40));
        String[] job = {"-n", "4", "--max-tokens", "48", "--seed", "9", "--quiet", "--reward", "regex:[0-9]"};
        Path full = tmp.resolve("full.jsonl");
        CliRun uninterrupted = bon(in, full, job);
        assertThat(uninterrupted.exit()).as(uninterrupted.err()).isZero();

        Path out = tmp.resolve("out.jsonl");
        CliRun.killAfterLines(args("bon", in, out, job), out, 4, tmp.resolve("child.log"));
        // And as if the kill had come in the middle of a write: the last record torn in half.
        String written = Files.readString(out);
        int lastStart = written.lastIndexOf('\n', written.length() - 2) + 1;
        Files.writeString(out, written.substring(0, lastStart + (written.length() - lastStart) / 2));
        int whole = (int) Files.readString(out).chars().filter(c -> c == '\n').count();
        assertThat(whole).isBetween(3, 38);

        CliRun r = bon(in, out, SampleCommandTest.ArraysConcat.of(job, "--resume"));
        assertThat(r.exit()).as(r.err()).isZero();
        List<JsonNode> rows = read(out);
        assertThat(rows).extracting(n -> n.get("id").asText()).containsExactlyElementsOf(IntStream.range(0, 40).mapToObj(i -> "p" + i).toList());
        assertSameBon(rows, read(full));
        assertThat(Files.readString(beside(out, ".curve.md"))).isEqualTo(Files.readString(beside(full, ".curve.md")));
        assertCurve(out, rows, 4);
        System.out.printf("bon killed (SIGKILL) after %d of 40 records, last one torn, resumed: every prompt once, curve as uninterrupted:%n%s",
                whole, Files.readString(beside(out, ".curve.md")));
    }

    @Test
    void usageErrorsExitTwoBeforeLoadingAnything() throws IOException {
        Path in = file("prompts.jsonl", prompts(2));
        Path out = tmp.resolve("out.jsonl");
        for (String bad : List.of("nope:x", "match:", "regex:(", "answer")) {
            CliRun r = bon(in, out, "-n", "2", "--reward", bad);
            assertThat(r.exit()).as(bad + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains("--reward '" + bad + "'", RewardSpec.KINDS);
        }
        CliRun timeout = bon(in, out, "-n", "2", "--reward", "match:answer", "--reward-timeout", "0");
        assertThat(timeout.exit()).isEqualTo(2);
        assertThat(timeout.err()).contains("--reward-timeout");
        CliRun missing = bon(in, out, "-n", "2");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("--reward");
        assertThat(bon(in, out, "-n", "0", "--reward", "match:answer").exit()).isEqualTo(2);
        assertThat(out).doesNotExist();
    }
}
