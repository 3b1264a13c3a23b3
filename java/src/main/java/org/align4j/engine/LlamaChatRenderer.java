package org.align4j.engine;

import org.align4j.data.ChatMessage;
import org.align4j.data.ChatRenderer;

import java.util.List;
import org.align4j.llama.Model;

/** Renders conversations with a model's own chat template, through llama.cpp. */
public record LlamaChatRenderer(Model model) implements ChatRenderer {
    @Override
    public String render(List<ChatMessage> messages, boolean addAssistantPrompt) {
        return model.applyChatTemplate(
                messages.stream().map(ChatMessage::role).toArray(String[]::new),
                messages.stream().map(ChatMessage::content).toArray(String[]::new),
                addAssistantPrompt);
    }
}
