package org.align4j.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a record's fields into model text, by TRL's rules. Plain strings pass through unchanged. A
 * conversational prompt is rendered with the assistant prompt appended. For a conversational completion,
 * the completion text is {@code render(prompt + completion)} minus its prefix
 * {@code render(prompt, addAssistantPrompt=true)}; a template for which that is not a prefix cannot split
 * a conversation into prompt and completion, and that is an error naming the record.
 */
public final class ChatRendering {
    private ChatRendering() {}

    /** The prompt as model text; {@code renderer} may be null when no prompt is conversational. */
    public static String renderPrompt(TrlRecord record, ChatRenderer renderer) {
        return switch (record.prompt()) {
            case Content.Text t -> t.text();
            case Content.Conversation c -> require(record, renderer).render(c.messages(), true);
        };
    }

    /**
     * The prompt and {@code completion} (the record's completion, chosen or rejected) as model text. A
     * plain-text completion after a conversational prompt is taken as the assistant's raw text (what
     * {@code sample} writes); a conversational completion after a plain-text prompt is an error.
     */
    public static RenderedPair render(TrlRecord record, Content completion, ChatRenderer renderer) {
        String field = fieldOf(record, completion);
        return switch (record.prompt()) {
            case Content.Text p -> switch (completion) {
                case Content.Text c -> new RenderedPair(p.text(), c.text());
                case Content.Conversation c -> throw Fields.bad(record.line(), "\"prompt\" is a string but \"" + field
                        + "\" is a list of messages: a conversational completion needs a conversational prompt");
            };
            case Content.Conversation p -> {
                ChatRenderer r = require(record, renderer);
                String prompt = r.render(p.messages(), true);
                yield switch (completion) {
                    case Content.Text c -> new RenderedPair(prompt, c.text());
                    case Content.Conversation c -> new RenderedPair(prompt, suffix(record, field, r, p, c, prompt));
                };
            }
        };
    }

    private static String suffix(TrlRecord record, String field, ChatRenderer r, Content.Conversation prompt,
                                 Content.Conversation completion, String promptText) {
        List<ChatMessage> all = new ArrayList<>(prompt.messages());
        all.addAll(completion.messages());
        String full = r.render(all, false);
        if (!full.startsWith(promptText)) {
            int at = firstDifference(full, promptText);
            throw Fields.bad(record.line(), "chat template: prompt + \"" + field + "\" renders to text that does not start"
                    + " with the rendered prompt (they differ at character " + at + ": prompt has "
                    + excerpt(promptText, at) + ", prompt + " + field + " has " + excerpt(full, at)
                    + "), so the completion cannot be cut out of it");
        }
        String text = full.substring(promptText.length());
        if (text.isEmpty()) {
            throw Fields.bad(record.line(), "chat template: \"" + field + "\" renders to empty text: nothing to score");
        }
        return text;
    }

    private static ChatRenderer require(TrlRecord record, ChatRenderer renderer) {
        if (renderer == null) {
            throw Fields.bad(record.line(), "conversational \"prompt\" needs a chat template, and none was given");
        }
        return renderer;
    }

    private static String fieldOf(TrlRecord record, Content completion) {
        return switch (record) {
            case PreferenceRecord p when completion == p.rejected() -> Fields.REJECTED;
            case PreferenceRecord p -> Fields.CHOSEN;
            default -> Fields.COMPLETION;
        };
    }

    private static int firstDifference(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            if (a.charAt(i) != b.charAt(i)) {
                return i;
            }
        }
        return n;
    }

    private static String excerpt(String s, int at) {
        if (at >= s.length()) {
            return "<end>";
        }
        String e = s.substring(at, Math.min(s.length(), at + 20));
        return '"' + e.replace("\n", "\\n") + (at + 20 < s.length() ? "...\"" : "\"");
    }
}
