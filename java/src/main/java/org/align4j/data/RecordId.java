package org.align4j.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * A record's identity across input, output and {@code --resume}: the record's {@code id} field (a string
 * or an integer) if it has one, else its 0-based physical line number in the input file (line 1 is id 0;
 * blank lines count, so an id does not change when blank lines elsewhere are skipped or malformed lines
 * are rejected). Compared by JSON value, so the string {@code "7"} and the number {@code 7} differ.
 */
public record RecordId(JsonNode value) {
    public RecordId {
        if (!(value.isTextual() || value.isIntegralNumber())) {
            throw new IllegalArgumentException("an id is a string or an integer, not " + value);
        }
    }

    /**
     * The id of the record on {@code line}, as its job reads it.
     *
     * @throws BadRecordException if its {@code id} is neither a string nor an integer
     */
    public static RecordId of(JsonlLine.Parsed line) {
        return Fields.id(line);
    }

    /** The id of a record without an {@code id} field on 1-based line {@code lineNumber}. */
    public static RecordId ofLineNumber(long lineNumber) {
        return new RecordId(JsonNodeFactory.instance.numberNode(lineNumber - 1));
    }

    /** Equal by JSON text, so that {@code 7} read as an int and written as a long stay one id. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RecordId other && value.toString().equals(other.value.toString());
    }

    @Override
    public int hashCode() {
        return value.toString().hashCode();
    }

    /** The id as a user would write it: {@code 7}, {@code abc}. */
    @Override
    public String toString() {
        return value.isTextual() ? value.textValue() : value.toString();
    }
}
