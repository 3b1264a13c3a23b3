// Layout probe: the C compiler's sizeof/offsetof for every llama.h (and ggml.h) struct that the Java bindings
// (org.align4j.llama.LlamaLayouts) declare. The Java layout test compares its StructLayouts with
// this table field by field, so a binding that drifts from llama.h fails a test, not a user.

#include <stddef.h>
#include "llama.h"

typedef struct align4j_layout_entry {
    const char * type;   // C struct name
    const char * field;  // member name; NULL for the struct itself
    size_t       offset; // offsetof(type, field); 0 for the struct itself
    size_t       size;   // sizeof the member, or of the struct
} align4j_layout_entry;

#define STRUCT(T)   { #T, NULL, 0, sizeof(struct T) }
#define FIELD(T, f) { #T, #f, offsetof(struct T, f), sizeof(((struct T *) 0)->f) }

static const align4j_layout_entry LAYOUTS[] = {
    STRUCT(llama_model_params),
    FIELD(llama_model_params, devices),
    FIELD(llama_model_params, tensor_buft_overrides),
    FIELD(llama_model_params, n_gpu_layers),
    FIELD(llama_model_params, split_mode),
    FIELD(llama_model_params, load_mode),
    FIELD(llama_model_params, lazy_mode),
    FIELD(llama_model_params, main_gpu),
    FIELD(llama_model_params, tensor_split),
    FIELD(llama_model_params, progress_callback),
    FIELD(llama_model_params, progress_callback_user_data),
    FIELD(llama_model_params, kv_overrides),
    FIELD(llama_model_params, vocab_only),
    FIELD(llama_model_params, check_tensors),
    FIELD(llama_model_params, use_extra_bufts),
    FIELD(llama_model_params, no_host),
    FIELD(llama_model_params, no_alloc),
    FIELD(llama_model_params, load_mtp),

    STRUCT(llama_context_params),
    FIELD(llama_context_params, n_ctx),
    FIELD(llama_context_params, n_batch),
    FIELD(llama_context_params, n_ubatch),
    FIELD(llama_context_params, n_seq_max),
    FIELD(llama_context_params, n_rs_seq),
    FIELD(llama_context_params, n_outputs_max),
    FIELD(llama_context_params, n_outputs_max_per_seq),
    FIELD(llama_context_params, n_threads),
    FIELD(llama_context_params, n_threads_batch),
    FIELD(llama_context_params, ctx_type),
    FIELD(llama_context_params, rope_scaling_type),
    FIELD(llama_context_params, pooling_type),
    FIELD(llama_context_params, attention_type),
    FIELD(llama_context_params, flash_attn_type),
    FIELD(llama_context_params, rope_freq_base),
    FIELD(llama_context_params, rope_freq_scale),
    FIELD(llama_context_params, yarn_ext_factor),
    FIELD(llama_context_params, yarn_attn_factor),
    FIELD(llama_context_params, yarn_beta_fast),
    FIELD(llama_context_params, yarn_beta_slow),
    FIELD(llama_context_params, yarn_orig_ctx),
    FIELD(llama_context_params, defrag_thold),
    FIELD(llama_context_params, cb_eval),
    FIELD(llama_context_params, cb_eval_user_data),
    FIELD(llama_context_params, type_k),
    FIELD(llama_context_params, type_v),
    FIELD(llama_context_params, abort_callback),
    FIELD(llama_context_params, abort_callback_data),
    FIELD(llama_context_params, embeddings),
    FIELD(llama_context_params, offload_kqv),
    FIELD(llama_context_params, no_perf),
    FIELD(llama_context_params, op_offload),
    FIELD(llama_context_params, swa_full),
    FIELD(llama_context_params, kv_unified),
    FIELD(llama_context_params, samplers),
    FIELD(llama_context_params, n_samplers),
    FIELD(llama_context_params, ctx_other),

    STRUCT(llama_batch),
    FIELD(llama_batch, n_tokens),
    FIELD(llama_batch, token),
    FIELD(llama_batch, embd),
    FIELD(llama_batch, pos),
    FIELD(llama_batch, n_seq_id),
    FIELD(llama_batch, seq_id),
    FIELD(llama_batch, logits),

    STRUCT(llama_sampler_chain_params),
    FIELD(llama_sampler_chain_params, no_perf),

    STRUCT(llama_chat_message),
    FIELD(llama_chat_message, role),
    FIELD(llama_chat_message, content),

    STRUCT(llama_token_data),
    FIELD(llama_token_data, id),
    FIELD(llama_token_data, logit),
    FIELD(llama_token_data, p),

    STRUCT(llama_token_data_array),
    FIELD(llama_token_data_array, data),
    FIELD(llama_token_data_array, size),
    FIELD(llama_token_data_array, selected),
    FIELD(llama_token_data_array, sorted),

    STRUCT(llama_logit_bias),
    FIELD(llama_logit_bias, token),
    FIELD(llama_logit_bias, bias),

    STRUCT(llama_model_quantize_params),
    FIELD(llama_model_quantize_params, nthread),
    FIELD(llama_model_quantize_params, ftype),
    FIELD(llama_model_quantize_params, output_tensor_type),
    FIELD(llama_model_quantize_params, token_embedding_type),
    FIELD(llama_model_quantize_params, allow_requantize),
    FIELD(llama_model_quantize_params, quantize_output_tensor),
    FIELD(llama_model_quantize_params, only_copy),
    FIELD(llama_model_quantize_params, pure),
    FIELD(llama_model_quantize_params, keep_split),
    FIELD(llama_model_quantize_params, dry_run),
    FIELD(llama_model_quantize_params, imatrix),
    FIELD(llama_model_quantize_params, kv_overrides),
    FIELD(llama_model_quantize_params, tt_overrides),
    FIELD(llama_model_quantize_params, prune_layers),
    FIELD(llama_model_quantize_params, max_buf_size),

    // ggml.h (included by llama.h)
    STRUCT(ggml_type_traits),
    FIELD(ggml_type_traits, type_name),
    FIELD(ggml_type_traits, blck_size),
    FIELD(ggml_type_traits, blck_size_interleave),
    FIELD(ggml_type_traits, type_size),
    FIELD(ggml_type_traits, is_quantized),
    FIELD(ggml_type_traits, to_float),
    FIELD(ggml_type_traits, from_float_ref),

    STRUCT(ggml_init_params),
    FIELD(ggml_init_params, mem_size),
    FIELD(ggml_init_params, mem_buffer),
    FIELD(ggml_init_params, no_alloc),

    STRUCT(ggml_tensor),
    FIELD(ggml_tensor, type),
    FIELD(ggml_tensor, buffer),
    FIELD(ggml_tensor, ne),
    FIELD(ggml_tensor, nb),
    FIELD(ggml_tensor, op),
    FIELD(ggml_tensor, op_params),
    FIELD(ggml_tensor, flags),
    FIELD(ggml_tensor, src),
    FIELD(ggml_tensor, view_src),
    FIELD(ggml_tensor, view_offs),
    FIELD(ggml_tensor, data),
    FIELD(ggml_tensor, name),
    FIELD(ggml_tensor, extra),
    FIELD(ggml_tensor, padding),
};

__attribute__((visibility("default")))
const align4j_layout_entry * align4j_layout_table(size_t * n_entries) {
    *n_entries = sizeof(LAYOUTS) / sizeof(LAYOUTS[0]);
    return LAYOUTS;
}
