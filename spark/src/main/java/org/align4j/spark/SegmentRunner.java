package org.align4j.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.data.Jsonl;
import org.align4j.job.InputSegments;
import org.align4j.job.RejectsWriter;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * A task's work: its partition's input lines, sorted by line number and holding whole segments, go through the
 * job one segment at a time. Each segment is written to a scratch JSONL file at its own line numbers (blank lines
 * before it), so that ids, segment boundaries and messages are the CLI's; the job runs on it with a fresh engine,
 * as the CLI restarts its engine there; and the segment's output and rejects come back as rows before the next
 * segment is read. Memory is bounded by one segment. Messages name {@code source}, not the scratch file.
 */
final class SegmentRunner implements MapPartitionsFunction<Row, Row> {
    private final SparkJob job;
    private final String source;
    private final String nativeDir;

    SegmentRunner(SparkJob job, String source, String nativeDir) {
        this.job = job;
        this.source = source;
        this.nativeDir = nativeDir;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> lines) {
        InputSegments segments = job.segments();
        return new Iterator<>() {
            private Row pending; // the first line of the next segment, read ahead
            private Iterator<Row> out = List.<Row>of().iterator();

            @Override
            public boolean hasNext() {
                while (!out.hasNext() && (pending != null || lines.hasNext())) {
                    List<Row> segment = new ArrayList<>();
                    Row first = pending != null ? pending : lines.next();
                    pending = null;
                    segment.add(first);
                    long at = segments.of(line(first));
                    while (lines.hasNext()) {
                        Row next = lines.next();
                        if (segments.of(line(next)) != at) {
                            pending = next;
                            break;
                        }
                        segment.add(next);
                    }
                    out = run(segment).iterator();
                }
                return out.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return out.next();
            }
        };
    }

    private static long line(Row row) {
        return row.getLong(row.fieldIndex(Align4jSpark.LINE));
    }

    private static String value(Row row) {
        return row.getString(row.fieldIndex(Align4jSpark.VALUE));
    }

    /** One segment through the job: its output rows (input order), then its rejects, then its acceptance lines (rso). */
    private List<Row> run(List<Row> segment) {
        Path scratch;
        try {
            scratch = Files.createTempDirectory("align4j-spark-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a scratch folder for a segment of " + source, e);
        }
        try {
            Path input = scratch.resolve("input.jsonl");
            Path output = scratch.resolve("output.jsonl");
            writeAtLineNumbers(segment, input);
            try {
                job.run(input, output, nativeDir);
            } catch (Align4jException e) {
                throw new Align4jException(e.getMessage().replace(input.toString(), source));
            }
            List<Row> rows = outputRows(segment, output);
            rows.addAll(rejectRows(RejectsWriter.pathFor(output), input));
            Path acceptance = job.acceptanceLog(output);
            if (acceptance != null && Files.exists(acceptance)) {
                for (String text : readLines(acceptance)) {
                    rows.add(RowFactory.create(parse(text).get("line").asLong(), 0, Align4jSpark.ACCEPTANCE, text));
                }
            }
            return rows;
        } finally {
            deleteTree(scratch);
        }
    }

    private void writeAtLineNumbers(List<Row> segment, Path file) {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            long written = 0;
            for (Row row : segment) {
                for (long l = written + 1; l < line(row); l++) {
                    w.write('\n');
                }
                w.write(value(row));
                w.write('\n');
                written = line(row);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a segment of " + source + " to " + file, e);
        }
    }

    /** The output records with the line of the input record each came from, numbered within that line. */
    private List<Row> outputRows(List<Row> segment, Path output) {
        Map<String, Long> lineOfId = new HashMap<>(); // an input id's JSON text -> its line
        for (Row row : segment) {
            JsonNode id = inputId(row);
            if (id != null) {
                lineOfId.putIfAbsent(id.toString(), line(row));
            }
        }
        List<Row> rows = new ArrayList<>();
        if (!Files.exists(output)) {
            return rows;
        }
        Map<Long, Integer> rank = new HashMap<>();
        for (String text : readLines(output)) {
            JsonNode id = parse(text).get(job.inputIdField());
            Long line = id == null ? null : lineOfId.get(id.toString());
            if (line == null) {
                throw new IllegalStateException(output + ": an output record whose " + job.inputIdField() + " is no input's: " + text);
            }
            rows.add(RowFactory.create(line, rank.merge(line, 1, Integer::sum) - 1, Align4jSpark.RECORDS, text));
        }
        return rows;
    }

    /** The id the job gives the record on this row: its {@code id}, else its 0-based line number; null if it does not parse. */
    private static JsonNode inputId(Row row) {
        String text = value(row);
        if (text.isBlank()) {
            return null;
        }
        try {
            JsonNode node = Jsonl.MAPPER.readTree(text);
            if (!(node instanceof ObjectNode object)) {
                return null;
            }
            JsonNode id = object.get("id");
            return id != null ? id : Jsonl.MAPPER.getNodeFactory().numberNode(line(row) - 1);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** The rejects file's lines, their messages naming {@code source}. */
    private List<Row> rejectRows(Path rejects, Path input) {
        List<Row> rows = new ArrayList<>();
        if (!Files.exists(rejects)) {
            return rows;
        }
        for (String text : readLines(rejects)) {
            ObjectNode reject = (ObjectNode) parse(text);
            reject.put("error", reject.get("error").asText().replace(input.toString(), source));
            rows.add(RowFactory.create(reject.get("line").asLong(), 0, Align4jSpark.REJECTS, reject.toString()));
        }
        return rows;
    }

    private static JsonNode parse(String text) {
        try {
            return Jsonl.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the job wrote a line that is not JSON: " + text, e);
        }
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the scratch folder " + dir, e);
        }
    }
}
