package org.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Which TRL record an object is, by the fields it has; {@link TrlRecord#parse} then checks them. */
public enum RecordKind {
    /** {@code prompt}, {@code chosen}, {@code rejected}. */
    PREFERENCE,
    /** {@code prompt}, {@code completion}. */
    PROMPT_COMPLETION,
    /** {@code prompt} only. */
    PROMPT;

    /** Preference if it has both chosen and rejected, else prompt-completion if it has completion, else prompt. */
    public static RecordKind of(ObjectNode node) {
        if (node.has(Fields.CHOSEN) && node.has(Fields.REJECTED)) {
            return PREFERENCE;
        }
        return node.has(Fields.COMPLETION) ? PROMPT_COMPLETION : PROMPT;
    }
}
