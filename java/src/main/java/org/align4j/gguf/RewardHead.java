package org.align4j.gguf;

import java.util.LinkedHashMap;
import java.util.Objects;
import java.util.SequencedMap;
import org.align4j.Align4jException;

/**
 * The scalar head of a reward model: r = w · h + bias, h the final hidden state (after the output norm)
 * at the last token of prompt + response, that token being the EOS appended to the response (TRL's
 * rule, and the one every align4j job tokenizes by).
 *
 * <p>A reward model file is a GGUF that llama.cpp loads as its base architecture (every tensor and key
 * of a causal LM) with the head in metadata, which llama.cpp's loader ignores: {@value #WEIGHTS}, an
 * array of FLOAT32 of the model's embedding length, and {@value #BIAS}, a FLOAT32. An extra tensor
 * would not do: llama.cpp refuses a file with more tensors than its architecture names.
 *
 * @param weights w, of the model's embedding length
 */
public record RewardHead(float[] weights, float bias) {
    public static final String WEIGHTS = "align4j.reward.head";
    public static final String BIAS = "align4j.reward.bias";

    public RewardHead {
        Objects.requireNonNull(weights, "weights");
        if (weights.length == 0) {
            throw new IllegalArgumentException("a reward head needs at least one weight");
        }
        for (float v : weights) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("a reward head weight is " + v);
            }
        }
        if (!Float.isFinite(bias)) {
            throw new IllegalArgumentException("the reward head's bias is " + bias);
        }
    }

    /** Whether {@code file} carries a head (it may still be a malformed one). */
    public static boolean present(GgufFile file) {
        return file.has(WEIGHTS);
    }

    /**
     * The head of {@code file}, a model of hidden size {@code hiddenSize}.
     *
     * @throws Align4jException naming the file if it has no head, or one of the wrong type or length
     */
    public static RewardHead read(GgufFile file, int hiddenSize) {
        if (!present(file)) {
            throw new Align4jException(file.path() + ": not a reward model (no " + WEIGHTS + "; align4j rm train or rm attach writes one)");
        }
        GgufValue w = file.value(WEIGHTS).orElseThrow();
        if (w.type() != GgufValueType.ARRAY || w.elementType() != GgufValueType.FLOAT32) {
            throw new Align4jException(file.path() + ": " + WEIGHTS + " is " + w.describeType() + ", not an array of FLOAT32");
        }
        float[] weights = (float[]) w.value();
        if (weights.length != hiddenSize) {
            throw new Align4jException(file.path() + ": " + WEIGHTS + " has " + weights.length + " weights, and the model's hidden size is " + hiddenSize);
        }
        float bias = 0;
        if (file.has(BIAS)) {
            GgufValue b = file.value(BIAS).orElseThrow();
            if (b.type() != GgufValueType.FLOAT32) {
                throw new Align4jException(file.path() + ": " + BIAS + " is " + b.describeType() + ", not FLOAT32");
            }
            bias = (Float) b.value();
        }
        try {
            return new RewardHead(weights, bias);
        } catch (IllegalArgumentException e) {
            throw new Align4jException(file.path() + ": " + e.getMessage(), e);
        }
    }

    /** The key-value pairs that carry this head, to add to the model's own. */
    public SequencedMap<String, GgufValue> metadata() {
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put(WEIGHTS, GgufValue.array(GgufValueType.FLOAT32, weights.clone()));
        m.put(BIAS, GgufValue.float32(bias));
        return m;
    }

    public int hiddenSize() {
        return weights.length;
    }

    /** w · h + bias, summed in double. */
    public double reward(float[] hidden, int offset) {
        double r = bias;
        for (int i = 0; i < weights.length; i++) {
            r += (double) weights[i] * hidden[offset + i];
        }
        return r;
    }
}
