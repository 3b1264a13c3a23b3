package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.TokenizerMetadata;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Files quantized by llama.cpp's own quantizer load in llama.cpp and decode, and every tensor in them,
 * whatever mix of types llama.cpp chose, decodes in Java exactly as ggml decodes it.
 */
class ModelQuantizerTest {
    @TempDir static Path tmp;

    // Rows of 256 and 512 values (whole k-quant super-blocks), so each file type keeps its own types.
    static final LlamaShape WIDE = new LlamaShape(2, 256, 4, 2, 512, 256, 10_000f, 1e-5f, false);
    // Rows of 64 and 128: llama.cpp falls back to 32-value block types for the k-quants.
    static final LlamaShape NARROW = new LlamaShape(2, 64, 4, 2, 128, 256, 10_000f, 1e-5f, false);

    static Path wideF32;
    static Path narrowF32;

    @BeforeAll
    static void writeF32Models() {
        wideF32 = synth(tmp.resolve("wide-f32.gguf"), WIDE);
        narrowF32 = synth(tmp.resolve("narrow-f32.gguf"), NARROW);
    }

    static Path synth(Path out, LlamaShape shape) {
        SyntheticLlama.write(out, "quantizer-test", shape, TokenizerMetadata.named("char"), GgmlType.F32, 3);
        return out;
    }

    /**
     * Relative RMS error (RMS of quantized - source over the source's RMS) each type must stay under:
     * 2^-(b-2) for b bits a weight (BF16: 8 bits of mantissa, 2^-8), about three times what rounding these
     * Gaussian weights costs (worst tensors seen: Q4 0.086, Q5 0.043, Q6 0.018, Q8 0.0055, BF16 0.0017).
     */
    static double tolerance(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case BF16 -> 0x1p-8;
            case Q8_0 -> 0x1p-6;
            case Q6_K -> 0x1p-4;
            case Q5_0, Q5_1, Q5_K -> 0x1p-3;
            case Q4_0, Q4_1, Q4_K -> 0x1p-2;
            default -> throw new AssertionError("no tolerance stated for " + type);
        };
    }

    /**
     * Decodes every tensor of {@code quantized} with GgmlQuants and with ggml's to_float, asserting they
     * agree bit for bit and stay within {@link #tolerance} of the F32 source; returns the tensor count by type.
     */
    static Map<GgmlType, Integer> checkEveryTensor(Path source, Path quantized) {
        Map<GgmlType, Integer> mix = new EnumMap<>(GgmlType.class);
        Map<GgmlType, Double> worst = new EnumMap<>(GgmlType.class);
        long values = 0;
        try (GgufFile src = GgufFile.open(source); GgufFile q = GgufFile.open(quantized)) {
            assertThat(q.tensors()).hasSameSizeAs(src.tensors());
            for (GgufTensorInfo t : q.tensors()) {
                int n = Math.toIntExact(t.elementCount());
                GgmlType type = t.type();
                mix.merge(type, 1, Integer::sum);
                assertThat(GgmlQuants.DECODED).as("%s: type %s", t.name(), type).contains(type);
                MemorySegment data = q.tensorData(t.name());
                float[] java = new float[n];
                GgmlQuants.dequantize(type, data, java);
                float[] original = src.tensorData(t.name()).toArray(JAVA_FLOAT);
                if (type != GgmlType.F32) { // ggml has no to_float for F32; it must equal the source below
                    float[] ggml = GgmlQuantization.dequantize(type.id(), data.toArray(JAVA_BYTE), n);
                    for (int i = 0; i < n; i++) {
                        if (Float.floatToRawIntBits(java[i]) != Float.floatToRawIntBits(ggml[i])) {
                            throw new AssertionError(quantized + ": " + t.name() + " (" + type + ") value " + i + ": ggml "
                                    + ggml[i] + ", Java " + java[i]);
                        }
                    }
                }
                double err = 0;
                double norm = 0;
                for (int i = 0; i < n; i++) {
                    err += (java[i] - (double) original[i]) * (java[i] - (double) original[i]);
                    norm += (double) original[i] * original[i];
                }
                double relative = Math.sqrt(err / norm);
                worst.merge(type, relative, Math::max);
                assertThat(relative).as("%s (%s): relative RMS error", t.name(), type).isLessThanOrEqualTo(tolerance(type));
                values += n;
            }
        }
        System.out.printf("%s: %d tensors, %d values decoded bit-identical to ggml; types %s; worst relative RMS error %s%n",
                quantized.getFileName(), mix.values().stream().mapToInt(Integer::intValue).sum(), values, mix, worst);
        return mix;
    }

    static void loadAndDecode(Path file) {
        try (Model m = Model.load(file, ModelOptions.DEFAULT);
             Context c = Context.create(m, ContextOptions.single(64));
             Batch b = new Batch(8, 1)) {
            int[] prompt = m.vocab().tokenize("12+34=", true, false);
            for (int i = 0; i < prompt.length; i++) {
                b.add(prompt[i], i, 0, i == prompt.length - 1);
            }
            c.decode(b);
            float[] logits = c.logits(-1).toArray(JAVA_FLOAT);
            assertThat(logits).hasSize(m.vocab().nTokens());
            for (float v : logits) {
                assertThat(Float.isFinite(v)).as("%s: logits are finite", file).isTrue();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LlamaFileType.class)
    void quantizedModelLoadsAndEveryTensorDecodesAsGgmlDoes(LlamaFileType fileType) throws IOException {
        Path out = tmp.resolve("wide-" + fileType + ".gguf");
        ModelQuantizer.quantize(wideF32, out, fileType, 2);
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("general.file_type")).isEqualTo(fileType.id());
        }
        Map<GgmlType, Integer> mix = checkEveryTensor(wideF32, out);
        GgmlType[] expected = switch (fileType) {
            case MOSTLY_Q4_0 -> new GgmlType[] {GgmlType.Q4_0};
            case MOSTLY_Q8_0 -> new GgmlType[] {GgmlType.Q8_0};
            case MOSTLY_Q4_K_M -> new GgmlType[] {GgmlType.Q4_K, GgmlType.Q6_K}; // Q6_K: output, some attn_v and ffn_down
            case MOSTLY_Q5_K_M -> new GgmlType[] {GgmlType.Q5_K, GgmlType.Q6_K};
            case MOSTLY_Q6_K -> new GgmlType[] {GgmlType.Q6_K};
            case MOSTLY_BF16 -> new GgmlType[] {GgmlType.BF16};
        };
        assertThat(mix).containsKeys(expected).containsEntry(GgmlType.F32, 2 * WIDE.layers() + 1); // the norms
        loadAndDecode(out);
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left.filter(p -> p.getFileName().toString().endsWith(".tmp"))).isEmpty();
        }
    }

    @ParameterizedTest
    @CsvSource({"MOSTLY_Q4_K_M, Q5_0", "MOSTLY_Q5_K_M, Q5_1", "MOSTLY_Q6_K, Q8_0"})
    void rowsThatAreNotWholeSuperBlocksFallBackToTypesThatDecodeToo(LlamaFileType fileType, GgmlType fallback) {
        Path out = tmp.resolve("narrow-" + fileType + ".gguf");
        ModelQuantizer.quantize(narrowF32, out, fileType, 2);
        Map<GgmlType, Integer> mix = checkEveryTensor(narrowF32, out);
        assertThat(mix).containsKey(fallback).doesNotContainKeys(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
        loadAndDecode(out);
    }

    @Test
    void theBytesDoNotDependOnTheThreadCount() throws IOException {
        Path one = tmp.resolve("threads-1.gguf");
        Path three = tmp.resolve("threads-3.gguf");
        ModelQuantizer.quantize(wideF32, one, LlamaFileType.MOSTLY_Q4_K_M, 1);
        ModelQuantizer.quantize(wideF32, three, LlamaFileType.MOSTLY_Q4_K_M, 3);
        System.out.printf("Q4_K_M on 1 and 3 threads: %d bytes each, first difference at %d (-1: none)%n", Files.size(one), Files.mismatch(one, three));
        assertThat(Files.mismatch(one, three)).isEqualTo(-1);
    }

    @Test
    void aFileThatIsNotAModelIsRefusedNamingItAndNothingIsLeftBehind() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("refused"));
        Path bad = Files.writeString(dir.resolve("notes.gguf"), "not a model");
        Path out = dir.resolve("out.gguf");
        assertThatThrownBy(() -> ModelQuantizer.quantize(bad, out, LlamaFileType.MOSTLY_Q8_0, 1))
                .isInstanceOf(Align4jException.class)
                .hasMessageStartingWith(bad + ": cannot quantize to MOSTLY_Q8_0 into " + out + ": ")
                .hasMessageContaining("failed to quantize");
        assertThatThrownBy(() -> ModelQuantizer.quantize(dir.resolve("missing.gguf"), out, LlamaFileType.MOSTLY_Q8_0, 1))
                .isInstanceOf(Align4jException.class)
                .hasMessage(dir.resolve("missing.gguf") + ": cannot quantize: no such file");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).containsExactly(bad);
        }
    }

    @Test
    void theUnquantizedTemporaryFileIsRemovedWhenItsWriterFails() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("writer-fails"));
        Path out = dir.resolve("out.gguf");
        Path[] written = new Path[1];
        assertThatThrownBy(() -> ModelQuantizer.writeQuantized(out, LlamaFileType.MOSTLY_Q8_0, 1, unquantized -> {
            written[0] = unquantized;
            throw new Align4jException("disk full");
        })).hasMessage("disk full");
        assertThat(written[0].getParent()).isEqualTo(dir.toAbsolutePath());
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }
}
