package org.align4j.llama;

import static org.align4j.llama.LlamaLayouts.LLAMA_MODEL_QUANTIZE_PARAMS;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.AtomicFile;
import org.align4j.IoMessages;

/**
 * Whole GGUF files quantized by llama.cpp's own quantizer, {@code llama_model_quantize}, with its
 * default parameters: the tensor-type mix of each file type is llama.cpp's, as in the files users have.
 */
public final class ModelQuantizer {
    private static final VarHandle NTHREAD = LlamaLayouts.field(LLAMA_MODEL_QUANTIZE_PARAMS, "nthread");
    private static final VarHandle FTYPE = LlamaLayouts.field(LLAMA_MODEL_QUANTIZE_PARAMS, "ftype");

    private ModelQuantizer() {}

    /**
     * Quantizes {@code input} (a GGUF of F32, F16 or BF16 weights) to {@code type} into {@code output},
     * which is replaced whole or not at all. {@code threads} quantize in parallel; the bytes do not depend
     * on how many.
     */
    public static void quantize(Path input, Path output, LlamaFileType type, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, not " + threads);
        }
        if (!Files.isRegularFile(input)) {
            throw new Align4jException(input + ": cannot quantize: no such file");
        }
        Llama.ensureLoaded();
        try {
            AtomicFile.write(output, tmp -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment params = Llama.llama_model_quantize_default_params(arena);
                    NTHREAD.set(params, 0L, threads);
                    FTYPE.set(params, 0L, type.id());
                    LlamaLog.drainRecentErrors();
                    int rc = Llama.llama_model_quantize(arena.allocateFrom(input.toString()), arena.allocateFrom(tmp.toString()), params);
                    if (rc != 0) {
                        String why = LlamaLog.drainRecentErrors();
                        throw new Align4jException(input + ": cannot quantize to " + type + " into " + output + ": "
                                + (why.isEmpty() ? "llama.cpp's quantizer failed" : why));
                    }
                }
            });
        } catch (IOException e) {
            throw new Align4jException(output + ": cannot write: " + IoMessages.describe(e), e);
        }
    }

    /**
     * Has {@code source} write a model to a temporary file beside {@code output}, quantizes that into
     * {@code output} as {@link #quantize} does, and removes the temporary file, whatever happens.
     */
    public static void writeQuantized(Path output, LlamaFileType type, int threads, Consumer<Path> source) {
        Path dir = output.toAbsolutePath().getParent();
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + output.getFileName() + ".", ".unquantized.tmp");
        } catch (IOException e) {
            throw new Align4jException(output + ": cannot write its unquantized temporary file in " + dir + ": " + IoMessages.describe(e), e);
        }
        try {
            source.accept(tmp);
            quantize(tmp, output, type, threads);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                System.getLogger(ModelQuantizer.class.getName()).log(System.Logger.Level.WARNING,
                        tmp + ": cannot remove this temporary file: " + IoMessages.describe(e));
            }
        }
    }
}
