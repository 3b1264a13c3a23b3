package org.align4j.data;

/** {@code {"id"?, "prompt", "chosen", "rejected", ...}}; neither completion is empty. */
public record PreferenceRecord(JsonlLine.Parsed line, RecordId id, Content prompt, Content chosen, Content rejected)
        implements TrlRecord {
    public static PreferenceRecord of(JsonlLine.Parsed line) {
        return new PreferenceRecord(line, Fields.id(line), Fields.prompt(line),
                Fields.completion(line, Fields.CHOSEN), Fields.completion(line, Fields.REJECTED));
    }

    @Override
    public RecordKind kind() {
        return RecordKind.PREFERENCE;
    }

    public RenderedPair renderChosen(ChatRenderer renderer) {
        return ChatRendering.render(this, chosen, renderer);
    }

    public RenderedPair renderRejected(ChatRenderer renderer) {
        return ChatRendering.render(this, rejected, renderer);
    }
}
