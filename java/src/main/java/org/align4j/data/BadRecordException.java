package org.align4j.data;

import java.nio.file.Path;
import org.align4j.Align4jException;

/**
 * One input line that cannot be used: its message is {@code file:line: reason}. Under
 * {@code --on-error skip} a job catches it and writes {@link #reason()} to the rejects file.
 */
public final class BadRecordException extends Align4jException {
    private final Path file;
    private final long lineNumber;
    private final String reason;

    public BadRecordException(Path file, long lineNumber, String reason) {
        super(file + ":" + lineNumber + ": " + reason);
        this.file = file;
        this.lineNumber = lineNumber;
        this.reason = reason;
    }

    public Path file() {
        return file;
    }

    /** 1-based physical line number. */
    public long lineNumber() {
        return lineNumber;
    }

    /** The cause alone, without {@code file:line}. */
    public String reason() {
        return reason;
    }
}
