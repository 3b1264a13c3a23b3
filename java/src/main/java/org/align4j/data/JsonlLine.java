package org.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * One non-blank line of a JSONL file: a JSON object, or a line that is not one. A bad line is a value,
 * not an exception, so that the caller's {@link ErrorPolicy} decides whether it stops the run.
 */
public sealed interface JsonlLine permits JsonlLine.Parsed, JsonlLine.Malformed {
    Path file();

    /** 1-based physical line number, blank lines counted. */
    long lineNumber();

    /** {@code file:line}, the prefix of every message about this line. */
    default String location() {
        return file() + ":" + lineNumber();
    }

    /** A line holding one JSON object. */
    record Parsed(Path file, long lineNumber, ObjectNode node) implements JsonlLine {}

    /**
     * A line that is not a JSON object: invalid UTF-8, malformed JSON, or another JSON value.
     * {@code text} is the line as read (invalid bytes replaced), for the rejects file.
     */
    record Malformed(Path file, long lineNumber, String text, String reason) implements JsonlLine {
        /** {@code prompts.jsonl:17: malformed JSON at column 5: Unexpected character ...}. */
        public String message() {
            return location() + ": " + reason;
        }

        /** This line's problem as the exception {@link ErrorPolicy#FAIL} stops with. */
        public BadRecordException toException() {
            return new BadRecordException(file, lineNumber, reason);
        }
    }
}
