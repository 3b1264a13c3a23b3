package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.Align4jException;

/**
 * Finds and opens the native libraries: libllama (with its libggml* dependencies, found through its
 * RPATH) and our own libalign4j_native. The folder is {@code -Dalign4j.native.dir}, else the
 * environment variable {@code ALIGN4J_NATIVE_DIR}; the build and the launcher set the former.
 */
final class NativeLibraries {
    static final String DIR_PROPERTY = "align4j.native.dir";
    static final String DIR_ENV = "ALIGN4J_NATIVE_DIR";
    /** What marks a folder as a CUDA build: ggml's CUDA backend, which needs CUDA's own libraries to load. */
    static final String CUDA_BACKEND = "libggml-cuda.so";
    private static final Pattern MISSING_LIBRARY = Pattern.compile("([^\\s:/]+\\.so[.0-9]*): cannot open shared object file");
    private static final int RTLD_NOW = 2;

    private static SymbolLookup llama;
    private static SymbolLookup shim;

    private NativeLibraries() {}

    /** libllama's symbols, and through dlsym's dependency search those of libggml*. */
    static synchronized SymbolLookup llama() {
        if (llama == null) {
            llama = open(directory(), "libllama.so");
        }
        return llama;
    }

    /** libalign4j_native's symbols (layout probe, log-prob kernels). */
    static synchronized SymbolLookup shim() {
        if (shim == null) {
            llama(); // the shim links against libllama; open it first so the message names the root cause
            shim = open(directory(), "libalign4j_native.so");
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

    static SymbolLookup open(Path dir, String fileName) {
        Path path = dir.resolve(fileName);
        if (!Files.isRegularFile(path)) {
            throw new Align4jException("native library " + path + " not found: build it with `make` "
                    + "(or point -D" + DIR_PROPERTY + " / " + DIR_ENV + " at the folder that has it)");
        }
        try {
            // The libraries stay loaded for the life of the process, as the JVM's own do.
            return SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            String cause = loaderError(path);
            Matcher missing = MISSING_LIBRARY.matcher(cause);
            if (Files.exists(dir.resolve(CUDA_BACKEND)) && missing.find()) {
                throw new Align4jException("cannot load native library " + path + ": " + dir + " is a CUDA build (it has "
                        + CUDA_BACKEND + ") and the loader cannot find " + missing.group(1) + ": put CUDA 13's libraries "
                        + "(libcudart.so.13, libcublas.so.13) on LD_LIBRARY_PATH, or run on the CPU build with "
                        + DIR_ENV + "=build/native/bin (loader: " + cause + ")", e);
            }
            throw new Align4jException("cannot load native library " + path + ": " + cause, e);
        }
    }

    /**
     * The dynamic loader's reason for refusing {@code path}, which {@link SymbolLookup#libraryLookup} does
     * not pass on: dlopen it again and ask dlerror (both handles made first: making one can call into the
     * loader, which clears dlerror's message).
     */
    private static String loaderError(Path path) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle dlopen = linker.downcallHandle(libc.find("dlopen").orElseThrow(), FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        MethodHandle dlerror = linker.downcallHandle(libc.find("dlerror").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment file = arena.allocateFrom(path.toString());
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(file, RTLD_NOW);
            if (!handle.equals(MemorySegment.NULL)) {
                return "dlopen opens it when asked again";
            }
            MemorySegment error = (MemorySegment) dlerror.invokeExact();
            return error.equals(MemorySegment.NULL) ? "the loader gave no reason" : NativeStrings.cString(error);
        } catch (Throwable t) {
            throw Llama.rethrow(t);
        }
    }
}
