package org.align4j.llama;

import static org.align4j.llama.LlamaLayouts.LLAMA_LOGIT_BIAS;
import static org.align4j.llama.LlamaLayouts.LLAMA_SAMPLER_CHAIN_PARAMS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Owns one llama.cpp sampler chain; the samplers added to it belong to the chain and are freed with it.
 * Build with {@link #builder()}: filters (suppressed tokens, penalties, top-k, top-p, min-p, temperature)
 * in that order, then a terminal {@code dist(seed)} or {@code greedy()}.
 */
public final class SamplerChain implements AutoCloseable {
    private static final VarHandle NO_PERF = LlamaLayouts.field(LLAMA_SAMPLER_CHAIN_PARAMS, "no_perf");
    private static final VarHandle BIAS_TOKEN = LlamaLayouts.field(LLAMA_LOGIT_BIAS, "token");
    private static final VarHandle BIAS_BIAS = LlamaLayouts.field(LLAMA_LOGIT_BIAS, "bias");

    private MemorySegment handle;

    private SamplerChain(MemorySegment handle) {
        this.handle = handle;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Samples from the logits of output {@code idx} of the context's last decode, and accepts the token. */
    public int sample(Context ctx, int idx) {
        return Llama.llama_sampler_sample(handle(), ctx.handle(), idx);
    }

    /** Tells stateful samplers (penalties) about a token chosen elsewhere. */
    public void accept(int token) {
        Llama.llama_sampler_accept(handle(), token);
    }

    /** Back to the state after construction (penalty history cleared; the RNG is reseeded). */
    public void reset() {
        Llama.llama_sampler_reset(handle());
    }

    public int length() {
        return Llama.llama_sampler_chain_n(handle());
    }

    private MemorySegment handle() {
        if (handle == null) {
            throw new IllegalStateException("sampler chain is closed");
        }
        return handle;
    }

    @Override
    public void close() {
        if (handle != null) {
            Llama.llama_sampler_free(handle);
            handle = null;
        }
    }

    /** Collects the chain's samplers; nothing native is made until {@link #dist} or {@link #greedy}. */
    public static final class Builder {
        private int[] suppressed = new int[0];
        private int penaltyLastN;
        private float penaltyRepeat = 1f;
        private int topK;
        private float topP = 1f;
        private float minP;
        private float temperature = 1f;

        private Builder() {}

        /**
         * Never samples {@code tokens}: a logit bias of -infinity on each, first in the chain (llama.cpp's
         * {@code --ignore-eos} with the end-of-generation tokens).
         */
        public Builder suppress(int[] tokens) {
            this.suppressed = tokens.clone();
            return this;
        }

        public Builder repetitionPenalty(int lastN, float repeat) {
            this.penaltyLastN = lastN;
            this.penaltyRepeat = repeat;
            return this;
        }

        /** 0 = off */
        public Builder topK(int k) {
            this.topK = k;
            return this;
        }

        /** 1 = off */
        public Builder topP(float p) {
            this.topP = p;
            return this;
        }

        /** 0 = off */
        public Builder minP(float p) {
            this.minP = p;
            return this;
        }

        public Builder temperature(float t) {
            this.temperature = t;
            return this;
        }

        /** Ends the chain with a seeded random draw from the filtered distribution. */
        public SamplerChain dist(int seed, int nVocab) {
            Llama.ensureLoaded();
            return build(nVocab, Llama.llama_sampler_init_dist(seed));
        }

        /** Ends the chain with argmax. */
        public SamplerChain greedy(int nVocab) {
            Llama.ensureLoaded();
            return build(nVocab, Llama.llama_sampler_init_greedy());
        }

        private SamplerChain build(int nVocab, MemorySegment terminal) {
            MemorySegment chain;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment params = Llama.llama_sampler_chain_default_params(arena);
                NO_PERF.set(params, 0L, true);
                chain = Llama.llama_sampler_chain_init(params);
                if (suppressed.length > 0) {
                    // (n, llama_logit_bias): llama.cpp copies the array into the sampler.
                    MemorySegment biases = arena.allocate(LLAMA_LOGIT_BIAS, suppressed.length);
                    for (int i = 0; i < suppressed.length; i++) {
                        MemorySegment b = biases.asSlice(i * LLAMA_LOGIT_BIAS.byteSize(), LLAMA_LOGIT_BIAS);
                        BIAS_TOKEN.set(b, 0L, suppressed[i]);
                        BIAS_BIAS.set(b, 0L, Float.NEGATIVE_INFINITY);
                    }
                    Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_logit_bias(nVocab, suppressed.length, biases));
                }
            }
            if (penaltyLastN != 0 && penaltyRepeat != 1f) {
                Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_penalties(nVocab, penaltyLastN, penaltyRepeat, 0f, 0f));
            }
            if (topK > 0) {
                Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_top_k(topK));
            }
            if (topP < 1f) {
                Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_top_p(topP, 1));
            }
            if (minP > 0f) {
                Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_min_p(minP, 1));
            }
            if (temperature != 1f) {
                Llama.llama_sampler_chain_add(chain, Llama.llama_sampler_init_temp(temperature));
            }
            Llama.llama_sampler_chain_add(chain, terminal);
            return new SamplerChain(chain);
        }
    }
}
