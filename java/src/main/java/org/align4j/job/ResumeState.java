package org.align4j.job;

import org.align4j.data.BadRecordException;
import org.align4j.data.ByteLines;
import org.align4j.data.Fields;
import org.align4j.data.Jsonl;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.RecordId;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * What an interrupted run already did, for {@code --resume}: the ids in its output and the input lines in
 * its rejects file. {@link #scan} first cuts each file back to its last complete line (a crash can leave
 * the line being written unterminated or unparseable), so the job appends cleanly after it.
 *
 * <p>The job then skips every input record whose id is {@link #isDone done} and every line already
 * {@link #isRejected rejected} ({@link #finished}), and processes the rest. Jobs write in input order, so
 * finished lines are a prefix of the input and the resumed output is in input order too; a job resuming by
 * {@link InputSegments} replays the end of that prefix, the part in the segment it goes on in
 * ({@link RecordLoop}). A job that reorders its writes would give up both.
 */
public record ResumeState(Set<RecordId> doneIds, long records, Set<Long> rejectedLines, long rejects,
                          long droppedBytes, long linesDone) {
    public ResumeState {
        doneIds = Set.copyOf(doneIds);
        rejectedLines = Set.copyOf(rejectedLines);
    }

    /** Nothing done: no output yet. */
    public static ResumeState empty() {
        return new ResumeState(Set.of(), 0, Set.of(), 0, 0, 0);
    }

    /** Every input line up to 1-based {@code line} done, whatever its id: a job resumed from a {@link ResumePoint}. */
    public static ResumeState afterLine(long line) {
        return new ResumeState(Set.of(), 0, Set.of(), 0, 0, line);
    }

    /**
     * Reads {@code output} and its {@link RejectsWriter#pathFor rejects file} (either may be absent),
     * truncating a partial last line of each.
     *
     * @throws Align4jException if a line other than the last is not a JSON object, or an output record
     *     has no {@code id}: the file was not left by an interrupted align4j run, and resuming would guess
     */
    public static ResumeState scan(Path output) {
        return scan(output, (where, record) -> { });
    }

    /**
     * As {@link #scan(Path)}, handing each complete output record to {@code done}, in file order, as it is
     * read: a job that keeps a tally over its output (bon's reward curve) picks up the earlier run's part.
     */
    public static ResumeState scan(Path output, RecordSink done) {
        Set<RecordId> ids = new HashSet<>();
        long[] records = {0};
        long dropped = scanFile(output, (where, node) -> {
            JsonNode id = node.get(Fields.ID);
            if (id == null || !(id.isTextual() || id.isIntegralNumber())) {
                throw new Align4jException(where + ": no string or integer \"id\", so which input record it came from"
                        + " is unknown: not resuming (align4j writes an id on every output record)");
            }
            ids.add(new RecordId(id));
            records[0]++;
            done.accept(where, node);
        });
        Set<Long> lines = new HashSet<>();
        long[] rejects = {0};
        dropped += scanFile(RejectsWriter.pathFor(output), (where, node) -> {
            JsonNode line = node.get(RejectsWriter.LINE);
            if (line == null || !line.isIntegralNumber()) {
                throw new Align4jException(where + ": no integer \"line\": not a rejects record; not resuming");
            }
            lines.add(line.longValue());
            rejects[0]++;
        });
        return new ResumeState(ids, records[0], lines, rejects[0], dropped, 0);
    }

    /** Takes one complete output record, {@code where} being {@code file:line}; throws if it cannot be resumed from. */
    @FunctionalInterface
    public interface RecordSink {
        void accept(String where, JsonNode record);
    }

    /** Takes one complete line's object; throws if it cannot be resumed from. */
    private interface LineSink {
        void accept(String where, JsonNode node);
    }

    /** Scans one file; returns the bytes cut off its end. */
    private static long scanFile(Path file, LineSink sink) {
        if (!Files.exists(file)) {
            return 0;
        }
        long keep = 0; // end of the last complete line
        long size;
        try (InputStream in = JsonlReader.openStream(file)) {
            ByteLines lines = new ByteLines(in);
            String partial = null; // a line cut short: fatal unless it is the last one
            while (lines.next()) {
                if (partial != null) {
                    throw new Align4jException(partial + "; only the last line of an interrupted run's output can be"
                            + " partial, so this file is damaged or not align4j output: not resuming");
                }
                if (lines.isBlank()) {
                    if (lines.terminated()) {
                        keep = lines.endOffset();
                    }
                    continue;
                }
                String where = file + ":" + lines.number();
                if (!lines.terminated()) {
                    partial = where + ": unterminated";
                    continue;
                }
                JsonNode node = parse(lines);
                if (node == null) {
                    partial = where + ": not a JSON object";
                    continue;
                }
                sink.accept(where, node);
                keep = lines.endOffset();
            }
            size = lines.endOffset();
        } catch (IOException e) {
            throw new Align4jException(file + ": read failed: " + IoMessages.describe(e), e);
        }
        if (keep < size) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(keep);
            } catch (IOException e) {
                throw new Align4jException(file + ": cannot cut off the partial last line: " + IoMessages.describe(e), e);
            }
        }
        return size - keep;
    }

    /** The line's object, or null if it is not one. */
    private static JsonNode parse(ByteLines lines) {
        try {
            JsonNode node = Jsonl.MAPPER.readTree(new String(lines.bytes(), 0, lines.length(), StandardCharsets.UTF_8));
            return node.isObject() ? node : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    public boolean isDone(RecordId id) {
        return doneIds.contains(id);
    }

    /** Whether 1-based input line {@code lineNumber} is at or before the {@link #afterLine resume point}. */
    public boolean isDoneLine(long lineNumber) {
        return lineNumber <= linesDone;
    }

    /** Whether 1-based input line {@code lineNumber} is already in the rejects file. */
    public boolean isRejected(long lineNumber) {
        return rejectedLines.contains(lineNumber);
    }

    /** Whether the earlier run finished {@code line}: wrote its record or rejected it, or committed past it. */
    public boolean finished(JsonlLine line) {
        if (isDoneLine(line.lineNumber()) || isRejected(line.lineNumber())) {
            return true;
        }
        if (!(line instanceof JsonlLine.Parsed parsed) || doneIds.isEmpty()) {
            return false;
        }
        try {
            return isDone(RecordId.of(parsed));
        } catch (BadRecordException e) {
            return false;
        }
    }
}
