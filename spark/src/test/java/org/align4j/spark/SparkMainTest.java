package org.align4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.align4j.cli.Align4jCommand;
import org.align4j.job.RejectsWriter;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spark-submit entry point in {@code local[2]} against the CLI run on the same arguments. */
class SparkMainTest {
    static SparkSession spark;
    @TempDir Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("align4j-main-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static String[] args(String command, Path input, Path output, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "-m", SparkTests.demoDir().resolve("demo.gguf").toString(),
                "-i", input.toString(), "-o", output.toString(), "--ctx", "32", "--seqs", "4", "--batch-tokens", "64", "--threads", "1",
                "--quiet", "--max-tokens", "8", "--seed", "3"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private record Run(int status, String err) {}

    private static Run submit(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = SparkMain.run(spark, new PrintStream(err, true, StandardCharsets.UTF_8), args);
        String text = err.toString(StandardCharsets.UTF_8);
        System.out.println("align4j-spark exit " + status + ": " + text.strip());
        return new Run(status, text);
    }

    /** A Spark text output folder's lines, its part files in order. */
    private static List<String> partLines(Path folder) throws IOException {
        List<String> lines = new ArrayList<>();
        try (Stream<Path> parts = Files.list(folder)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
                lines.addAll(Files.readAllLines(part));
            }
        }
        return lines;
    }

    @Test
    void sampleWritesTheCliFileAsJsonl() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(40));
        assertThat(Align4jCommand.commandLine().execute(args("sample", prompts, tmp.resolve("cli.jsonl"), "-n", "2"))).isZero();

        Run run = submit(args("sample", prompts, tmp.resolve("spark.jsonl"), "-n", "2"));

        assertThat(run.status()).isZero();
        List<String> cli = Files.readAllLines(tmp.resolve("cli.jsonl"));
        List<String> spark = partLines(tmp.resolve("spark.jsonl"));
        System.out.println("submit sample: " + cli.size() + " lines from the CLI, " + spark.size() + " from spark-submit's JSONL output");
        assertThat(spark).isNotEmpty().containsExactlyElementsOf(cli);
    }

    @Test
    void bonWritesTheCliColumnsAsParquetAndItsRejectsBeside() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        List<String> lines = new ArrayList<>(SparkTests.prompts(10));
        lines.set(4, "{\"id\": \"no-prompt\"}");
        Files.write(prompts, lines);
        String[] more = {"-n", "2", "--reward", "match:answer", "--on-error", "skip"};
        assertThat(Align4jCommand.commandLine().execute(args("bon", prompts, tmp.resolve("cli.jsonl"), more))).isZero();

        Run run = submit(args("bon", prompts, tmp.resolve("spark.parquet"), more));

        assertThat(run.status()).isZero();
        Map<String, String> cli = SparkTests.byId(tmp.resolve("cli.jsonl"));
        Map<String, String> got = SparkTests.byId(spark.read().parquet(tmp.resolve("spark.parquet").toString()).toJSON().collectAsList());
        assertThat(got.keySet()).hasSize(9).containsExactlyInAnyOrderElementsOf(cli.keySet());
        for (String id : cli.keySet()) {
            JsonNode expected = SparkTests.parse(cli.get(id));
            assertThat(SparkTests.sameJson(SparkTests.parse(got.get(id)), expected)).as("record " + id + " vs " + expected).isTrue();
        }
        List<String> rejects = partLines(RejectsWriter.pathFor(tmp.resolve("spark.parquet")));
        assertThat(rejects).containsExactlyElementsOf(Files.readAllLines(tmp.resolve("cli.rejects.jsonl")));
        System.out.println("submit bon: " + got.size() + " Parquet rows equal to the CLI's records, " + rejects.size() + " reject as the CLI's");
    }

    @Test
    void rsoWritesTheCliPairsAcceptanceLogAndManifestTotals() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(30));
        String[] more = {"--reward", "match:answer", "--candidates", "3", "--accept", "2", "--ties", "keep"};
        assertThat(Align4jCommand.commandLine().execute(args("rso", prompts, tmp.resolve("cli.jsonl"), more))).isZero();
        Run refused = submit(args("rso", prompts, tmp.resolve("kept.jsonl"), concat(more, "--keep-candidates", "c.jsonl")));
        assertThat(refused.status()).isEqualTo(2);
        assertThat(refused.err()).contains("--keep-candidates is the CLI's only");

        Run run = submit(args("rso", prompts, tmp.resolve("spark.jsonl"), more));

        assertThat(run.status()).isZero();
        List<String> pairs = partLines(tmp.resolve("spark.jsonl"));
        assertThat(pairs).isNotEmpty().containsExactlyElementsOf(Files.readAllLines(tmp.resolve("cli.jsonl")));
        assertThat(partLines(tmp.resolve("spark.jsonl.acceptance.jsonl")))
                .containsExactlyElementsOf(Files.readAllLines(tmp.resolve("cli.jsonl.acceptance.jsonl")));
        JsonNode cli = SparkTests.parse(Files.readString(tmp.resolve("cli.jsonl.manifest.json")));
        JsonNode got = SparkTests.parse(Files.readString(tmp.resolve("spark.jsonl.manifest.json")));
        System.out.println("submit rso: " + pairs.size() + " pairs and the acceptance log as the CLI's; manifest counts "
                + got.get("counts") + ", acceptance " + got.get("acceptance").get("observed_rate") + " observed, "
                + got.get("acceptance").get("expected_rate") + " expected, as the CLI's");
        assertThat(got.get("counts")).isEqualTo(cli.get("counts"));
        assertThat(got.get("acceptance")).isEqualTo(cli.get("acceptance"));
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void usageErrorsExit2AndAMissingInputOrAnExistingOutputExits1NamingIt() {
        Run usage = submit("sample", "-m", "x.gguf", "-i", "in.jsonl", "-o", "out.jsonl", "-n", "0");
        assertThat(usage.status()).isEqualTo(2);
        assertThat(usage.err()).contains("-n must be positive");
        Run help = submit("sample", "--help");
        assertThat(help.status()).isEqualTo(2);
        assertThat(help.err()).contains("Usage: align4j sample");

        Path missing = tmp.resolve("missing.jsonl");
        Run run = submit(args("sample", missing, tmp.resolve("out.jsonl"), "-n", "2"));
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("align4j-spark: " + missing + ": no such file" + System.lineSeparator());

        Run again = submit(args("sample", SparkTests.demoDir().resolve("heldout.jsonl"), tmp, "-n", "2"));
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).isEqualTo("align4j-spark: " + tmp + ": exists already; give a new output folder" + System.lineSeparator());
    }
}
