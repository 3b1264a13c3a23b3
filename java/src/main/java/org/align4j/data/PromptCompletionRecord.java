package org.align4j.data;

/** {@code {"id"?, "prompt", "completion", ...}}; the completion is not empty. */
public record PromptCompletionRecord(JsonlLine.Parsed line, RecordId id, Content prompt, Content completion)
        implements TrlRecord {
    public static PromptCompletionRecord of(JsonlLine.Parsed line) {
        return new PromptCompletionRecord(line, Fields.id(line), Fields.prompt(line),
                Fields.completion(line, Fields.COMPLETION));
    }

    @Override
    public RecordKind kind() {
        return RecordKind.PROMPT_COMPLETION;
    }

    /** Prompt and completion as model text; see {@link ChatRendering#render}. */
    public RenderedPair render(ChatRenderer renderer) {
        return ChatRendering.render(this, completion, renderer);
    }
}
