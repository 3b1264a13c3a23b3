package org.align4j.llama;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the build put what native tests need; a missing piece fails the test, it never skips it. */
public final class NativeTestSupport {
    private NativeTestSupport() {}

    /** The llama.cpp source tree the native build used (its models/ has the vocab GGUFs and test vectors). */
    public static Path llamaSource() {
        String dir = System.getProperty("align4j.llama.src");
        if (dir == null || !Files.isDirectory(Path.of(dir, "models"))) {
            throw new AssertionError("align4j.llama.src (" + dir + ") is not a llama.cpp source tree: run the tests with `make test`");
        }
        return Path.of(dir);
    }

    public static Path vocabFile(String name) {
        Path p = llamaSource().resolve("models").resolve("ggml-vocab-" + name + ".gguf");
        if (!Files.isRegularFile(p)) {
            throw new AssertionError("no vocab file " + p);
        }
        return p;
    }
}
