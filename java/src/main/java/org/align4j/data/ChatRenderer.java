package org.align4j.data;

import java.util.List;

/**
 * A model's chat template: the {@code llama} package implements it with the template a GGUF carries;
 * this package only needs the function.
 */
@FunctionalInterface
public interface ChatRenderer {
    /**
     * The messages as the model sees them. With {@code addAssistantPrompt}, the text that opens an
     * assistant turn is appended (Hugging Face's {@code add_generation_prompt}).
     */
    String render(List<ChatMessage> messages, boolean addAssistantPrompt);
}
