package org.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * Streams a UTF-8 JSONL file one line at a time, in memory bounded by the longest line. Blank lines are
 * skipped (they still count for line numbers); every other line comes out as a {@link JsonlLine}: a
 * parsed object or a {@link JsonlLine.Malformed} value naming file, line and cause. Only a file that
 * cannot be opened or read throws. Single pass; close it (try-with-resources).
 */
public final class JsonlReader implements Iterable<JsonlLine>, AutoCloseable {
    private static final int BOM_LENGTH = 3;

    private final Path file;
    private final InputStream in;
    private final ByteLines lines;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private boolean iterated;

    private JsonlReader(Path file, InputStream in) {
        this.file = file;
        this.in = in;
        this.lines = new ByteLines(in);
    }

    /** Opens {@code file}; a missing, unreadable or directory path is an {@link Align4jException} naming it. */
    public static JsonlReader open(Path file) {
        return new JsonlReader(file, openStream(file));
    }

    public static InputStream openStream(Path file) {
        if (Files.isDirectory(file)) {
            throw new Align4jException(file + ": is a directory, not a JSONL file");
        }
        try {
            return Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new Align4jException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new Align4jException(file + ": permission denied", e);
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot open: " + IoMessages.describe(e), e);
        }
    }

    /**
     * The number of non-blank lines in {@code file}: a job's total for progress and ETA. One pass over
     * the bytes, no parsing; call it only where reading the file twice is cheap next to the job.
     */
    public static long countNonBlankLines(Path file) {
        return countNonBlankLinesAfter(file, 0);
    }

    /** The non-blank lines after 1-based line {@code line}: what a job resumed there has left. */
    public static long countNonBlankLinesAfter(Path file, long line) {
        try (InputStream in = openStream(file)) {
            ByteLines l = new ByteLines(in);
            long n = 0;
            while (l.next()) {
                if (l.number() > line && !l.isBlank()) {
                    n++;
                }
            }
            return n;
        } catch (IOException e) {
            throw new Align4jException(file + ": read failed: " + IoMessages.describe(e), e);
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public Iterator<JsonlLine> iterator() {
        if (iterated) {
            throw new IllegalStateException(file + ": a JsonlReader can be iterated once");
        }
        iterated = true;
        return new Iterator<>() {
            private JsonlLine next;

            @Override
            public boolean hasNext() {
                if (next == null) {
                    next = readNext();
                }
                return next != null;
            }

            @Override
            public JsonlLine next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                JsonlLine l = next;
                next = null;
                return l;
            }
        };
    }

    public Stream<JsonlLine> stream() {
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(iterator(), Spliterator.ORDERED | Spliterator.NONNULL), false);
    }

    private JsonlLine readNext() {
        try {
            while (lines.next()) {
                if (!lines.isBlank()) {
                    return parse();
                }
            }
            return null;
        } catch (IOException e) {
            throw new Align4jException(file + ":" + (lines.number() + 1) + ": read failed: " + IoMessages.describe(e), e);
        }
    }

    private JsonlLine parse() {
        long number = lines.number();
        byte[] b = lines.bytes();
        int from = 0;
        if (number == 1 && lines.length() >= BOM_LENGTH && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF) {
            from = BOM_LENGTH;
        }
        String text;
        try {
            text = utf8.decode(ByteBuffer.wrap(b, from, lines.length() - from)).toString();
        } catch (CharacterCodingException e) {
            String lenient = new String(b, from, lines.length() - from, StandardCharsets.UTF_8);
            return new JsonlLine.Malformed(file, number, lenient, "not valid UTF-8");
        }
        JsonNode node;
        try {
            node = Jsonl.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return new JsonlLine.Malformed(file, number, text, Jsonl.describe(e));
        }
        if (node instanceof ObjectNode object) {
            return new JsonlLine.Parsed(file, number, object);
        }
        return new JsonlLine.Malformed(file, number, text, "not a JSON object (a JSON " + Jsonl.typeName(node) + ")");
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            throw new Align4jException(file + ": close failed: " + IoMessages.describe(e), e);
        }
    }
}
