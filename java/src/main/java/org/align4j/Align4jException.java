package org.align4j;

/**
 * A failure the user can act on: a missing or unreadable file, a malformed record, a model that does
 * not fit. The message names the file (and line, where there is one) and the cause; the CLI prints it
 * without a stack trace and exits 1.
 */
public class Align4jException extends RuntimeException {
    public Align4jException(String message) {
        super(message);
    }

    public Align4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
