package org.align4j.llama;

import org.align4j.Align4jException;

/** A failed {@code llama_decode}, with llama.h's return code as a {@link Status}. */
public final class DecodeException extends Align4jException {
    /** llama_decode's return codes. */
    public enum Status {
        /** 1: no KV slot for the batch; recoverable with a smaller batch or a larger context. */
        NO_KV_SLOT,
        /** 2: aborted by the abort callback. */
        ABORTED,
        /** -1: the batch is invalid (bad token id, position or sequence id). */
        INVALID_BATCH,
        /** anything else: a fatal error inside llama.cpp. */
        FATAL;

        static Status of(int code) {
            return switch (code) {
                case 1 -> NO_KV_SLOT;
                case 2 -> ABORTED;
                case -1 -> INVALID_BATCH;
                default -> FATAL;
            };
        }
    }

    private final Status status;
    private final int code;

    DecodeException(int code, String detail) {
        super("llama_decode failed with " + code + " (" + Status.of(code) + ")" + (detail.isEmpty() ? "" : ": " + detail));
        this.status = Status.of(code);
        this.code = code;
    }

    public Status status() {
        return status;
    }

    public int code() {
        return code;
    }

    /** True when the same work can succeed after freeing KV cells or splitting the batch. */
    public boolean recoverable() {
        return status == Status.NO_KV_SLOT;
    }
}
