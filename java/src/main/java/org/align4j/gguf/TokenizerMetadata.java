package org.align4j.gguf;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import org.align4j.Align4jException;

/**
 * The {@code tokenizer.*} keys of a GGUF, which are all llama.cpp needs to build a model's vocab:
 * copied from a tokenizer GGUF or built in code ({@link CharTokenizer}).
 */
public record TokenizerMetadata(SequencedMap<String, GgufValue> keys) {
    public static final String PREFIX = "tokenizer.";
    public static final String TOKENS_KEY = "tokenizer.ggml.tokens";

    public TokenizerMetadata {
        keys.forEach((k, v) -> {
            if (!k.startsWith(PREFIX)) {
                throw new IllegalArgumentException("'" + k + "' is not a " + PREFIX + "* key");
            }
        });
        GgufValue tokens = keys.get(TOKENS_KEY);
        if (tokens == null || tokens.elementType() != GgufValueType.STRING) {
            throw new IllegalArgumentException("a tokenizer needs " + TOKENS_KEY + ", an array of strings");
        }
        keys = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(keys));
    }

    /**
     * A tokenizer by name: {@value CharTokenizer#NAME} is the built-in {@link CharTokenizer}; any other
     * name is a llama.cpp vocab file, {@link VocabFiles#named}.
     */
    public static TokenizerMetadata named(String name) {
        return name.equals(CharTokenizer.NAME) ? CharTokenizer.metadata() : fromFile(VocabFiles.named(name));
    }

    /** Every {@code tokenizer.*} key of {@code gguf}, in file order. */
    public static TokenizerMetadata fromFile(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            if (!f.has(TOKENS_KEY)) {
                throw new Align4jException(gguf + ": has no " + TOKENS_KEY + ", so it is not a tokenizer GGUF");
            }
            SequencedMap<String, GgufValue> keys = new LinkedHashMap<>();
            f.metadata().forEach((k, v) -> {
                if (k.startsWith(PREFIX)) {
                    keys.put(k, v);
                }
            });
            return new TokenizerMetadata(keys);
        }
    }

    public int vocabSize() {
        return keys.get(TOKENS_KEY).arrayLength();
    }
}
