package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** The two buffer conventions of llama.h, each handled in one place. */
final class NativeStrings {
    private NativeStrings() {}

    /** A call that fills {@code buf} (capacity in elements) and returns llama.h's count. */
    @FunctionalInterface
    interface Fill {
        int call(MemorySegment buf, int capacity);
    }

    /**
     * llama_tokenize / llama_token_to_piece / llama_detokenize: a result {@code -n} means "n elements
     * are needed"; call again with that capacity. Returns the filled elements as a slice of a buffer
     * from {@code arena}.
     */
    static MemorySegment fillRetrying(Arena arena, ValueLayout element, int guess, Fill fill) {
        int capacity = Math.max(guess, 1);
        MemorySegment buf = arena.allocate(element, capacity);
        int n = fill.call(buf, capacity);
        if (n == Integer.MIN_VALUE) {
            throw new IllegalArgumentException("llama.cpp: result larger than int32 elements");
        }
        if (n < 0) {
            capacity = -n;
            buf = arena.allocate(element, capacity);
            n = fill.call(buf, capacity);
            if (n < 0) {
                throw new IllegalStateException("llama.cpp asked for " + capacity + " elements, then for " + -n);
            }
        }
        return buf.asSlice(0, n * element.byteSize());
    }

    /** UTF-8 bytes of a {@link #fillRetrying} char buffer as a String (no terminating NUL involved). */
    static String utf8(MemorySegment chars) {
        return new String(chars.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /**
     * snprintf-style calls (llama_model_desc, llama_model_meta_val_str, llama_chat_apply_template):
     * the result is the full length, possibly more than fitted; negative means "absent". Returns null
     * when absent.
     */
    static String snprintf(int guess, Fill fill) {
        try (Arena arena = Arena.ofConfined()) {
            int capacity = Math.max(guess, 1);
            MemorySegment buf = arena.allocate(capacity);
            int n = fill.call(buf, capacity);
            if (n < 0) {
                return null;
            }
            if (n >= capacity) {
                capacity = n + 1;
                buf = arena.allocate(capacity);
                n = fill.call(buf, capacity);
            }
            return utf8(buf.asSlice(0, n));
        }
    }

    /** A NUL-terminated C string owned by llama.cpp. */
    static String cString(MemorySegment p) {
        return p.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
