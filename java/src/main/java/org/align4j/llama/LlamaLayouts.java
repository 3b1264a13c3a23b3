package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The llama.h structs the bindings use (and those of ggml.h, which llama.h includes), member for member
 * in C order with C's names. Padding is inserted by {@link #cStruct} from each member's natural
 * alignment (the x86-64 / AArch64 C ABI); LayoutProbeTest checks every size and offset against the C
 * compiler's.
 */
public final class LlamaLayouts {
    private LlamaLayouts() {}

    // C types as they appear in llama.h. Enums are int-sized; size_t is 64-bit on the supported ABIs.
    private static final MemoryLayout C_INT = JAVA_INT;
    private static final MemoryLayout C_ENUM = JAVA_INT;
    private static final MemoryLayout C_SIZE_T = JAVA_LONG;

    public static final StructLayout LLAMA_MODEL_PARAMS = cStruct("llama_model_params",
            ADDRESS.withName("devices"),
            ADDRESS.withName("tensor_buft_overrides"),
            C_INT.withName("n_gpu_layers"),
            C_ENUM.withName("split_mode"),
            C_ENUM.withName("load_mode"),
            C_ENUM.withName("lazy_mode"),
            C_INT.withName("main_gpu"),
            ADDRESS.withName("tensor_split"),
            ADDRESS.withName("progress_callback"),
            ADDRESS.withName("progress_callback_user_data"),
            ADDRESS.withName("kv_overrides"),
            JAVA_BOOLEAN.withName("vocab_only"),
            JAVA_BOOLEAN.withName("check_tensors"),
            JAVA_BOOLEAN.withName("use_extra_bufts"),
            JAVA_BOOLEAN.withName("no_host"),
            JAVA_BOOLEAN.withName("no_alloc"),
            JAVA_BOOLEAN.withName("load_mtp"));

    public static final StructLayout LLAMA_CONTEXT_PARAMS = cStruct("llama_context_params",
            C_INT.withName("n_ctx"),
            C_INT.withName("n_batch"),
            C_INT.withName("n_ubatch"),
            C_INT.withName("n_seq_max"),
            C_INT.withName("n_rs_seq"),
            C_INT.withName("n_outputs_max"),
            C_INT.withName("n_outputs_max_per_seq"),
            C_INT.withName("n_threads"),
            C_INT.withName("n_threads_batch"),
            C_ENUM.withName("ctx_type"),
            C_ENUM.withName("rope_scaling_type"),
            C_ENUM.withName("pooling_type"),
            C_ENUM.withName("attention_type"),
            C_ENUM.withName("flash_attn_type"),
            JAVA_FLOAT.withName("rope_freq_base"),
            JAVA_FLOAT.withName("rope_freq_scale"),
            JAVA_FLOAT.withName("yarn_ext_factor"),
            JAVA_FLOAT.withName("yarn_attn_factor"),
            JAVA_FLOAT.withName("yarn_beta_fast"),
            JAVA_FLOAT.withName("yarn_beta_slow"),
            C_INT.withName("yarn_orig_ctx"),
            JAVA_FLOAT.withName("defrag_thold"),
            ADDRESS.withName("cb_eval"),
            ADDRESS.withName("cb_eval_user_data"),
            C_ENUM.withName("type_k"),
            C_ENUM.withName("type_v"),
            ADDRESS.withName("abort_callback"),
            ADDRESS.withName("abort_callback_data"),
            JAVA_BOOLEAN.withName("embeddings"),
            JAVA_BOOLEAN.withName("offload_kqv"),
            JAVA_BOOLEAN.withName("no_perf"),
            JAVA_BOOLEAN.withName("op_offload"),
            JAVA_BOOLEAN.withName("swa_full"),
            JAVA_BOOLEAN.withName("kv_unified"),
            ADDRESS.withName("samplers"),
            C_SIZE_T.withName("n_samplers"),
            ADDRESS.withName("ctx_other"));

    public static final StructLayout LLAMA_BATCH = cStruct("llama_batch",
            C_INT.withName("n_tokens"),
            ADDRESS.withName("token"),    // (n_tokens_alloc,) llama_token
            ADDRESS.withName("embd"),     // NULL: we decode tokens, not embeddings
            ADDRESS.withName("pos"),      // (n_tokens_alloc,) llama_pos
            ADDRESS.withName("n_seq_id"), // (n_tokens_alloc,) int32
            ADDRESS.withName("seq_id"),   // (n_tokens_alloc,) llama_seq_id*, each (n_seq_max,)
            ADDRESS.withName("logits"));  // (n_tokens_alloc,) int8: 1 = output logits for this token

    public static final StructLayout LLAMA_SAMPLER_CHAIN_PARAMS = cStruct("llama_sampler_chain_params",
            JAVA_BOOLEAN.withName("no_perf"));

    public static final StructLayout LLAMA_CHAT_MESSAGE = cStruct("llama_chat_message",
            ADDRESS.withName("role"),
            ADDRESS.withName("content"));

    public static final StructLayout LLAMA_TOKEN_DATA = cStruct("llama_token_data",
            C_INT.withName("id"),
            JAVA_FLOAT.withName("logit"),
            JAVA_FLOAT.withName("p"));

    public static final StructLayout LLAMA_TOKEN_DATA_ARRAY = cStruct("llama_token_data_array",
            ADDRESS.withName("data"),
            C_SIZE_T.withName("size"),
            JAVA_LONG.withName("selected"),
            JAVA_BOOLEAN.withName("sorted"));

    public static final StructLayout LLAMA_LOGIT_BIAS = cStruct("llama_logit_bias",
            C_INT.withName("token"),
            JAVA_FLOAT.withName("bias"));

    public static final StructLayout LLAMA_MODEL_QUANTIZE_PARAMS = cStruct("llama_model_quantize_params",
            C_INT.withName("nthread"),
            C_ENUM.withName("ftype"),                // enum llama_ftype
            C_ENUM.withName("output_tensor_type"),   // enum ggml_type; GGML_TYPE_COUNT = by ftype
            C_ENUM.withName("token_embedding_type"), // enum ggml_type; GGML_TYPE_COUNT = by ftype
            JAVA_BOOLEAN.withName("allow_requantize"),
            JAVA_BOOLEAN.withName("quantize_output_tensor"),
            JAVA_BOOLEAN.withName("only_copy"),
            JAVA_BOOLEAN.withName("pure"),
            JAVA_BOOLEAN.withName("keep_split"),
            JAVA_BOOLEAN.withName("dry_run"),
            ADDRESS.withName("imatrix"),
            ADDRESS.withName("kv_overrides"),
            ADDRESS.withName("tt_overrides"),
            ADDRESS.withName("prune_layers"),
            C_SIZE_T.withName("max_buf_size"));

    // ggml.h's, reached through llama.h: what ggml_get_type_traits returns.
    public static final StructLayout GGML_TYPE_TRAITS = cStruct("ggml_type_traits",
            ADDRESS.withName("type_name"),
            JAVA_LONG.withName("blck_size"),
            JAVA_LONG.withName("blck_size_interleave"),
            C_SIZE_T.withName("type_size"),
            JAVA_BOOLEAN.withName("is_quantized"),
            ADDRESS.withName("to_float"),        // ggml_to_float_t: (const void *x, float *y, int64_t k)
            ADDRESS.withName("from_float_ref")); // ggml_from_float_t: (const float *x, void *y, int64_t k)

    // ggml.h: what ggml_init takes by value.
    public static final StructLayout GGML_INIT_PARAMS = cStruct("ggml_init_params",
            C_SIZE_T.withName("mem_size"),
            ADDRESS.withName("mem_buffer"),
            JAVA_BOOLEAN.withName("no_alloc"));

    // ggml.h's n-dimensional tensor (GGML_MAX_DIMS 4, GGML_MAX_OP_PARAMS 64 bytes, GGML_MAX_SRC 10,
    // GGML_MAX_NAME 64); the bindings write only `data`, of tensors in a no_alloc context.
    public static final StructLayout GGML_TENSOR = cStruct("ggml_tensor",
            C_ENUM.withName("type"),
            ADDRESS.withName("buffer"),
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("ne"),
            MemoryLayout.sequenceLayout(4, C_SIZE_T).withName("nb"),
            C_ENUM.withName("op"),
            MemoryLayout.sequenceLayout(16, JAVA_INT).withName("op_params"),
            JAVA_INT.withName("flags"),
            MemoryLayout.sequenceLayout(10, ADDRESS).withName("src"),
            ADDRESS.withName("view_src"),
            C_SIZE_T.withName("view_offs"),
            ADDRESS.withName("data"),
            MemoryLayout.sequenceLayout(64, JAVA_BYTE).withName("name"),
            ADDRESS.withName("extra"),
            MemoryLayout.sequenceLayout(8, JAVA_BYTE).withName("padding"));

    /** Every struct above, by C name: what LayoutProbeTest checks against the C compiler. */
    public static final Map<String, StructLayout> ALL = Map.ofEntries(
            Map.entry("llama_model_params", LLAMA_MODEL_PARAMS),
            Map.entry("llama_context_params", LLAMA_CONTEXT_PARAMS),
            Map.entry("llama_batch", LLAMA_BATCH),
            Map.entry("llama_sampler_chain_params", LLAMA_SAMPLER_CHAIN_PARAMS),
            Map.entry("llama_chat_message", LLAMA_CHAT_MESSAGE),
            Map.entry("llama_token_data", LLAMA_TOKEN_DATA),
            Map.entry("llama_token_data_array", LLAMA_TOKEN_DATA_ARRAY),
            Map.entry("llama_logit_bias", LLAMA_LOGIT_BIAS),
            Map.entry("llama_model_quantize_params", LLAMA_MODEL_QUANTIZE_PARAMS),
            Map.entry("ggml_type_traits", GGML_TYPE_TRAITS),
            Map.entry("ggml_init_params", GGML_INIT_PARAMS),
            Map.entry("ggml_tensor", GGML_TENSOR));

    /** A VarHandle for member {@code name} of {@code struct}, taking (segment, 0L). */
    static VarHandle field(StructLayout struct, String name) {
        return struct.varHandle(MemoryLayout.PathElement.groupElement(name));
    }

    /** A struct with C's padding: each member at its natural alignment, the size a multiple of the largest. */
    static StructLayout cStruct(String name, MemoryLayout... members) {
        List<MemoryLayout> laid = new ArrayList<>();
        long offset = 0;
        long align = 1;
        for (MemoryLayout m : members) {
            long a = m.byteAlignment();
            if (offset % a != 0) {
                laid.add(MemoryLayout.paddingLayout(a - offset % a));
                offset += a - offset % a;
            }
            laid.add(m);
            offset += m.byteSize();
            align = Math.max(align, a);
        }
        if (offset % align != 0) {
            laid.add(MemoryLayout.paddingLayout(align - offset % align));
        }
        return MemoryLayout.structLayout(laid.toArray(MemoryLayout[]::new)).withName(name);
    }
}
