package org.align4j.llama;

import static org.align4j.llama.LlamaLayouts.LLAMA_MODEL_PARAMS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;

/** Owns one {@code llama_model*}. Contexts made from it must be closed before it. */
public final class Model implements AutoCloseable {
    private static final VarHandle N_GPU_LAYERS = LlamaLayouts.field(LLAMA_MODEL_PARAMS, "n_gpu_layers");
    private static final VarHandle LOAD_MODE = LlamaLayouts.field(LLAMA_MODEL_PARAMS, "load_mode");
    private static final VarHandle VOCAB_ONLY = LlamaLayouts.field(LLAMA_MODEL_PARAMS, "vocab_only");
    private static final VarHandle CHAT_ROLE = LlamaLayouts.field(LlamaLayouts.LLAMA_CHAT_MESSAGE, "role");
    private static final VarHandle CHAT_CONTENT = LlamaLayouts.field(LlamaLayouts.LLAMA_CHAT_MESSAGE, "content");
    private static final int LOAD_MODE_NONE = 0, LOAD_MODE_MMAP = 1; // enum llama_load_mode

    private final Path path;
    private MemorySegment handle;
    private final Vocab vocab;
    private final List<Context> contexts = new ArrayList<>(); // children, freed before the model
    private final List<LoraAdapter> adapters = new ArrayList<>(); // children, freed after the contexts

    private Model(Path path, MemorySegment handle) {
        this.path = path;
        this.handle = handle;
        this.vocab = new Vocab(this, Llama.llama_model_get_vocab(handle));
    }

    /**
     * Loads a GGUF model; a missing, unreadable or invalid file is an {@link Align4jException} naming it, and
     * so is {@code gpuLayers} other than 0 where no GPU is usable (llama.cpp would quietly run them on the CPU).
     */
    public static Model load(Path path, ModelOptions options) {
        if (!Files.isRegularFile(path)) {
            throw new Align4jException("model file " + path + " does not exist or is not a regular file");
        }
        if (!Files.isReadable(path)) {
            throw new Align4jException("model file " + path + " is not readable");
        }
        Llama.ensureLoaded();
        Backend.checkGpuLayers(options.gpuLayers());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = Llama.llama_model_default_params(arena);
            N_GPU_LAYERS.set(params, 0L, options.gpuLayers());
            LOAD_MODE.set(params, 0L, options.mmap() ? LOAD_MODE_MMAP : LOAD_MODE_NONE);
            VOCAB_ONLY.set(params, 0L, options.vocabOnly());
            LlamaLog.drainRecentErrors();
            MemorySegment m = Llama.llama_model_load_from_file(arena.allocateFrom(path.toString()), params);
            if (m.equals(MemorySegment.NULL)) {
                String why = LlamaLog.drainRecentErrors();
                throw new Align4jException("cannot load model " + path + ": "
                        + (why.isEmpty() ? "llama.cpp rejected the file" : why));
            }
            return new Model(path, m);
        }
    }

    public Path path() {
        return path;
    }

    /** This model's tokenizer; valid while the model is open. */
    public Vocab vocab() {
        return vocab;
    }

    public int nCtxTrain() {
        return Llama.llama_model_n_ctx_train(handle());
    }

    public int nEmbd() {
        return Llama.llama_model_n_embd(handle());
    }

    public int nLayer() {
        return Llama.llama_model_n_layer(handle());
    }

    public int nHead() {
        return Llama.llama_model_n_head(handle());
    }

    public int nHeadKv() {
        return Llama.llama_model_n_head_kv(handle());
    }

    /** A metadata value as a string, or null if the key is absent. */
    public String meta(String key) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocateFrom(key);
            return NativeStrings.snprintf(256, (buf, len) -> Llama.llama_model_meta_val_str(handle(), k, buf, len));
        }
    }

    /** The default chat template, or null if the model has none. */
    public String chatTemplate() {
        MemorySegment t = Llama.llama_model_chat_template(handle(), MemorySegment.NULL);
        return t.equals(MemorySegment.NULL) ? null : NativeStrings.cString(t);
    }

    /**
     * Renders messages with this model's chat template (llama.cpp's built-in template engine).
     *
     * @param roles        (n,) message roles
     * @param contents     (n,) message texts
     * @param addAssistant end with the template's assistant-turn opening
     */
    public String applyChatTemplate(String[] roles, String[] contents, boolean addAssistant) {
        String template = chatTemplate();
        if (template == null) {
            throw new Align4jException("model " + path + " has no chat template (tokenizer.chat_template); "
                    + "conversational records need one");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tmpl = arena.allocateFrom(template);
            MemorySegment chat = arena.allocate(LlamaLayouts.LLAMA_CHAT_MESSAGE, roles.length);
            long stride = LlamaLayouts.LLAMA_CHAT_MESSAGE.byteSize();
            int chars = 0;
            for (int i = 0; i < roles.length; i++) {
                MemorySegment msg = chat.asSlice(i * stride, stride);
                CHAT_ROLE.set(msg, 0L, arena.allocateFrom(roles[i]));
                CHAT_CONTENT.set(msg, 0L, arena.allocateFrom(contents[i]));
                chars += contents[i].length() + 32;
            }
            String out = NativeStrings.snprintf(2 * chars + 256,
                    (buf, len) -> Llama.llama_chat_apply_template(tmpl, chat, roles.length, addAssistant, buf, len));
            if (out == null) {
                throw new Align4jException("model " + path + ": llama.cpp does not support its chat template");
            }
            return out;
        }
    }

    MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("model " + path + " is closed");
        }
        return handle;
    }

    synchronized void adopt(Context c) {
        contexts.add(c);
    }

    synchronized void release(Context c) {
        contexts.remove(c);
    }

    synchronized void adopt(LoraAdapter a) {
        adapters.add(a);
    }

    synchronized void release(LoraAdapter a) {
        adapters.remove(a);
    }

    /** Closes any context, then any LoRA adapter, still open on this model, then frees the model. */
    @Override
    public void close() {
        if (handle != null) {
            for (Context c : List.copyOf(contexts)) {
                c.close();
            }
            for (LoraAdapter a : List.copyOf(adapters)) {
                a.close();
            }
            Llama.llama_model_free(handle);
            handle = null;
        }
    }
}
