package org.align4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.align4j.bon.SampleJob;
import org.align4j.data.Jsonl;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.ScorerOptions;
import org.align4j.job.ErrorPolicy;
import org.align4j.engine.Adapters;
import org.align4j.job.RejectsWriter;
import org.align4j.job.RewardStage;
import org.align4j.job.RunManifest;
import org.align4j.reward.Reward;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.RsoJob;
import org.align4j.llama.Model;
import org.align4j.score.ScoreJob;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dataset API in {@code local[2]} (two tasks side by side in this JVM, one model between them) against the
 * job layer run as the CLI runs it on the same file: the same records to the byte, and the CLI's rejects and
 * messages.
 */
class Align4jSparkLocalTest {
    /** 4 sequences drawing 4 completions: the CLI's segments are 32 lines, so 70 prompts make 3 of them, a task each, two at a time. */
    static final SamplerOptions SAMPLER = new SamplerOptions(32, 64, 4, 1);
    static final SamplingParams SAMPLING = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 8, List.of(), 11);
    static final int N = 4;

    static SparkSession spark;
    @TempDir Path tmp;

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("align4j-local-test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    static Path model() {
        return SparkTests.demoDir().resolve("demo.gguf");
    }

    @Test
    void sampleEqualsTheCliRecordForRecord() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        List<String> lines = new ArrayList<>(SparkTests.prompts(70));
        lines.add(20, ""); // a blank line: the records after it keep their line numbers
        lines.set(40, "{\"prompt\":\"12+30=\"}"); // no id: its id is its 0-based line number
        Files.write(prompts, lines);
        SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("cli.jsonl"), N, SAMPLER, SAMPLING).withQuiet(true);
        try (Model m = Model.load(model(), ModelFile.of(model()).options())) {
            SampleJob.run(m, o);
        }

        JobRows rows = Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(model()), o);

        List<String> spark = SparkTests.values(rows.records());
        assertThat(SparkTests.assertSameRecords("sample, local[2]", SparkTests.byId(tmp.resolve("cli.jsonl")), spark)).isEqualTo(70);
        assertThat(spark).as("ordered by line, the rows are the CLI's file").containsExactlyElementsOf(Files.readAllLines(tmp.resolve("cli.jsonl")));
        assertThat(rows.rejects().count()).isZero();
        // Segments hashed onto local[2]'s two partitions put two in one task and one in the other.
        assertThat(rows.records().rdd().getNumPartitions()).as("one task per segment: 71 lines in segments of 32").isEqualTo(3);
    }

    @Test
    void theCliColumnsCarryTheCliValues() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(6));
        SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("cli.jsonl"), 2, SAMPLER, SAMPLING).withQuiet(true);
        try (Model m = Model.load(model(), ModelFile.of(model()).options())) {
            SampleJob.run(m, o);
        }

        Dataset<Row> columns = Align4jSpark.columns(
                Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(model()), o).records());

        Map<String, String> cli = SparkTests.byId(tmp.resolve("cli.jsonl"));
        Map<String, String> got = SparkTests.byId(columns.toJSON().collectAsList());
        assertThat(columns.columns()).containsExactlyInAnyOrder("id", "prompt", "answer", "completions");
        assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(cli.keySet());
        for (String id : cli.keySet()) {
            JsonNode expected = SparkTests.parse(cli.get(id));
            JsonNode actual = SparkTests.parse(got.get(id));
            assertThat(SparkTests.sameJson(actual, expected)).as("record " + id + ": " + actual + " vs " + expected).isTrue();
        }
        System.out.println("sample as columns: " + got.size() + " rows, columns " + String.join(", ", columns.columns()) + ", values equal");
    }

    @Test
    void scoreEqualsTheCliRecordForRecord() throws IOException {
        Path pairs = tmp.resolve("pairs.jsonl");
        List<String> lines = new ArrayList<>();
        for (String prompt : SparkTests.prompts(40)) {
            ObjectNode p = (ObjectNode) SparkTests.parse(prompt);
            String answer = p.get("answer").asText();
            p.put("chosen", answer).put("rejected", answer + "1");
            lines.add(Jsonl.MAPPER.writeValueAsString(p));
        }
        Files.write(pairs, lines);
        ScoreJob.Options o = ScoreJob.Options.of(pairs, tmp.resolve("cli.jsonl"), new ScorerOptions(64, 64, 2, 1, true, 0, false))
                .withPerToken(true).withQuiet(true);
        try (Model m = Model.load(model(), ModelFile.of(model()).options())) {
            ScoreJob.run(m, null, o);
        }

        JobRows rows = Align4jSpark.score(Align4jSpark.readJsonl(spark, pairs.toString()), pairs.toString(), ModelFile.of(model()), null, o);

        assertThat(SparkTests.assertSameRecords("score, local[2]", SparkTests.byId(tmp.resolve("cli.jsonl")),
                SparkTests.values(rows.records()))).isEqualTo(40);
    }

    @Test
    void rsoEqualsTheCliRecordForRecordAndItsManifestTotals() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(70));
        Path cli = tmp.resolve("cli.jsonl");
        // 3 candidates in 4 sequences: prompts share batches, and a segment is 43 lines, so 70 prompts make 2, and the
        // second starts where the CLI would not drain its engine but for the segment (it drains every 32 lines in flight).
        RsoJob.Options o = new RsoJob.Options(prompts, cli, null, Duration.ofSeconds(30), 3, 2, RejectionSampler.rso(0.5),
                new Pairing(Pairing.Scheme.TOURNAMENT, Pairing.TieRule.KEEP), ErrorPolicy.FAIL, false, true, 0, SAMPLER, SAMPLING,
                Adapters.none());
        assertThat(RsoJob.segments(o).lines()).isEqualTo(43);
        try (Model m = Model.load(model(), ModelFile.of(model()).options());
             Reward reward = RewardStage.open("match:answer", model(), SAMPLER, 0, o.rewardTimeout())) {
            RsoJob.run(m, null, reward, o);
        }

        JobRows rows = Align4jSpark.rso(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(model()),
                null, "match:answer", o);

        List<String> pairs = SparkTests.values(rows.records());
        assertThat(pairs).as("ordered by line and rank, the rows are the CLI's pairs file").containsExactlyElementsOf(Files.readAllLines(cli));
        assertThat(SparkTests.values(rows.acceptance())).as("the CLI's acceptance log")
                .containsExactlyElementsOf(Files.readAllLines(RsoJob.acceptanceLogPath(cli)));
        JsonNode manifest = SparkTests.parse(Files.readString(RunManifest.pathFor(cli)));
        ObjectNode totals = Align4jSpark.rsoTotals(rows, o.pairing().ties());
        System.out.println("rso, local[2]: " + pairs.size() + " pairs as the CLI's, byte for byte; totals " + totals.get("counts")
                + ", acceptance " + totals.get("acceptance") + "; the CLI's manifest: " + manifest.get("counts") + ", "
                + manifest.get("acceptance"));
        assertThat(pairs).as("a reward that tells the candidates apart").isNotEmpty();
        // As JSON text: the same digits are the same doubles, and a count read back is an int where it was put as a long.
        assertThat(totals.get("counts").toString()).isEqualTo(manifest.get("counts").toString());
        assertThat(totals.get("acceptance").toString()).isEqualTo(manifest.get("acceptance").toString());
    }

    /** Prompts with a malformed line and a record without a prompt. */
    private Path badPrompts() throws IOException {
        Path prompts = tmp.resolve("bad.jsonl");
        List<String> lines = new ArrayList<>(SparkTests.prompts(8));
        lines.set(2, "{\"id\": \"broken\", \"prompt\": ");
        lines.set(5, "{\"id\": \"no-prompt\", \"answer\": \"3\"}");
        Files.write(prompts, lines);
        return prompts;
    }

    @Test
    void badRecordsUnderSkipGoToTheRejectsAsTheCliWritesThem() throws IOException {
        Path prompts = badPrompts();
        SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("cli.jsonl"), 2, SAMPLER, SAMPLING)
                .withOnError(ErrorPolicy.SKIP).withQuiet(true);
        try (Model m = Model.load(model(), ModelFile.of(model()).options())) {
            SampleJob.run(m, o);
        }

        JobRows rows = Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(model()), o);

        List<String> cliRejects = Files.readAllLines(RejectsWriter.pathFor(tmp.resolve("cli.jsonl")));
        List<String> sparkRejects = SparkTests.values(rows.rejects());
        System.out.println("skip: " + cliRejects.size() + " rejects from the CLI's job, " + sparkRejects.size() + " from Spark: " + sparkRejects);
        assertThat(cliRejects).hasSize(2);
        assertThat(sparkRejects).containsExactlyElementsOf(cliRejects);
        assertThat(SparkTests.assertSameRecords("skip, local[2]", SparkTests.byId(tmp.resolve("cli.jsonl")),
                SparkTests.values(rows.records()))).isEqualTo(6);
    }

    @Test
    void aBadRecordUnderFailStopsTheJobNamingFileAndLine() throws IOException {
        Path prompts = badPrompts();
        SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("out.jsonl"), 2, SAMPLER, SAMPLING).withQuiet(true);

        JobRows rows = Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(model()), o);

        assertThatThrownBy(() -> rows.records().count())
                .satisfies(e -> System.out.println("fail: " + rootMessage(e)))
                .satisfies(e -> assertThat(rootMessage(e)).startsWith(prompts + ":3: malformed JSON"));
    }

    @Test
    void aModelMissingOnTheExecutorsIsAClearError() throws IOException {
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(2));
        Path missing = tmp.resolve("no-such-model.gguf");
        SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("out.jsonl"), 2, SAMPLER, SAMPLING).withQuiet(true);

        JobRows rows = Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(), ModelFile.of(missing), o);

        assertThatThrownBy(() -> rows.records().count())
                .satisfies(e -> System.out.println("missing model: " + rootMessage(e)))
                .satisfies(e -> assertThat(rootMessage(e)).startsWith(missing + ": no such model file on executor"));
    }

    /** The message of the innermost cause: what the executor threw, under Spark's wrapping. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
