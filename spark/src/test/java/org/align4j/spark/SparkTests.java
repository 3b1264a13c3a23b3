package org.align4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.align4j.data.Jsonl;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** What the Spark tests share: the demo model and its prompts, and the comparison of output records by id. */
final class SparkTests {
    private SparkTests() {}

    /** models/demo, found from the working folder upwards. */
    static Path demoDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models/demo/demo.gguf"))) {
                return p.resolve("models/demo");
            }
        }
        throw new AssertionError("no models/demo/demo.gguf above " + Path.of("").toAbsolutePath());
    }

    /** The first {@code n} held-out prompt records of the demo task. */
    static List<String> prompts(int n) throws IOException {
        return Files.readAllLines(demoDir().resolve("heldout.jsonl")).subList(0, n);
    }

    /** Output lines by their id's JSON text; an id seen twice fails. */
    static Map<String, String> byId(List<String> lines) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : lines) {
            String id = parse(line).get("id").toString();
            assertThat(out.put(id, line)).as("id " + id + " twice").isNull();
        }
        return out;
    }

    static Map<String, String> byId(Path jsonl) throws IOException {
        return byId(Files.readAllLines(jsonl));
    }

    /** The {@code value} column of rows ordered by (line, rank), collected in one job. */
    static List<String> values(Dataset<Row> rows) {
        return rows.collectAsList().stream()
                .sorted(Comparator.<Row>comparingLong(r -> r.getAs(Align4jSpark.LINE)).thenComparingInt(r -> r.getAs(Align4jSpark.RANK)))
                .map(r -> r.<String>getAs(Align4jSpark.VALUE))
                .toList();
    }

    /** Equal JSON, numbers compared as doubles: Spark reads the CLI's floats back as doubles of the same decimal text. */
    static boolean sameJson(JsonNode actual, JsonNode expected) {
        return actual.equals((a, b) -> a.isNumber() && b.isNumber() ? Double.compare(a.doubleValue(), b.doubleValue())
                : a.equals(b) ? 0 : 1, expected);
    }

    static JsonNode parse(String json) {
        try {
            return Jsonl.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }

    /**
     * Spark's records equal the CLI's: the same ids, each line the same bytes. Prints the figures.
     *
     * @return the records compared
     */
    static int assertSameRecords(String what, Map<String, String> cli, List<String> spark) {
        Map<String, String> got = byId(spark);
        System.out.println(what + ": " + cli.size() + " records from the CLI's job, " + got.size() + " from Spark, "
                + cli.keySet().stream().filter(id -> cli.get(id).equals(got.get(id))).count() + " byte for byte equal");
        assertThat(cli).as(what + ": the CLI wrote nothing").isNotEmpty();
        assertThat(got.keySet()).as(what + ": ids").containsExactlyInAnyOrderElementsOf(cli.keySet());
        for (String id : cli.keySet()) {
            assertThat(got.get(id)).as(what + ": record " + id).isEqualTo(cli.get(id));
        }
        return cli.size();
    }
}
