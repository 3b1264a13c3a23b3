package org.align4j.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.FromStringDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.time.Duration;

/**
 * A job's options record as JSON text, the form in which it travels to the executors (the records of the job
 * layer are not {@link java.io.Serializable}). Derived properties such as {@code Adapters.isEmpty()} are written
 * and ignored on reading; reading calls the record's canonical constructor, so its checks run again.
 */
final class OptionsJson {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .addModule(new SimpleModule() // a Duration (rso's reward timeout) as ISO-8601 text, without Jackson's java.time module
                    .addSerializer(Duration.class, new ToStringSerializer(Duration.class))
                    .addDeserializer(Duration.class, new FromStringDeserializer<>(Duration.class) {
                        @Override
                        protected Duration _deserialize(String value, DeserializationContext context) {
                            return Duration.parse(value);
                        }
                    }))
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
