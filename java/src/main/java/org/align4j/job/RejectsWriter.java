package org.align4j.job;

import org.align4j.data.BadRecordException;
import org.align4j.data.Jsonl;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlWriter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * The {@code --on-error skip} log: one {@code {"line": N, "error": "file:line: cause", "record": ...}} per
 * skipped input line, {@code record} being the parsed object or, for a line that did not parse, its
 * text. The file is {@link #pathFor(Path) OUT.rejects.jsonl} and is created only when the first line is
 * rejected, so a clean run leaves none.
 */
public final class RejectsWriter implements AutoCloseable {
    static final String LINE = "line";
    static final String ERROR = "error";
    static final String RECORD = "record";

    private final Path file;
    private JsonlWriter writer; // opened (appending) at the first rejected line

    private RejectsWriter(Path file) {
        this.file = file;
    }

    /** A log that replaces any earlier one (a fresh run). */
    public static RejectsWriter create(Path output) {
        Path file = pathFor(output);
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot remove the old rejects file: " + IoMessages.describe(e), e);
        }
        return new RejectsWriter(file);
    }

    /** A log that goes on after an existing one ({@code --resume}, after {@link ResumeState#scan}). */
    public static RejectsWriter append(Path output) {
        return new RejectsWriter(pathFor(output));
    }

    /** {@code scores.jsonl} -> {@code scores.rejects.jsonl}; a name not ending in {@code .jsonl} gets the suffix appended. */
    public static Path pathFor(Path output) {
        String name = output.getFileName().toString();
        String stem = name.endsWith(".jsonl") ? name.substring(0, name.length() - ".jsonl".length()) : name;
        return output.resolveSibling(stem + ".rejects.jsonl");
    }

    public Path file() {
        return file;
    }

    public long written() {
        return writer == null ? 0 : writer.written();
    }

    /** A line that is not a JSON object. */
    public void reject(JsonlLine.Malformed line) {
        write(line.lineNumber(), line.message(), Jsonl.MAPPER.getNodeFactory().textNode(line.text()));
    }

    /** A parsed line whose record is bad (a missing field, a chat-template mismatch, a sequence too long...). */
    public void reject(BadRecordException e, JsonlLine.Parsed line) {
        write(line.lineNumber(), e.getMessage(), line.node());
    }

    /** Either kind of bad line, with why it was refused. */
    public void reject(JsonlLine line, BadRecordException e) {
        switch (line) {
            case JsonlLine.Malformed bad -> reject(bad);
            case JsonlLine.Parsed parsed -> reject(e, parsed);
        }
    }

    public void write(long lineNumber, String error, JsonNode record) {
        ObjectNode o = Jsonl.MAPPER.createObjectNode();
        o.put(LINE, lineNumber);
        o.put(ERROR, error);
        o.set(RECORD, record);
        if (writer == null) {
            writer = JsonlWriter.append(file);
        }
        writer.write(o);
    }

    @Override
    public void close() {
        if (writer != null) {
            writer.close();
        }
    }
}
