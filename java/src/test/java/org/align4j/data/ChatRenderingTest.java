package org.align4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatRenderingTest {
    /** A deterministic template: {@code <|role|>content\n} per message, {@code <|assistant|>} to open a reply. */
    static final ChatRenderer SIMPLE = (messages, addAssistantPrompt) -> {
        StringBuilder b = new StringBuilder();
        for (ChatMessage m : messages) {
            b.append("<|").append(m.role()).append("|>").append(m.content()).append('\n');
        }
        return addAssistantPrompt ? b.append("<|assistant|>").toString() : b.toString();
    };

    static JsonlLine.Parsed line(String json) {
        try {
            return new JsonlLine.Parsed(Path.of("d.jsonl"), 3, (ObjectNode) Jsonl.MAPPER.readTree(json));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void plainStringsPassThrough() {
        var r = (PromptCompletionRecord) TrlRecord.parse(line("{\"prompt\":\"2+2=\",\"completion\":\" 4\"}"));
        assertThat(r.render(null)).isEqualTo(new RenderedPair("2+2=", " 4"));
        assertThat(ChatRendering.renderPrompt(r, null)).isEqualTo("2+2=");
    }

    @Test
    void conversationalCompletionIsTheRenderMinusThePromptPrefix() {
        var r = (PreferenceRecord) TrlRecord.parse(line("""
                {"prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],
                 "chosen":[{"role":"assistant","content":"4"}],
                 "rejected":[{"role":"assistant","content":"5"}]}"""));
        // The suffix rule with this template: "<|assistant|>4\n" minus the "<|assistant|>" prefix.
        assertThat(r.renderChosen(SIMPLE)).isEqualTo(new RenderedPair("<|system|>Be brief.\n<|user|>2+2?\n<|assistant|>", "4\n"));
        assertThat(r.renderRejected(SIMPLE).completionText()).isEqualTo("5\n");
        assertThat(ChatRendering.renderPrompt(r, SIMPLE)).isEqualTo("<|system|>Be brief.\n<|user|>2+2?\n<|assistant|>");
    }

    @Test
    void plainCompletionAfterConversationalPromptIsTheRawAssistantText() {
        var r = (PromptCompletionRecord) TrlRecord.parse(line(
                "{\"prompt\":[{\"role\":\"user\",\"content\":\"hi\"}],\"completion\":\"hello\"}"));
        assertThat(r.render(SIMPLE)).isEqualTo(new RenderedPair("<|user|>hi\n<|assistant|>", "hello"));
    }

    @Test
    void prefixMismatchIsAnErrorNamingTheRecord() {
        // A template whose generation prompt differs from how it renders an assistant turn.
        ChatRenderer inconsistent = (messages, addAssistantPrompt) -> {
            StringBuilder b = new StringBuilder();
            for (ChatMessage m : messages) {
                b.append(m.role().equals("assistant") ? "<|bot|>" : "<|" + m.role() + "|>").append(m.content()).append('\n');
            }
            return addAssistantPrompt ? b.append("<|assistant|>").toString() : b.toString();
        };
        var r = (PreferenceRecord) TrlRecord.parse(line("""
                {"prompt":[{"role":"user","content":"2+2?"}],
                 "chosen":[{"role":"assistant","content":"4"}],"rejected":[{"role":"assistant","content":"5"}]}"""));
        assertThatThrownBy(() -> r.renderRejected(inconsistent)).isInstanceOf(BadRecordException.class)
                .hasMessageStartingWith("d.jsonl:3: chat template: prompt + \"rejected\" renders to text that does not start with the rendered prompt")
                .hasMessageContaining("differ at character 15: prompt has \"assistant|>\", prompt + rejected has \"bot|>5\\n\"");
    }

    @Test
    void emptyRenderedCompletionIsAnError() {
        ChatRenderer dropsAssistant = (messages, add) -> SIMPLE.render(
                messages.stream().filter(m -> !m.role().equals("assistant")).toList(), add);
        ChatRenderer noPrompt = (messages, add) -> dropsAssistant.render(messages, false);
        var r = (PromptCompletionRecord) TrlRecord.parse(line(
                "{\"prompt\":[{\"role\":\"user\",\"content\":\"hi\"}],\"completion\":[{\"role\":\"assistant\",\"content\":\"yo\"}]}"));
        assertThatThrownBy(() -> r.render(noPrompt)).isInstanceOf(BadRecordException.class)
                .hasMessage("d.jsonl:3: chat template: \"completion\" renders to empty text: nothing to score");
    }

    @Test
    void conversationalCompletionNeedsConversationalPromptAndATemplate() {
        var mixed = (PromptCompletionRecord) TrlRecord.parse(line(
                "{\"prompt\":\"hi\",\"completion\":[{\"role\":\"assistant\",\"content\":\"yo\"}]}"));
        assertThatThrownBy(() -> mixed.render(SIMPLE)).isInstanceOf(BadRecordException.class)
                .hasMessageStartingWith("d.jsonl:3: \"prompt\" is a string but \"completion\" is a list of messages");
        var chat = TrlRecord.parse(line("{\"prompt\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        assertThatThrownBy(() -> ChatRendering.renderPrompt(chat, null)).isInstanceOf(BadRecordException.class)
                .hasMessage("d.jsonl:3: conversational \"prompt\" needs a chat template, and none was given");
        assertThat(ChatRendering.renderPrompt(chat, SIMPLE)).isEqualTo("<|user|>hi\n<|assistant|>");
        assertThat(((Content.Conversation) chat.prompt()).messages()).containsExactly(new ChatMessage("user", "hi"));
        assertThat(List.of(chat.kind())).containsExactly(RecordKind.PROMPT);
    }
}
