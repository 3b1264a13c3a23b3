package org.align4j.reward;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Objects;

/**
 * One prompt and the completions to reward.
 *
 * @param id           the record's id as a user would write it (its {@code id} field, else its 0-based line)
 * @param record       the input prompt record as read (all its fields, e.g. an "answer" field for match:)
 * @param promptText   the prompt as the model saw it (rendered with the chat template if conversational)
 * @param promptTokens (P,) token ids the policy saw, BOS included
 * @param completions  the completions to reward
 */
public record RewardInput(String id, ObjectNode record, String promptText, int[] promptTokens, List<Completion> completions) {
    public RewardInput {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(promptText, "promptText");
        Objects.requireNonNull(promptTokens, "promptTokens");
        completions = List.copyOf(completions);
    }
}
