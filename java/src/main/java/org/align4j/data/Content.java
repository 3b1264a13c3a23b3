package org.align4j.data;

import java.util.List;

/**
 * The value of a {@code prompt}, {@code completion}, {@code chosen} or {@code rejected} field: plain text
 * (TRL's standard format) or a list of messages (TRL's conversational format).
 */
public sealed interface Content permits Content.Text, Content.Conversation {
    record Text(String text) implements Content {}

    record Conversation(List<ChatMessage> messages) implements Content {
        public Conversation {
            messages = List.copyOf(messages);
        }
    }

    default boolean isConversational() {
        return this instanceof Conversation;
    }
}
