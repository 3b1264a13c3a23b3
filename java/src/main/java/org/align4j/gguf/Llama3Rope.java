package org.align4j.gguf;

/**
 * Llama 3.1's RoPE scaling ({@code rope_type = "llama3"} in a Hugging Face config), which GGUF keeps as
 * one tensor, {@code rope_freqs.weight} [D/2]: pair p's frequency base^(-2p/D) is divided by factor p.
 * Wavelengths (2 pi / frequency) shorter than originalContext / highFreqFactor keep their frequency,
 * those longer than originalContext / lowFreqFactor are divided by {@code factor}, and those between
 * are interpolated (llama.cpp's conversion/llama.py, generate_extra_tensors).
 */
public record Llama3Rope(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
    /** Llama 3.2 1B and 3B: factor 32, low 1, high 4, original context 8192 (their config.json). */
    public static final Llama3Rope LLAMA_3_2 = new Llama3Rope(32f, 1f, 4f, 8192);

    public Llama3Rope {
        if (!(factor >= 1) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalContext <= 0) {
            throw new IllegalArgumentException("Llama 3 RoPE scaling needs factor >= 1, 0 < low < high and a positive original"
                    + " context, not factor " + factor + ", low " + lowFreqFactor + ", high " + highFreqFactor + ", context " + originalContext);
        }
    }

    /** Llama 3.1's defaults with another factor and original context. */
    public static Llama3Rope of(float factor, int originalContext) {
        return new Llama3Rope(factor, 1f, 4f, originalContext);
    }

    /** The rope_freqs values for heads of width {@code headDim} and base {@code base}: (D/2,). */
    public float[] freqFactors(int headDim, float base) {
        double lowFreqWavelen = originalContext / (double) lowFreqFactor;
        double highFreqWavelen = originalContext / (double) highFreqFactor;
        float[] out = new float[headDim / 2];
        for (int p = 0; p < out.length; p++) {
            double wavelen = 2 * Math.PI * Math.pow(base, 2.0 * p / headDim);
            if (wavelen < highFreqWavelen) {
                out[p] = 1f;
            } else if (wavelen > lowFreqWavelen) {
                out[p] = factor;
            } else {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[p] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }
}
