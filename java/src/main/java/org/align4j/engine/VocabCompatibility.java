package org.align4j.engine;

import java.nio.file.Path;
import java.util.Arrays;
import org.align4j.Align4jException;
import org.align4j.gguf.GgufFile;

/** Policy and reference log-probs are only comparable over one vocabulary: checked before any work. */
public final class VocabCompatibility {
    private VocabCompatibility() {}

    private static final String TOKENS = "tokenizer.ggml.tokens";

    /** Throws, naming both files, unless their token lists are identical. */
    public static void check(Path policy, Path reference) {
        String[] a = tokens(policy);
        String[] b = tokens(reference);
        if (a.length != b.length) {
            throw new Align4jException("policy " + policy + " has " + a.length + " tokens but reference " + reference
                    + " has " + b.length + ": they must share one vocabulary");
        }
        int i = Arrays.mismatch(a, b);
        if (i >= 0) {
            throw new Align4jException("policy " + policy + " and reference " + reference + " differ at token " + i
                    + " ('" + a[i] + "' vs '" + b[i] + "'): they must share one vocabulary");
        }
    }

    private static String[] tokens(Path gguf) {
        try (GgufFile f = GgufFile.open(gguf)) {
            if (!f.has(TOKENS)) {
                throw new Align4jException(gguf + " has no " + TOKENS + ": not a model with a tokenizer");
            }
            return f.stringArray(TOKENS);
        }
    }
}
