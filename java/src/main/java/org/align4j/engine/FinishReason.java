package org.align4j.engine;

import java.util.Locale;

/** Why a sampled completion ended; written as {@link #jsonName()} ({@code "eos"}, {@code "stop"}, {@code "length"}). */
public enum FinishReason {
    /** An end-of-generation token (EOS, EOT, or another the model marks) was sampled; it is the last token. */
    EOS,
    /** The text came to contain a stop string; the text is cut before it. */
    STOP,
    /** The completion reached {@code maxTokens} tokens. */
    LENGTH;

    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
