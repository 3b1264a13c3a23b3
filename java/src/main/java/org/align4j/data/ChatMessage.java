package org.align4j.data;

import java.util.Objects;

/** One turn of a conversation, as TRL's conversational format has it: {@code {"role", "content"}}. */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
