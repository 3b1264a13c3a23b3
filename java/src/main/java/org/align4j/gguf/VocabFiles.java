package org.align4j.gguf;

import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;

/**
 * The real tokenizers llama.cpp ships as {@code models/ggml-vocab-NAME.gguf} in its source tree,
 * found through the system property {@value #LLAMA_SRC_PROPERTY} (the build sets it).
 */
public final class VocabFiles {
    public static final String LLAMA_SRC_PROPERTY = "align4j.llama.src";

    private VocabFiles() {}

    /** {@code <align4j.llama.src>/models/ggml-vocab-NAME.gguf}, which must exist. */
    public static Path named(String name) {
        String src = System.getProperty(LLAMA_SRC_PROPERTY);
        if (src == null || src.isBlank()) {
            throw new Align4jException("system property " + LLAMA_SRC_PROPERTY + " is not set: it must name the llama.cpp "
                    + "source tree whose models/ folder holds the vocab GGUFs (the build sets it; or use an explicit vocab file)");
        }
        Path file = Path.of(src, "models", "ggml-vocab-" + name + ".gguf");
        if (!Files.isRegularFile(file)) {
            throw new Align4jException(file + ": no such vocab file (vocab '" + name + "' under " + LLAMA_SRC_PROPERTY + "=" + src + ")");
        }
        return file;
    }
}
