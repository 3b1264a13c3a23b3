package org.align4j.rm;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.align4j.gguf.Safetensors;

/**
 * {@code align4j rm attach}: a Hugging Face reward model's head ({@code score.weight} [num_labels, hidden]
 * of a {@code *ForSequenceClassification}, no bias, applied to the final-normed hidden state at the last
 * token) attached to the GGUF of the same checkpoint converted as a causal LM: the GGUF written again
 * with the head in metadata ({@link RewardModelFile}), its tensors byte for byte.
 */
public final class RmAttach {
    /** The tensor Hugging Face's sequence-classification models name their head. */
    public static final String SCORE = "score.weight";

    private RmAttach() {}

    /**
     * Writes {@code model} with the head of {@code head} to {@code out}; returns the head.
     *
     * @throws Align4jException naming the file: not a safetensors file, no {@value #SCORE}, num_labels != 1,
     *     a hidden size other than the model's
     */
    public static RewardHead attach(Path model, Path head, Path out) {
        Map<String, Safetensors.Tensor> tensors = Safetensors.read(head);
        Safetensors.Tensor score = tensors.get(SCORE);
        if (score == null) {
            throw new Align4jException(head + ": no " + SCORE + " (tensors: " + tensors.keySet()
                    + "); save the reward model's score.weight into its own safetensors file");
        }
        long[] shape = score.shape();
        if (shape.length != 2) {
            throw new Align4jException(head + ": " + SCORE + " has shape " + Arrays.toString(shape) + ", not [num_labels, hidden]");
        }
        if (shape[0] != 1) {
            throw new Align4jException(head + ": " + SCORE + " has num_labels = " + shape[0] + " (shape " + Arrays.toString(shape)
                    + "); a scalar reward model has num_labels = 1");
        }
        try (GgufFile m = GgufFile.open(model)) {
            int hidden = RewardModelFile.hiddenSize(m);
            if (shape[1] != hidden) {
                throw new Align4jException(head + ": " + SCORE + " has hidden size " + shape[1] + ", and " + model
                        + " has embedding length " + hidden + ": not the same checkpoint");
            }
            RewardHead h;
            try {
                h = new RewardHead(score.values(), 0f);
            } catch (IllegalArgumentException e) {
                throw new Align4jException(head + ": " + SCORE + ": " + e.getMessage(), e);
            }
            RewardModelFile.write(m, h, out);
            return h;
        }
    }
}
