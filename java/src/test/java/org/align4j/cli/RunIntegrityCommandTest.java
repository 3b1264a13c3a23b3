package org.align4j.cli;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.gguf.GgmlType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An output is never silently wrong (issue 13): a {@code --resume} that would mix two runs is refused naming
 * what changed, one run at a time writes an output, duplicate ids are refused, temporary files never follow
 * a planted link, and a few bad requests are refused before any work. Each of these ended in exit 0 and a
 * wrong or mixed file before.
 */
class RunIntegrityCommandTest {
    @TempDir static Path models;
    @TempDir Path tmp;
    static Path model;
    static Path other; // same shape and vocabulary, other weights

    static final String[] SAMPLING = {"--max-tokens", "4", "--seed", "1", "--temperature", "0.8", "--threads", "1", "--quiet"};

    @BeforeAll
    static void writeModels() {
        model = TestModels.tiny(models, GgmlType.F32, 1);
        other = TestModels.tiny(models, GgmlType.F32, 2);
    }

    Path prompts(String name, String text) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            lines.add("{\"id\": \"p" + i + "\", \"prompt\": \"" + text + " " + i + "\", \"answer\": \"4\"}");
        }
        return JsonlFiles.write(tmp.resolve(name), lines);
    }

    Path pairs(String name, String chosen) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            lines.add("{\"id\": \"r" + i + "\", \"prompt\": \"What is " + i + " + 2?\", \"chosen\": \"" + chosen
                    + "\", \"rejected\": \" no\"}");
        }
        return JsonlFiles.write(tmp.resolve(name), lines);
    }

    /** A run of {@code args} to {@code out}, then its output cut back to its first record: a run killed there. */
    Path killedAfterOneRecord(String name, List<String> args) throws IOException {
        Path out = tmp.resolve(name);
        CliRun r = run(args, "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Files.writeString(out, Files.readAllLines(out).getFirst() + "\n");
        return out;
    }

    @Test
    void sampleResumeRefusesEveryChangeThatAltersTheOutputAndNamesIt() throws IOException {
        Path in = prompts("in.jsonl", "Count to");
        List<String> job = with(List.of("sample", "-m", model.toString(), "-i", in.toString(), "-n", "2"), SAMPLING);
        Path out = killedAfterOneRecord("out.jsonl", job);
        byte[] before = Files.readAllBytes(out);
        Path sameIdsOtherText = prompts("other.jsonl", "Spell");
        Map<String, List<String>> changes = Map.of(
                "parameters.n was 2, now 3", replace(job, "-n", "3"),
                "parameters.sampling.seed was 1, now 2", replace(job, "--seed", "2"),
                "parameters.sampling.temperature was 0.8, now 0.5", replace(job, "--temperature", "0.5"),
                "parameters.sampling.max_tokens was 4, now 5", replace(job, "--max-tokens", "5"),
                "the policy model differs", replace(job, "-m", other.toString()),
                "the input differs", replace(job, "-i", sameIdsOtherText.toString()));
        for (Map.Entry<String, List<String>> c : changes.entrySet()) {
            CliRun r = run(c.getValue(), "-o", out.toString(), "--resume");
            System.out.printf("sample --resume with a change: exit %d: %s", r.exit(), r.err());
            assertThat(r.exit()).as(c.getKey() + ": " + r.err()).isEqualTo(1);
            assertThat(r.err()).contains("--resume continues the run recorded in " + out + ".run.json", c.getKey());
            assertThat(Files.readAllBytes(out)).as("the output is untouched").isEqualTo(before);
        }
        // Another command's output: score resuming what sample wrote.
        CliRun score = CliRun.of("score", "-m", model.toString(), "-i", pairs("pairs.jsonl", " yes").toString(), "-o", out.toString(),
                "--resume", "--threads", "1", "--quiet");
        assertThat(score.exit()).as(score.err()).isEqualTo(1);
        assertThat(score.err()).contains("that output was written by sample, not score");
        assertThat(Files.readAllBytes(out)).isEqualTo(before);

        // What only changes how fast it is made may change: the run completes, every record once.
        CliRun engine = run(replace(job, "--threads", "2"), "-o", out.toString(), "--resume", "--seqs", "3", "--batch-tokens", "32",
                "--on-error", "skip");
        assertThat(engine.exit()).as(engine.err()).isZero();
        assertThat(JsonlFiles.read(out)).extracting(n -> n.get("id").asText()).containsExactly("p0", "p1", "p2", "p3");
    }

    @Test
    void bonScoreAndRsoResumeRefuseAnotherRewardReferenceOrInput() throws IOException {
        Path in = prompts("in.jsonl", "Count to");
        List<String> bon = with(List.of("bon", "-m", model.toString(), "-i", in.toString(), "-n", "2", "--reward", "regex:4"), SAMPLING);
        Path bonOut = killedAfterOneRecord("bon.jsonl", bon);
        CliRun r = run(replace(bon, "--reward", "regex:5"), "-o", bonOut.toString(), "--resume");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("parameters.reward was \"regex:4\", now \"regex:5\"");

        List<String> score = List.of("score", "-m", model.toString(), "-r", model.toString(), "-i",
                pairs("pairs.jsonl", " yes").toString(), "--threads", "1", "--quiet");
        Path scoreOut = killedAfterOneRecord("scored.jsonl", score);
        r = run(replace(score, "-r", other.toString()), "-o", scoreOut.toString(), "--resume");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("the reference model differs");
        r = run(score, "-o", scoreOut.toString(), "--resume", "--per-token");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("parameters.per_token was false, now true");

        List<String> rso = with(List.of("rso", "-m", model.toString(), "-i", in.toString(), "--reward", "regex:4",
                "--candidates", "3", "--accept", "2"), SAMPLING);
        Path rsoOut = tmp.resolve("pairs-out.jsonl");
        assertThat(run(rso, "-o", rsoOut.toString()).exit()).isZero();
        r = run(replace(rso, "-i", prompts("other.jsonl", "Spell").toString()), "-o", rsoOut.toString(), "--resume");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("the input differs");
    }

    @Test
    void dpoResumeRefusesAnotherNumberOfEpochs() throws IOException {
        Path data = pairs("pairs.jsonl", " yes");
        Path out = tmp.resolve("m.gguf");
        List<String> dpo = List.of("dpo", "--policy", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--epochs", "1", "--batch-size", "1", "--threads", "1", "--quiet");
        CliRun first = run(dpo);
        assertThat(first.exit()).as(first.err()).isZero();
        CliRun r = run(replace(dpo, "--epochs", "2"), "--resume");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("is from a run of 3 steps in all (--epochs, --max-steps), and this one has 6");
    }

    @Test
    void aSecondRunOnAnOutputFailsAtOnceNamingTheRunThatHoldsIt() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            lines.add("{\"id\": \"p" + i + "\", \"prompt\": \"Prompt number " + i + " says\"}");
        }
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), lines);
        Path out = tmp.resolve("out.jsonl");
        List<String> job = List.of("sample", "-m", model.toString(), "-i", in.toString(), "-o", out.toString(), "-n", "4",
                "--max-tokens", "48", "--threads", "1", "--quiet");
        Process holder = CliRun.startAndWaitForLines(job, out, 1, tmp.resolve("child.log"));
        try {
            for (List<String> second : List.of(job, with(job, "--resume"))) {
                byte[] before = Files.readAllBytes(out);
                CliRun r = run(second);
                System.out.printf("a second run while process %d writes the output: exit %d: %s", holder.pid(), r.exit(), r.err());
                assertThat(r.exit()).as(r.err()).isEqualTo(1);
                assertThat(r.err()).contains(out + " is being written by another run (align4j sample, process " + holder.pid());
                assertThat(Files.readAllBytes(out)).as("nothing written by the refused run").startsWith(before);
            }
        } finally {
            holder.destroyForcibly().waitFor();
        }
        // The lock goes with its process: once the holder is gone the output can be resumed.
        CliRun resumed = run(with(job, "--resume"));
        assertThat(resumed.exit()).as(resumed.err()).isZero();
        List<String> ids = JsonlFiles.read(out).stream().map(n -> n.get("id").asText()).toList();
        assertThat(ids).hasSize(40).doesNotHaveDuplicates();
        assertThat(tmp.resolve("out.jsonl.lock")).as("a run that ends removes its lock file").doesNotExist();
    }

    @Test
    void duplicateIdsAreRefusedNamingBothLinesOrRejectedUnderSkip() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), List.of(
                "{\"id\": \"a\", \"prompt\": \"one\"}", "{\"id\": \"b\", \"prompt\": \"two\"}", "{\"id\": \"a\", \"prompt\": \"three\"}",
                "{\"id\": \"c\", \"prompt\": \"four\"}"));
        List<String> job = with(List.of("sample", "-m", model.toString(), "-i", in.toString(), "-n", "2"), SAMPLING);
        Path failed = tmp.resolve("fail.jsonl");
        CliRun r = run(job, "-o", failed.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains(in + ":3: duplicate id a: line 1 has it too");
        assertThat(JsonlFiles.read(failed)).extracting(n -> n.get("id").asText()).containsExactly("a", "b");

        Path skipped = tmp.resolve("skip.jsonl");
        r = run(job, "-o", skipped.toString(), "--on-error", "skip");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(JsonlFiles.read(skipped)).extracting(n -> n.get("id").asText()).containsExactly("a", "b", "c");
        List<JsonNode> rejects = JsonlFiles.read(tmp.resolve("skip.rejects.jsonl"));
        assertThat(rejects).hasSize(1);
        assertThat(rejects.getFirst().get("line").asInt()).isEqualTo(3);
        assertThat(rejects.getFirst().get("error").asText()).contains("duplicate id a: line 1 has it too");
    }

    @Test
    void aLinkPlantedAtATemporaryFileNameIsNeverFollowed() throws IOException {
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "keep me\n");
        Path in = prompts("in.jsonl", "Count to");
        Path rsoOut = tmp.resolve("pairs.jsonl");
        Path bonOut = tmp.resolve("bon.jsonl");
        Path dpoOut = tmp.resolve("m.gguf");
        List<Path> planted = new ArrayList<>();
        for (String name : List.of("pairs.jsonl.manifest.json.tmp", "pairs.jsonl.resume.json.tmp", "pairs.jsonl.run.json.tmp",
                "bon.curve.md.tmp", "bon.curve.png.tmp", "bon.jsonl.run.json.tmp", "m.gguf.metrics.jsonl.tmp", "m.gguf.tmp")) {
            planted.add(Files.createSymbolicLink(tmp.resolve(name), victim));
        }
        assertThat(run(with(List.of("rso", "-m", model.toString(), "-i", in.toString(), "-o", rsoOut.toString(), "--reward", "regex:4",
                "--candidates", "3", "--accept", "2"), SAMPLING)).exit()).isZero();
        assertThat(run(with(List.of("bon", "-m", model.toString(), "-i", in.toString(), "-o", bonOut.toString(), "-n", "2", "--reward", "regex:4"),
                SAMPLING)).exit()).isZero();
        List<String> dpo = List.of("dpo", "--policy", model.toString(), "--data", pairs("dpo.jsonl", " yes").toString(),
                "--out", dpoOut.toString(), "--max-steps", "2", "--batch-size", "1", "--save-every", "1", "--threads", "1", "--quiet");
        assertThat(run(dpo).exit()).isZero();
        assertThat(run(dpo, "--resume").exit()).as("a resume rewrites the metrics file").isZero();
        assertThat(Files.readString(victim)).isEqualTo("keep me\n");
        for (Path p : planted) {
            assertThat(Files.isSymbolicLink(p)).as(p + " left alone").isTrue();
        }
    }

    @Test
    void scoreRefusesAPairWhoseChosenIsItsRejected() throws IOException {
        Path in = JsonlFiles.write(tmp.resolve("in.jsonl"), List.of(
                "{\"id\": \"r0\", \"prompt\": \"2+2=\", \"chosen\": \" 4\", \"rejected\": \" 5\"}",
                "{\"id\": \"r1\", \"prompt\": \"2+2=\", \"chosen\": \" 4\", \"rejected\": \" 4\"}"));
        Path out = tmp.resolve("out.jsonl");
        CliRun r = CliRun.of("score", "-m", model.toString(), "-i", in.toString(), "-o", out.toString(), "--threads", "1", "--quiet");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains(in + ":2: chosen and rejected tokenize to the same");
        assertThat(JsonlFiles.read(out)).extracting(n -> n.get("id").asText()).containsExactly("r0");
    }

    @Test
    void dpoRefusesAnOutputThatIsADirectoryBeforeTraining() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("out"));
        CliRun r = CliRun.of("dpo", "--policy", model.toString(), "--data", pairs("pairs.jsonl", " yes").toString(),
                "--out", dir.toString(), "--max-steps", "2", "--threads", "1", "--quiet");
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains(dir + " is a directory: --out names the model file to write");
        try (var files = Files.list(tmp)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no checkpoint or metrics: no training started")
                    .containsExactlyInAnyOrder("out", "pairs.jsonl");
        }
    }

    @Test
    void aSlowRewardProcessAnsweringTwiceLeavesAnOutputThatIsNotResumed() throws IOException {
        // Two answers per request, slowly: the extra lines arrive only after later prompts were answered.
        Path child = Files.writeString(tmp.resolve("twice.sh"),
                "while read line; do sleep 0.2; echo '{\"reward\": 1}'; echo '{\"reward\": 2}'; done\n");
        Path in = prompts("in.jsonl", "Count to");
        Path out = tmp.resolve("bon.jsonl");
        List<String> bon = with(List.of("bon", "-m", model.toString(), "-i", in.toString(), "-o", out.toString(), "-n", "2",
                "--reward", "cmd:sh " + child), SAMPLING);
        CliRun r = run(bon);
        System.out.printf("bon with a slow child answering twice: exit %d: %s", r.exit(), r.err());
        assertThat(r.exit()).as(r.err()).isEqualTo(1);
        assertThat(r.err()).contains("printed a line after its answers", "the output is not to be trusted");
        CliRun resumed = run(bon, "--resume");
        assertThat(resumed.exit()).as(resumed.err()).isEqualTo(1);
        assertThat(resumed.err()).contains(out + " is not to be continued: its run found that record");
    }

    @Test
    void limitValuesOfEngineAndTrainingOptionsEndInAMessageOrARunNeverACrash() throws IOException {
        Path in = prompts("in.jsonl", "Count to");
        Path pairs = pairs("pairs.jsonl", " yes");
        CliRun batch = run(with(List.of("sample", "-m", model.toString(), "-i", in.toString(), "-o", tmp.resolve("s.jsonl").toString(),
                "-n", "2", "--batch-tokens", "2147483647"), SAMPLING));
        assertThat(batch.exit()).as("--batch-tokens is lowered to what the context holds: " + batch.err()).isZero();
        CliRun scoreBatch = CliRun.of("score", "-m", model.toString(), "-i", pairs.toString(), "-o", tmp.resolve("c.jsonl").toString(),
                "--batch-tokens", "2147483647", "--threads", "1", "--quiet");
        assertThat(scoreBatch.exit()).as(scoreBatch.err()).isZero();
        CliRun window = run(with(List.of("sample", "-m", model.toString(), "-i", in.toString(), "-o", tmp.resolve("w.jsonl").toString(),
                "-n", "2", "--repeat-last-n", "2147483647"), SAMPLING));
        assertThat(window.exit()).as("a window longer than --ctx looks back over the whole sequence: " + window.err()).isZero();
        CliRun topK = CliRun.of("score", "-m", model.toString(), "-i", pairs.toString(), "-o", tmp.resolve("k.jsonl").toString(),
                "--top-k", "2147483647", "--threads", "1", "--quiet");
        assertThat(topK.exit()).as(topK.err()).isEqualTo(1);
        assertThat(topK.err()).contains("--top-k 2147483647 is more than the").doesNotContain("OutOfMemoryError");
        CliRun dpo = CliRun.of("dpo", "--policy", model.toString(), "--data", pairs.toString(), "--out", tmp.resolve("m.gguf").toString(),
                "--batch-size", "2147483647", "--max-steps", "1", "--threads", "1", "--quiet");
        assertThat(dpo.exit()).as(dpo.err()).isZero();
        CliRun onItself = run(with(List.of("sample", "-m", model.toString(), "-i", in.toString(), "-o", in.toString(), "-n", "2",
                "--resume"), SAMPLING));
        assertThat(onItself.exit()).as(onItself.err()).isEqualTo(1);
        assertThat(onItself.err()).contains(in + " is the input file");
        for (CliRun c : List.of(batch, scoreBatch, window, topK, dpo, onItself)) {
            assertThat(c.err()).doesNotContain("internal error").doesNotContain("Exception");
        }
    }

    private static CliRun run(List<String> args, String... more) {
        return CliRun.of(with(args, more).toArray(String[]::new));
    }

    private static List<String> with(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all;
    }

    /** {@code args} with the value after {@code option} replaced. */
    private static List<String> replace(List<String> args, String option, String value) {
        List<String> all = new ArrayList<>(args);
        int at = all.indexOf(option);
        assertThat(at).as(option + " in " + args).isNotNegative();
        all.set(at + 1, value);
        return all;
    }
}
