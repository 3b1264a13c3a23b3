package org.align4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.JsonNodeType;

/**
 * The one Jackson configuration for JSONL. Numbers are read exactly (floats as {@code BigDecimal},
 * trailing zeros kept) so that a field align4j does not know is written back with the value it was
 * read with; a line must hold exactly one JSON value.
 */
public final class Jsonl {
    public static final JsonMapper MAPPER = JsonMapper.builder()
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .disable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private Jsonl() {}

    /** Jackson's cause without its source excerpt, with the column: {@code malformed JSON at column 3: ...}. */
    static String describe(JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String where = at != null && at.getColumnNr() > 0 ? " at column " + at.getColumnNr() : "";
        return "malformed JSON" + where + ": " + e.getOriginalMessage();
    }

    /** A JSON type as a user would name it: string, number, array, object, boolean, null. */
    static String typeName(JsonNode node) {
        JsonNodeType t = node.getNodeType();
        return switch (t) {
            case STRING -> "string";
            case NUMBER -> "number";
            case ARRAY -> "array";
            case OBJECT, POJO -> "object";
            case BOOLEAN -> "boolean";
            case NULL, MISSING -> "null";
            case BINARY -> "binary";
        };
    }
}
