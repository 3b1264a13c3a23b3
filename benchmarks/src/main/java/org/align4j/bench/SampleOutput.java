package org.align4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What {@code align4j sample} wrote, as lines: its JSONL file, or the JSONL folder Spark's {@code SparkMain} writes
 * (its part files in order, which are the CLI's file); and the check that every completion is exactly as long as
 * asked ({@code --ignore-eos}), so that generated tokens can be counted from the output.
 */
final class SampleOutput {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SampleOutput() {}

    /** The records of {@code output}: a JSONL file, or a folder of {@code part-*} files read in name order. */
    static List<String> lines(Path output) {
        try {
            if (!Files.isDirectory(output)) {
                return Files.readAllLines(output, StandardCharsets.UTF_8);
            }
            List<Path> parts;
            try (Stream<Path> files = Files.list(output)) {
                parts = files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList();
            }
            List<String> lines = new ArrayList<>();
            for (Path part : parts) {
                lines.addAll(Files.readAllLines(part, StandardCharsets.UTF_8));
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The number of completions in {@code lines} (read from {@code output}), each checked to hold exactly
     * {@code tokens} tokens and to have ended by length; fails naming the first that does not.
     */
    static long exactLengthCompletions(Path output, List<String> lines, int tokens) {
        long completions = 0;
        for (String line : lines) {
            JsonNode record;
            try {
                record = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(output + ": a record that is not JSON: " + line, e);
            }
            for (JsonNode c : record.get("completions")) {
                if (c.get("token_ids").size() != tokens || !c.get("finish_reason").asText().equals("length")) {
                    throw new IllegalStateException(output + ": a completion of " + c.get("token_ids").size() + " tokens ended by "
                            + c.get("finish_reason") + ", not " + tokens + " by length");
                }
                completions++;
            }
        }
        return completions;
    }
}
