package org.align4j.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A native folder whose libllama needs a library the loader cannot find says which, and what to do. */
class NativeLibrariesTest {
    @TempDir Path tmp;

    /**
     * A CUDA build on a machine without CUDA 13, in miniature: a libllama.so that needs libcublas.so.13
     * (a stub, deleted once linked), beside a libggml-cuda.so.
     */
    Path cudaBuildWithoutCublas() throws IOException, InterruptedException {
        Path dir = Files.createDirectories(tmp.resolve("bin"));
        Path stub = tmp.resolve("libcublas.so.13");
        Files.writeString(tmp.resolve("cublas.c"), "int cublasCreate_v2(void *handle) { return 0; }\n");
        Files.writeString(tmp.resolve("llama.c"), "int cublasCreate_v2(void *handle);\nint llama_backend_init(void) { return cublasCreate_v2(0); }\n");
        gcc("-shared", "-fPIC", "-Wl,-soname,libcublas.so.13", "-o", stub.toString(), tmp.resolve("cublas.c").toString());
        gcc("-shared", "-fPIC", "-o", dir.resolve("libllama.so").toString(), tmp.resolve("llama.c").toString(), stub.toString());
        Files.delete(stub);
        Files.createFile(dir.resolve(NativeLibraries.CUDA_BACKEND));
        return dir;
    }

    static void gcc(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gcc"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("the fixture needs gcc: " + command + "\n" + log).isZero();
    }

    @Test
    void aCudaBuildMissingACudaLibraryNamesItAndWhatToDo() throws IOException, InterruptedException {
        Path dir = cudaBuildWithoutCublas();
        assertThatThrownBy(() -> NativeLibraries.open(dir, "libllama.so"))
                .isInstanceOf(Align4jException.class)
                .satisfies(e -> System.out.println("CUDA build without libcublas.so.13: " + e.getMessage()))
                .hasMessageContaining(dir + " is a CUDA build")
                .hasMessageContaining("the loader cannot find libcublas.so.13")
                .hasMessageContaining("LD_LIBRARY_PATH")
                .hasMessageContaining(NativeLibraries.DIR_ENV + "=build/native/bin");

        // Not a CUDA build: the loader's own reason, which SymbolLookup does not give.
        Files.delete(dir.resolve(NativeLibraries.CUDA_BACKEND));
        assertThatThrownBy(() -> NativeLibraries.open(dir, "libllama.so"))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining("libcublas.so.13: cannot open shared object file")
                .hasMessageNotContaining("CUDA build");
    }
}
