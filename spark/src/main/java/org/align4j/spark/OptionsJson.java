package org.align4j.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * A job's options record as JSON text, the form in which it travels to the executors (the records of the job
 * layer are not {@link java.io.Serializable}). Derived properties such as {@code Adapters.isEmpty()} are written
 * and ignored on reading; reading calls the record's canonical constructor, so its checks run again.
 */
final class OptionsJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private OptionsJson() {}

    static String write(Record options) {
        try {
            return MAPPER.writeValueAsString(options);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + options.getClass().getSimpleName() + " as JSON: " + e.getMessage(), e);
        }
    }

    static <R extends Record> R read(String json, Class<R> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot read " + type.getSimpleName() + " from " + json + ": " + e.getMessage(), e);
        }
    }
}
