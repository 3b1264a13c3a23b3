package org.align4j.reward;

import org.align4j.Align4jException;

/**
 * A reward that failed for one record: it crashed, timed out, answered garbage, gave the wrong number of
 * values or a non-finite one. The message names the record by its id and a completion as "completion K of
 * N" (1-based), in every job. The run stops; what was written before the record stays, and
 * {@code --resume} goes on from it.
 */
public class RewardException extends Align4jException {
    public RewardException(String message) {
        super(message);
    }

    public RewardException(String message, Throwable cause) {
        super(message, cause);
    }
}
