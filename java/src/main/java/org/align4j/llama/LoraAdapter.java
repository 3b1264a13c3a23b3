package org.align4j.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;

/**
 * A GGUF LoRA adapter loaded onto a {@link Model} ({@code llama_adapter_lora_init}), to apply to its
 * contexts with {@link Context#setAdapters}. Valid while the model is open; the model frees any
 * adapter still open when it closes (after its contexts), as llama.cpp would.
 */
public final class LoraAdapter implements AutoCloseable {
    private final Model model;
    private final Path path;
    private MemorySegment handle;

    private LoraAdapter(Model model, Path path, MemorySegment handle) {
        this.model = model;
        this.path = path;
        this.handle = handle;
    }

    /** Loads {@code path} for {@code model}: an exception naming the file and llama.cpp's cause if it refuses. */
    public static LoraAdapter load(Model model, Path path) {
        if (!Files.isRegularFile(path)) {
            throw new Align4jException("LoRA adapter " + path + " does not exist or is not a regular file");
        }
        try (Arena arena = Arena.ofConfined()) {
            LlamaLog.drainRecentErrors();
            MemorySegment a = Llama.llama_adapter_lora_init(model.handle(), arena.allocateFrom(path.toString()));
            if (a.equals(MemorySegment.NULL)) {
                String why = LlamaLog.drainRecentErrors();
                throw new Align4jException("cannot load LoRA adapter " + path + " onto " + model.path() + ": "
                        + (why.isEmpty() ? "llama.cpp rejected the file" : why));
            }
            LoraAdapter adapter = new LoraAdapter(model, path, a);
            model.adopt(adapter);
            return adapter;
        }
    }

    public Path path() {
        return path;
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("LoRA adapter " + path + " is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (handle != null) {
            Llama.llama_adapter_lora_free(handle);
            handle = null;
            model.release(this);
        }
    }
}
