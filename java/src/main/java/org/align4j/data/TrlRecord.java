package org.align4j.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;

/**
 * A checked TRL record over the object it was read from. {@link #node()} is that object, every field
 * kept (unknown ones included), so a job adds its columns to it and writes it back out.
 */
public sealed interface TrlRecord permits PromptRecord, PromptCompletionRecord, PreferenceRecord {
    JsonlLine.Parsed line();

    RecordId id();

    Content prompt();

    RecordKind kind();

    default ObjectNode node() {
        return line().node();
    }

    default Path file() {
        return line().file();
    }

    default long lineNumber() {
        return line().lineNumber();
    }

    /** {@code file:line}. */
    default String location() {
        return line().location();
    }

    /**
     * A copy of {@link #node()} to write out, with {@code id} first: the record's own id, or, where the
     * input had none, the line-number id, so that {@link ResumeState} can tell which records are done.
     * Every other field keeps its value and order.
     */
    default ObjectNode outputNode() {
        ObjectNode out = node().objectNode();
        out.set(Fields.ID, id().value());
        node().properties().forEach(e -> {
            if (!e.getKey().equals(Fields.ID)) {
                out.set(e.getKey(), e.getValue().deepCopy());
            }
        });
        return out;
    }

    /**
     * Classifies a line with {@link RecordKind#of} and checks its fields. A line with one of
     * {@code chosen}/{@code rejected} but not the other is an error (half a pair is not a prompt record).
     *
     * @throws BadRecordException {@code file:line: cause} for a missing field, a wrong type, an empty
     *     completion or a message without role or content
     */
    static TrlRecord parse(JsonlLine.Parsed line) {
        ObjectNode n = line.node();
        boolean chosen = n.has(Fields.CHOSEN);
        boolean rejected = n.has(Fields.REJECTED);
        if (chosen != rejected) {
            throw Fields.bad(line, chosen ? "has \"chosen\" but no \"rejected\"" : "has \"rejected\" but no \"chosen\"");
        }
        return switch (RecordKind.of(n)) {
            case PREFERENCE -> PreferenceRecord.of(line);
            case PROMPT_COMPLETION -> PromptCompletionRecord.of(line);
            case PROMPT -> PromptRecord.of(line);
        };
    }
}
