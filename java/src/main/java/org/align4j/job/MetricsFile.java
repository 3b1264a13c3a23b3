package org.align4j.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.AtomicFile;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.data.JsonlWriter;

/**
 * A training run's metrics file: one JSON line per optimizer step, each with its 1-based {@code "step"}.
 * A resumed run keeps the lines up to the step it resumes at (a crash may have left later ones) and
 * appends; the plot reads every complete line back.
 */
public final class MetricsFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MetricsFile() {}

    /** Fresh ({@code start} 0): a new file. Resumed at step {@code start}: the lines of steps <= start kept, then appended to. */
    public static JsonlWriter open(Path file, int start) {
        if (start == 0) {
            return JsonlWriter.create(file);
        }
        List<String> kept = new ArrayList<>();
        for (JsonNode line : read(file)) {
            if (line.get("step").asInt() <= start) {
                kept.add(line.toString());
            }
        }
        try {
            AtomicFile.write(file, tmp -> Files.write(tmp, kept, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot rewrite for --resume: " + IoMessages.describe(e), e);
        }
        return JsonlWriter.append(file);
    }

    /** Every complete line of the file with a step (a torn last line is left out); none if there is no file. */
    public static List<JsonNode> read(Path file) {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        try {
            for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                try {
                    JsonNode n = JSON.readTree(l);
                    if (n != null && n.has("step")) {
                        out.add(n);
                    }
                } catch (IOException torn) {
                    // the line a crash cut short
                }
            }
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot read: " + IoMessages.describe(e), e);
        }
        return out;
    }

    /** {@code M.metrics.png} beside {@code M.metrics.jsonl}. */
    public static Path plotFor(Path file) {
        String name = file.getFileName().toString();
        return file.resolveSibling((name.endsWith(".jsonl") ? name.substring(0, name.length() - 6) : name) + ".png");
    }
}
