package org.align4j.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;

/**
 * Finds and opens the native libraries: libllama (with its libggml* dependencies, found through its
 * RPATH) and our own libalign4j_native. The folder is {@code -Dalign4j.native.dir}, else the
 * environment variable {@code ALIGN4J_NATIVE_DIR}; the build and the launcher set the former.
 */
final class NativeLibraries {
    static final String DIR_PROPERTY = "align4j.native.dir";
    static final String DIR_ENV = "ALIGN4J_NATIVE_DIR";

    private static SymbolLookup llama;
    private static SymbolLookup shim;

    private NativeLibraries() {}

    /** libllama's symbols, and through dlsym's dependency search those of libggml*. */
    static synchronized SymbolLookup llama() {
        if (llama == null) {
            llama = open("libllama.so");
        }
        return llama;
    }

    /** libalign4j_native's symbols (layout probe, log-prob kernels). */
    static synchronized SymbolLookup shim() {
        if (shim == null) {
            llama(); // the shim links against libllama; open it first so the message names the root cause
            shim = open("libalign4j_native.so");
        }
        return shim;
    }

    static Path directory() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv(DIR_ENV);
        }
        if (dir == null || dir.isBlank()) {
            throw new Align4jException("no native library folder given: set -D" + DIR_PROPERTY + "=DIR or "
                    + DIR_ENV + "=DIR (the build puts the libraries in build/native/bin; run `make` first)");
        }
        return Path.of(dir).toAbsolutePath();
    }

    private static SymbolLookup open(String fileName) {
        Path path = directory().resolve(fileName);
        if (!Files.isRegularFile(path)) {
            throw new Align4jException("native library " + path + " not found: build it with `make` "
                    + "(or point -D" + DIR_PROPERTY + " / " + DIR_ENV + " at the folder that has it)");
        }
        try {
            // The libraries stay loaded for the life of the process, as the JVM's own do.
            return SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new Align4jException("cannot load native library " + path + ": " + e.getMessage(), e);
        }
    }
}
