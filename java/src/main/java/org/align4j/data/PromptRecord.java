package org.align4j.data;

/** {@code {"id"?, "prompt", ...}}: what {@code sample}, {@code bon} and {@code rso} read. */
public record PromptRecord(JsonlLine.Parsed line, RecordId id, Content prompt) implements TrlRecord {
    /**
     * Reads the prompt (and id) of any record: a preference or prompt-completion line also serves as a
     * prompt, its other fields carried along untouched.
     */
    public static PromptRecord of(JsonlLine.Parsed line) {
        return new PromptRecord(line, Fields.id(line), Fields.prompt(line));
    }

    @Override
    public RecordKind kind() {
        return RecordKind.PROMPT;
    }
}
