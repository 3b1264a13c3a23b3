package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.align4j.llama.LlamaLayouts.LLAMA_BATCH;
import static org.align4j.llama.LlamaLayouts.LLAMA_CONTEXT_PARAMS;
import static org.align4j.llama.LlamaLayouts.LLAMA_MODEL_PARAMS;
import static org.align4j.llama.LlamaLayouts.LLAMA_MODEL_QUANTIZE_PARAMS;
import static org.align4j.llama.LlamaLayouts.LLAMA_SAMPLER_CHAIN_PARAMS;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls into llama.h (and the few ggml-backend.h / align4j_native calls we need), one static
 * method per C function with C's name and argument order. Pointers are MemorySegments; owner classes
 * ({@link Model}, {@link Context}, {@link Batch}, {@link SamplerChain}, {@link Vocab}) wrap them.
 *
 * <p>Callers go through {@link #ensureLoaded()} first (the owners do), so that a missing library is
 * a clear {@link org.align4j.Align4jException} rather than a class-initialisation error.
 */
final class Llama {
    private Llama() {}

    private static boolean initialised;

    /** Opens the libraries, initialises the backend once and installs the log callback. */
    static synchronized void ensureLoaded() {
        if (initialised) {
            return;
        }
        NativeLibraries.llama();
        LlamaLog.install();
        llama_backend_init();
        initialised = true;
    }

    // size_t on the supported 64-bit ABIs; C bool as Java boolean.
    private static final MemoryLayout SIZE_T = JAVA_LONG;

    /** Handles are resolved when this holder is first touched, after {@link #ensureLoaded()}. */
    private static final class H {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIB = NativeLibraries.llama();

        static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
            FunctionDescriptor fd = ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args);
            return LINKER.downcallHandle(LIB.find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libllama has no symbol " + name + " (llama.cpp version mismatch?)")), fd);
        }

        static final MethodHandle backend_init = fn("llama_backend_init", null);
        static final MethodHandle log_set = fn("llama_log_set", null, ADDRESS, ADDRESS);
        static final MethodHandle reg_count = fn("ggml_backend_reg_count", SIZE_T);
        static final MethodHandle reg_get = fn("ggml_backend_reg_get", ADDRESS, SIZE_T);
        static final MethodHandle reg_name = fn("ggml_backend_reg_name", ADDRESS, ADDRESS);
        static final MethodHandle reg_dev_count = fn("ggml_backend_reg_dev_count", SIZE_T, ADDRESS);
        static final MethodHandle reg_dev_get = fn("ggml_backend_reg_dev_get", ADDRESS, ADDRESS, SIZE_T);
        static final MethodHandle dev_name = fn("ggml_backend_dev_name", ADDRESS, ADDRESS);
        static final MethodHandle dev_description = fn("ggml_backend_dev_description", ADDRESS, ADDRESS);
        static final MethodHandle dev_type = fn("ggml_backend_dev_type", JAVA_INT, ADDRESS); // enum ggml_backend_dev_type
        static final MethodHandle dev_memory = fn("ggml_backend_dev_memory", null, ADDRESS, ADDRESS, ADDRESS);

        static final MethodHandle model_default_params = fn("llama_model_default_params", LLAMA_MODEL_PARAMS);
        static final MethodHandle model_load_from_file = fn("llama_model_load_from_file", ADDRESS, ADDRESS, LLAMA_MODEL_PARAMS);
        static final MethodHandle model_free = fn("llama_model_free", null, ADDRESS);
        static final MethodHandle model_get_vocab = fn("llama_model_get_vocab", ADDRESS, ADDRESS);
        static final MethodHandle model_n_ctx_train = fn("llama_model_n_ctx_train", JAVA_INT, ADDRESS);
        static final MethodHandle model_n_embd = fn("llama_model_n_embd", JAVA_INT, ADDRESS);
        static final MethodHandle model_n_layer = fn("llama_model_n_layer", JAVA_INT, ADDRESS);
        static final MethodHandle model_n_head = fn("llama_model_n_head", JAVA_INT, ADDRESS);
        static final MethodHandle model_n_head_kv = fn("llama_model_n_head_kv", JAVA_INT, ADDRESS);
        static final MethodHandle model_chat_template = fn("llama_model_chat_template", ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle model_meta_val_str = fn("llama_model_meta_val_str", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, SIZE_T);
        static final MethodHandle model_quantize_default_params = fn("llama_model_quantize_default_params", LLAMA_MODEL_QUANTIZE_PARAMS);
        static final MethodHandle model_quantize = fn("llama_model_quantize", JAVA_INT, ADDRESS, ADDRESS, ADDRESS); // uint32_t

        static final MethodHandle context_default_params = fn("llama_context_default_params", LLAMA_CONTEXT_PARAMS);
        static final MethodHandle init_from_model = fn("llama_init_from_model", ADDRESS, ADDRESS, LLAMA_CONTEXT_PARAMS);
        static final MethodHandle free = fn("llama_free", null, ADDRESS);
        static final MethodHandle n_ctx = fn("llama_n_ctx", JAVA_INT, ADDRESS);
        static final MethodHandle n_batch = fn("llama_n_batch", JAVA_INT, ADDRESS);
        static final MethodHandle n_ubatch = fn("llama_n_ubatch", JAVA_INT, ADDRESS);
        static final MethodHandle n_seq_max = fn("llama_n_seq_max", JAVA_INT, ADDRESS);
        static final MethodHandle get_memory = fn("llama_get_memory", ADDRESS, ADDRESS);
        static final MethodHandle memory_clear = fn("llama_memory_clear", null, ADDRESS, JAVA_BOOLEAN);
        static final MethodHandle memory_seq_rm = fn("llama_memory_seq_rm", JAVA_BOOLEAN, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle memory_seq_cp = fn("llama_memory_seq_cp", null, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle memory_seq_pos_max = fn("llama_memory_seq_pos_max", JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle decode = fn("llama_decode", JAVA_INT, ADDRESS, LLAMA_BATCH);
        static final MethodHandle synchronize = fn("llama_synchronize", null, ADDRESS);
        static final MethodHandle get_logits_ith = fn("llama_get_logits_ith", ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle get_embeddings_ith = fn("llama_get_embeddings_ith", ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle adapter_lora_init = fn("llama_adapter_lora_init", ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle adapter_lora_free = fn("llama_adapter_lora_free", null, ADDRESS);
        static final MethodHandle set_adapters_lora = fn("llama_set_adapters_lora", JAVA_INT, ADDRESS, ADDRESS, SIZE_T, ADDRESS);

        static final MethodHandle batch_init = fn("llama_batch_init", LLAMA_BATCH, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle batch_free = fn("llama_batch_free", null, LLAMA_BATCH);

        static final MethodHandle vocab_n_tokens = fn("llama_vocab_n_tokens", JAVA_INT, ADDRESS);
        static final MethodHandle vocab_type = fn("llama_vocab_type", JAVA_INT, ADDRESS);
        static final MethodHandle vocab_bos = fn("llama_vocab_bos", JAVA_INT, ADDRESS);
        static final MethodHandle vocab_eos = fn("llama_vocab_eos", JAVA_INT, ADDRESS);
        static final MethodHandle vocab_eot = fn("llama_vocab_eot", JAVA_INT, ADDRESS);
        static final MethodHandle vocab_is_eog = fn("llama_vocab_is_eog", JAVA_BOOLEAN, ADDRESS, JAVA_INT);
        static final MethodHandle vocab_get_attr = fn("llama_vocab_get_attr", JAVA_INT, ADDRESS, JAVA_INT);
        static final MethodHandle vocab_get_add_bos = fn("llama_vocab_get_add_bos", JAVA_BOOLEAN, ADDRESS);
        static final MethodHandle tokenize = fn("llama_tokenize", JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN);
        static final MethodHandle token_to_piece = fn("llama_token_to_piece", JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_BOOLEAN);
        static final MethodHandle detokenize = fn("llama_detokenize", JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_BOOLEAN, JAVA_BOOLEAN);
        static final MethodHandle chat_apply_template = fn("llama_chat_apply_template", JAVA_INT,
                ADDRESS, ADDRESS, SIZE_T, JAVA_BOOLEAN, ADDRESS, JAVA_INT);

        static final MethodHandle sampler_chain_default_params = fn("llama_sampler_chain_default_params", LLAMA_SAMPLER_CHAIN_PARAMS);
        static final MethodHandle sampler_chain_init = fn("llama_sampler_chain_init", ADDRESS, LLAMA_SAMPLER_CHAIN_PARAMS);
        static final MethodHandle sampler_chain_add = fn("llama_sampler_chain_add", null, ADDRESS, ADDRESS);
        static final MethodHandle sampler_chain_n = fn("llama_sampler_chain_n", JAVA_INT, ADDRESS);
        static final MethodHandle sampler_init_greedy = fn("llama_sampler_init_greedy", ADDRESS);
        static final MethodHandle sampler_init_dist = fn("llama_sampler_init_dist", ADDRESS, JAVA_INT);
        static final MethodHandle sampler_init_top_k = fn("llama_sampler_init_top_k", ADDRESS, JAVA_INT);
        static final MethodHandle sampler_init_top_p = fn("llama_sampler_init_top_p", ADDRESS, JAVA_FLOAT, SIZE_T);
        static final MethodHandle sampler_init_min_p = fn("llama_sampler_init_min_p", ADDRESS, JAVA_FLOAT, SIZE_T);
        static final MethodHandle sampler_init_temp = fn("llama_sampler_init_temp", ADDRESS, JAVA_FLOAT);
        static final MethodHandle sampler_init_penalties = fn("llama_sampler_init_penalties", ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT);
        static final MethodHandle sampler_init_logit_bias = fn("llama_sampler_init_logit_bias", ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
        static final MethodHandle sampler_sample = fn("llama_sampler_sample", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        static final MethodHandle sampler_accept = fn("llama_sampler_accept", null, ADDRESS, JAVA_INT);
        static final MethodHandle sampler_reset = fn("llama_sampler_reset", null, ADDRESS);
        static final MethodHandle sampler_free = fn("llama_sampler_free", null, ADDRESS);
    }

    /** align4j_native's symbols; resolved on first use. */
    private static final class Shim {
        static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
            return Linker.nativeLinker().downcallHandle(NativeLibraries.shim().find(name).orElseThrow(
                    () -> new UnsatisfiedLinkError("libalign4j_native has no symbol " + name + " (rebuild with make)")),
                    FunctionDescriptor.of(ret, args));
        }

        static final MethodHandle layout_table = fn("align4j_layout_table", ADDRESS, ADDRESS);
        static final MethodHandle token_logprobs = fn("align4j_token_logprobs", JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
        static final MethodHandle top_logprobs = fn("align4j_top_logprobs", JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS);
        static final MethodHandle sample = fn("align4j_sample", JAVA_INT, ADDRESS, JAVA_FLOAT, JAVA_INT, JAVA_FLOAT, JAVA_FLOAT,
                JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        static final MethodHandle sample_distribution = fn("align4j_sample_distribution", JAVA_INT, ADDRESS, JAVA_FLOAT, JAVA_INT,
                JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
    }

    /** A downcall's Throwable as an unchecked exception to throw (an Error is thrown as it is). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    // ---- backend -------------------------------------------------------------------------------
    static void llama_backend_init() { try { H.backend_init.invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_log_set(MemorySegment cb, MemorySegment ud) { try { H.log_set.invokeExact(cb, ud); } catch (Throwable t) { throw rethrow(t); } }
    static long ggml_backend_reg_count() { try { return (long) H.reg_count.invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment ggml_backend_reg_get(long i) { try { return (MemorySegment) H.reg_get.invokeExact(i); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment ggml_backend_reg_name(MemorySegment reg) { try { return (MemorySegment) H.reg_name.invokeExact(reg); } catch (Throwable t) { throw rethrow(t); } }
    static long ggml_backend_reg_dev_count(MemorySegment reg) { try { return (long) H.reg_dev_count.invokeExact(reg); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment ggml_backend_reg_dev_get(MemorySegment reg, long i) { try { return (MemorySegment) H.reg_dev_get.invokeExact(reg, i); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment ggml_backend_dev_name(MemorySegment dev) { try { return (MemorySegment) H.dev_name.invokeExact(dev); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment ggml_backend_dev_description(MemorySegment dev) { try { return (MemorySegment) H.dev_description.invokeExact(dev); } catch (Throwable t) { throw rethrow(t); } }
    static int ggml_backend_dev_type(MemorySegment dev) { try { return (int) H.dev_type.invokeExact(dev); } catch (Throwable t) { throw rethrow(t); } }
    static void ggml_backend_dev_memory(MemorySegment dev, MemorySegment free, MemorySegment total) { try { H.dev_memory.invokeExact(dev, free, total); } catch (Throwable t) { throw rethrow(t); } }

    // ---- model ---------------------------------------------------------------------------------
    static MemorySegment llama_model_default_params(SegmentAllocator a) { try { return (MemorySegment) H.model_default_params.invokeExact(a); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_model_load_from_file(MemorySegment path, MemorySegment params) { try { return (MemorySegment) H.model_load_from_file.invokeExact(path, params); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_model_free(MemorySegment m) { try { H.model_free.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_model_get_vocab(MemorySegment m) { try { return (MemorySegment) H.model_get_vocab.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_n_ctx_train(MemorySegment m) { try { return (int) H.model_n_ctx_train.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_n_embd(MemorySegment m) { try { return (int) H.model_n_embd.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_n_layer(MemorySegment m) { try { return (int) H.model_n_layer.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_n_head(MemorySegment m) { try { return (int) H.model_n_head.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_n_head_kv(MemorySegment m) { try { return (int) H.model_n_head_kv.invokeExact(m); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_model_chat_template(MemorySegment m, MemorySegment name) { try { return (MemorySegment) H.model_chat_template.invokeExact(m, name); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_meta_val_str(MemorySegment m, MemorySegment key, MemorySegment buf, long size) { try { return (int) H.model_meta_val_str.invokeExact(m, key, buf, size); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_model_quantize_default_params(SegmentAllocator a) { try { return (MemorySegment) H.model_quantize_default_params.invokeExact(a); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_model_quantize(MemorySegment fnameInp, MemorySegment fnameOut, MemorySegment params) { try { return (int) H.model_quantize.invokeExact(fnameInp, fnameOut, params); } catch (Throwable t) { throw rethrow(t); } }

    // ---- context -------------------------------------------------------------------------------
    static MemorySegment llama_context_default_params(SegmentAllocator a) { try { return (MemorySegment) H.context_default_params.invokeExact(a); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_init_from_model(MemorySegment m, MemorySegment params) { try { return (MemorySegment) H.init_from_model.invokeExact(m, params); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_free(MemorySegment ctx) { try { H.free.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_n_ctx(MemorySegment ctx) { try { return (int) H.n_ctx.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_n_batch(MemorySegment ctx) { try { return (int) H.n_batch.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_n_ubatch(MemorySegment ctx) { try { return (int) H.n_ubatch.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_n_seq_max(MemorySegment ctx) { try { return (int) H.n_seq_max.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_get_memory(MemorySegment ctx) { try { return (MemorySegment) H.get_memory.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_memory_clear(MemorySegment mem, boolean data) { try { H.memory_clear.invokeExact(mem, data); } catch (Throwable t) { throw rethrow(t); } }
    static boolean llama_memory_seq_rm(MemorySegment mem, int seq, int p0, int p1) { try { return (boolean) H.memory_seq_rm.invokeExact(mem, seq, p0, p1); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_memory_seq_cp(MemorySegment mem, int src, int dst, int p0, int p1) { try { H.memory_seq_cp.invokeExact(mem, src, dst, p0, p1); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_memory_seq_pos_max(MemorySegment mem, int seq) { try { return (int) H.memory_seq_pos_max.invokeExact(mem, seq); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_adapter_lora_init(MemorySegment model, MemorySegment path) { try { return (MemorySegment) H.adapter_lora_init.invokeExact(model, path); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_adapter_lora_free(MemorySegment adapter) { try { H.adapter_lora_free.invokeExact(adapter); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_set_adapters_lora(MemorySegment ctx, MemorySegment adapters, long nAdapters, MemorySegment scales) { try { return (int) H.set_adapters_lora.invokeExact(ctx, adapters, nAdapters, scales); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_decode(MemorySegment ctx, MemorySegment batch) { try { return (int) H.decode.invokeExact(ctx, batch); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_synchronize(MemorySegment ctx) { try { H.synchronize.invokeExact(ctx); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_get_logits_ith(MemorySegment ctx, int i) { try { return (MemorySegment) H.get_logits_ith.invokeExact(ctx, i); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_get_embeddings_ith(MemorySegment ctx, int i) { try { return (MemorySegment) H.get_embeddings_ith.invokeExact(ctx, i); } catch (Throwable t) { throw rethrow(t); } }

    // ---- batch ---------------------------------------------------------------------------------
    static MemorySegment llama_batch_init(SegmentAllocator a, int nTokens, int embd, int nSeqMax) { try { return (MemorySegment) H.batch_init.invokeExact(a, nTokens, embd, nSeqMax); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_batch_free(MemorySegment batch) { try { H.batch_free.invokeExact(batch); } catch (Throwable t) { throw rethrow(t); } }

    // ---- vocab ---------------------------------------------------------------------------------
    static int llama_vocab_n_tokens(MemorySegment v) { try { return (int) H.vocab_n_tokens.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_vocab_type(MemorySegment v) { try { return (int) H.vocab_type.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_vocab_bos(MemorySegment v) { try { return (int) H.vocab_bos.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_vocab_eos(MemorySegment v) { try { return (int) H.vocab_eos.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_vocab_eot(MemorySegment v) { try { return (int) H.vocab_eot.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static boolean llama_vocab_is_eog(MemorySegment v, int token) { try { return (boolean) H.vocab_is_eog.invokeExact(v, token); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_vocab_get_attr(MemorySegment v, int token) { try { return (int) H.vocab_get_attr.invokeExact(v, token); } catch (Throwable t) { throw rethrow(t); } }
    static boolean llama_vocab_get_add_bos(MemorySegment v) { try { return (boolean) H.vocab_get_add_bos.invokeExact(v); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_tokenize(MemorySegment v, MemorySegment text, int textLen, MemorySegment tokens, int nTokensMax, boolean addSpecial, boolean parseSpecial) { try { return (int) H.tokenize.invokeExact(v, text, textLen, tokens, nTokensMax, addSpecial, parseSpecial); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_token_to_piece(MemorySegment v, int token, MemorySegment buf, int length, int lstrip, boolean special) { try { return (int) H.token_to_piece.invokeExact(v, token, buf, length, lstrip, special); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_detokenize(MemorySegment v, MemorySegment tokens, int nTokens, MemorySegment text, int textLenMax, boolean removeSpecial, boolean unparseSpecial) { try { return (int) H.detokenize.invokeExact(v, tokens, nTokens, text, textLenMax, removeSpecial, unparseSpecial); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_chat_apply_template(MemorySegment tmpl, MemorySegment chat, long nMsg, boolean addAss, MemorySegment buf, int length) { try { return (int) H.chat_apply_template.invokeExact(tmpl, chat, nMsg, addAss, buf, length); } catch (Throwable t) { throw rethrow(t); } }

    // ---- samplers ------------------------------------------------------------------------------
    static MemorySegment llama_sampler_chain_default_params(SegmentAllocator a) { try { return (MemorySegment) H.sampler_chain_default_params.invokeExact(a); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_chain_init(MemorySegment params) { try { return (MemorySegment) H.sampler_chain_init.invokeExact(params); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_sampler_chain_add(MemorySegment chain, MemorySegment s) { try { H.sampler_chain_add.invokeExact(chain, s); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_sampler_chain_n(MemorySegment chain) { try { return (int) H.sampler_chain_n.invokeExact(chain); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_greedy() { try { return (MemorySegment) H.sampler_init_greedy.invokeExact(); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_dist(int seed) { try { return (MemorySegment) H.sampler_init_dist.invokeExact(seed); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_top_k(int k) { try { return (MemorySegment) H.sampler_init_top_k.invokeExact(k); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_top_p(float p, long minKeep) { try { return (MemorySegment) H.sampler_init_top_p.invokeExact(p, minKeep); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_min_p(float p, long minKeep) { try { return (MemorySegment) H.sampler_init_min_p.invokeExact(p, minKeep); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_temp(float t) { try { return (MemorySegment) H.sampler_init_temp.invokeExact(t); } catch (Throwable e) { throw rethrow(e); } }
    static MemorySegment llama_sampler_init_logit_bias(int nVocab, int n, MemorySegment biases) { try { return (MemorySegment) H.sampler_init_logit_bias.invokeExact(nVocab, n, biases); } catch (Throwable t) { throw rethrow(t); } }
    static MemorySegment llama_sampler_init_penalties(int nVocab, int lastN, float repeat, float freq, float present) { try { return (MemorySegment) H.sampler_init_penalties.invokeExact(nVocab, lastN, repeat, freq, present); } catch (Throwable t) { throw rethrow(t); } }
    static int llama_sampler_sample(MemorySegment s, MemorySegment ctx, int idx) { try { return (int) H.sampler_sample.invokeExact(s, ctx, idx); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_sampler_accept(MemorySegment s, int token) { try { H.sampler_accept.invokeExact(s, token); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_sampler_reset(MemorySegment s) { try { H.sampler_reset.invokeExact(s); } catch (Throwable t) { throw rethrow(t); } }
    static void llama_sampler_free(MemorySegment s) { try { H.sampler_free.invokeExact(s); } catch (Throwable t) { throw rethrow(t); } }

    // ---- align4j_native ------------------------------------------------------------------------
    static MemorySegment align4j_layout_table(MemorySegment nEntries) { try { return (MemorySegment) Shim.layout_table.invokeExact(nEntries); } catch (Throwable t) { throw rethrow(t); } }
    static int align4j_token_logprobs(MemorySegment ctx, MemorySegment rows, MemorySegment targets, int n, MemorySegment out) { try { return (int) Shim.token_logprobs.invokeExact(ctx, rows, targets, n, out); } catch (Throwable t) { throw rethrow(t); } }
    static int align4j_top_logprobs(MemorySegment ctx, int row, int k, MemorySegment ids, MemorySegment logps) { try { return (int) Shim.top_logprobs.invokeExact(ctx, row, k, ids, logps); } catch (Throwable t) { throw rethrow(t); } }
    static int align4j_sample_distribution(MemorySegment ctx, float temperature, int topK, float topP, float minP, float repeatPenalty,
                                           MemorySegment suppressed, int nSuppressed, int row, MemorySegment window, int nWindow,
                                           MemorySegment vals, MemorySegment ids, MemorySegment cv, MemorySegment outIds,
                                           MemorySegment outProbs) {
        try {
            return (int) Shim.sample_distribution.invokeExact(ctx, temperature, topK, topP, minP, repeatPenalty, suppressed, nSuppressed,
                    row, window, nWindow, vals, ids, cv, outIds, outProbs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
    static int align4j_sample(MemorySegment ctx, float temperature, int topK, float topP, float minP, float repeatPenalty,
                              MemorySegment suppressed, int nSuppressed, int n, MemorySegment rows, MemorySegment seeds,
                              MemorySegment windowStart, MemorySegment windowTokens, MemorySegment vals, MemorySegment ids,
                              MemorySegment cv, MemorySegment outTokens) {
        try {
            return (int) Shim.sample.invokeExact(ctx, temperature, topK, topP, minP, repeatPenalty, suppressed, nSuppressed, n,
                    rows, seeds, windowStart, windowTokens, vals, ids, cv, outTokens);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
