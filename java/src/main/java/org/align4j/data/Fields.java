package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Reads and checks the TRL fields of one parsed line; every problem is a {@link BadRecordException}. */
public final class Fields {
    public static final String ID = "id";
    static final String PROMPT = "prompt";
    static final String COMPLETION = "completion";
    static final String CHOSEN = "chosen";
    static final String REJECTED = "rejected";
    static final String ROLE = "role";
    static final String CONTENT = "content";

    private static final String EXPECTED = "a string or a list of {\"role\", \"content\"} messages";

    private Fields() {}

    static RecordId id(JsonlLine.Parsed line) {
        JsonNode id = line.node().get(ID);
        if (id == null) {
            return RecordId.ofLineNumber(line.lineNumber());
        }
        if (!(id.isTextual() || id.isIntegralNumber())) {
            throw bad(line, "field \"id\" must be a string or an integer, got " + Jsonl.typeName(id));
        }
        return new RecordId(id);
    }

    /** A prompt: may be an empty string (the model then sees only what it adds itself, such as BOS). */
    static Content prompt(JsonlLine.Parsed line) {
        return content(line, PROMPT, false);
    }

    /** A completion, chosen or rejected: must not be empty, for there would be nothing to score. */
    static Content completion(JsonlLine.Parsed line, String field) {
        return content(line, field, true);
    }

    private static Content content(JsonlLine.Parsed line, String field, boolean nonEmpty) {
        JsonNode v = line.node().get(field);
        if (v == null) {
            throw bad(line, "missing field \"" + field + "\"");
        }
        if (v.isTextual()) {
            if (nonEmpty && v.textValue().isEmpty()) {
                throw bad(line, "field \"" + field + "\" is an empty string: nothing to score");
            }
            return new Content.Text(v.textValue());
        }
        if (!(v instanceof ArrayNode array)) {
            throw bad(line, "field \"" + field + "\" must be " + EXPECTED + ", got " + Jsonl.typeName(v));
        }
        if (array.isEmpty()) {
            throw bad(line, "field \"" + field + "\" is an empty list of messages" + (nonEmpty ? ": nothing to score" : ""));
        }
        List<ChatMessage> messages = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            messages.add(message(line, field + "[" + i + "]", array.get(i)));
        }
        return new Content.Conversation(messages);
    }

    private static ChatMessage message(JsonlLine.Parsed line, String where, JsonNode m) {
        if (!(m instanceof ObjectNode o)) {
            throw bad(line, where + " must be a {\"role\", \"content\"} object, got " + Jsonl.typeName(m));
        }
        return new ChatMessage(messageString(line, where, o, ROLE), messageString(line, where, o, CONTENT));
    }

    private static String messageString(JsonlLine.Parsed line, String where, ObjectNode m, String key) {
        JsonNode v = m.get(key);
        if (v == null) {
            throw bad(line, where + " has no \"" + key + "\"");
        }
        if (!v.isTextual()) {
            String hint = key.equals(CONTENT) && v.isArray() ? " (content parts, as in multimodal data, are not supported)" : "";
            throw bad(line, where + "." + key + " must be a string, got " + Jsonl.typeName(v) + hint);
        }
        return v.textValue();
    }

    static BadRecordException bad(JsonlLine line, String reason) {
        return new BadRecordException(line.file(), line.lineNumber(), reason);
    }
}
