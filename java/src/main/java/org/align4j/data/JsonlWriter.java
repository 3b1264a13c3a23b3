package org.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * Writes one JSON value per line (UTF-8, compact) and flushes each to the operating system as it is
 * written: each record goes out in a single write of its bytes and {@code '\n'}, so a crashed run loses
 * at most the record being written, and {@link ResumeState} cuts off that partial line. (Flushing is not
 * {@code fsync}: a power failure may lose more.)
 */
public final class JsonlWriter implements AutoCloseable {
    private final Path file;
    private final OutputStream out;
    private long written;
    private boolean closed;

    private JsonlWriter(Path file, OutputStream out) {
        this.file = file;
        this.out = out;
    }

    /** Creates or truncates {@code file}. */
    public static JsonlWriter create(Path file) {
        return open(file, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** Appends to {@code file}, creating it if absent: after {@link ResumeState#scan} for {@code --resume}. */
    public static JsonlWriter append(Path file) {
        return open(file, StandardOpenOption.APPEND);
    }

    private static JsonlWriter open(Path file, StandardOpenOption mode) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            return new JsonlWriter(file, Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode));
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot open for writing: " + IoMessages.describe(e), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Records written by this writer (not those already in an appended-to file). */
    public long written() {
        return written;
    }

    public void write(JsonNode record) {
        if (closed) {
            throw new IllegalStateException(file + ": writer is closed");
        }
        byte[] json;
        try {
            json = Jsonl.MAPPER.writeValueAsBytes(record);
        } catch (JsonProcessingException e) {
            throw new Align4jException(file + ": cannot serialize record " + (written + 1) + ": " + e.getOriginalMessage(), e);
        }
        byte[] line = Arrays.copyOf(json, json.length + 1);
        line[json.length] = '\n';
        try {
            out.write(line);
            out.flush();
        } catch (IOException e) {
            throw new Align4jException(file + ": write failed after " + written + " records: " + IoMessages.describe(e), e);
        }
        written++;
    }

    /** Closes the file; safe to call twice. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.close();
        } catch (IOException e) {
            throw new Align4jException(file + ": close failed: " + IoMessages.describe(e), e);
        }
    }
}
