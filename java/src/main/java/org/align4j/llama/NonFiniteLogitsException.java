package org.align4j.llama;

import java.nio.file.Path;
import org.align4j.Align4jException;

/**
 * Logits of the last decode with a NaN or an infinity in them (their log-sum-exp is not finite), found by
 * the native kernels before any number or token from them is handed out. {@link #index()} says which of
 * the call's draws or (row, target) pairs it was, so that the engine can name the request.
 */
public final class NonFiniteLogitsException extends Align4jException {
    private final Path model;
    private final int index;

    NonFiniteLogitsException(Path model, int row, int index) {
        super("model " + model + " gives non-finite logits (NaN or infinity) at output row " + row
                + " of the last batch: its weights may hold NaN or infinity");
        this.model = model;
        this.index = index;
    }

    /** The model file. */
    public Path model() {
        return model;
    }

    /** The call's draw, or (row, target) pair, whose logits are not finite; 0 for a one-row call. */
    public int index() {
        return index;
    }
}
