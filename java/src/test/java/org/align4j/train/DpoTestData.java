package org.align4j.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.align4j.gguf.CharTokenizer;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SyntheticLlama;

/** Small models and preference sets for the DPO tests (shared by the job and the CLI tests). */
public final class DpoTestData {
    /**
     * A model small enough for hundreds of steps in a second or two: 2 layers, C = 32, 4 heads on 2 KV
     * heads, F = 64, context 256, tied output, the character tokenizer (V = 259).
     */
    public static final LlamaShape SHAPE = new LlamaShape(2, 32, 4, 2, 64, 256, 10_000f, 1e-5f, true);

    private DpoTestData() {}

    public static Path model(Path dir, String name, GgmlType type, long seed) {
        return model(dir, name, SHAPE, null, type, seed);
    }

    /** A model of {@code shape} (its architecture) with the character tokenizer, and Llama 3's rope_freqs unless null. */
    public static Path model(Path dir, String name, LlamaShape shape, Llama3Rope ropeFreqs, GgmlType type, long seed) {
        Path out = dir.resolve(name + ".gguf");
        SyntheticLlama.write(out, name, shape, ropeFreqs, CharTokenizer.metadata(), type, seed);
        return out;
    }

    /**
     * {@code n} pairs with one consistent preference: the prompt is three random letters and a colon,
     * the chosen completion repeats the letters, the rejected one reverses them ("abc:" -> " abc" over
     * " cba"). Palindromes are redrawn, so chosen and rejected always differ.
     */
    public static List<String> copyOverReverse(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>();
        while (lines.size() < n) {
            StringBuilder w = new StringBuilder();
            for (int i = 0; i < 3; i++) {
                w.append((char) ('a' + rng.nextInt(26)));
            }
            String word = w.toString();
            String reversed = w.reverse().toString();
            if (word.equals(reversed)) {
                continue;
            }
            lines.add(String.format(Locale.ROOT, "{\"prompt\": \"%s:\", \"chosen\": \" %s\", \"rejected\": \" %s\"}", word, word, reversed));
        }
        return lines;
    }

    public static Path write(Path file, List<String> lines) {
        try {
            Files.write(file, lines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Copies a GGUF, letting {@code editKeys} change its metadata and keeping only the first
     * {@code embdRows} rows of {@code token_embd.weight} (all of them when it is negative): for models
     * the trainer must refuse.
     */
    public static Path rewrite(Path src, Path dst, Consumer<SequencedMap<String, GgufValue>> editKeys, int embdRows) {
        try (GgufFile f = GgufFile.open(src)) {
            SequencedMap<String, GgufValue> keys = new LinkedHashMap<>(f.metadata());
            editKeys.accept(keys);
            List<GgufWriter.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                long[] dims = t.dims();
                if (t.name().equals("token_embd.weight") && embdRows >= 0) {
                    dims[1] = embdRows;
                }
                MemorySegment data = f.tensorData(t.name());
                tensors.add(new GgufWriter.Tensor(t.name(), t.type(), dims,
                        to -> MemorySegment.copy(data, 0, to, 0, to.byteSize())));
            }
            GgufWriter.write(dst, keys, tensors);
        }
        return dst;
    }
}
