package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufRoundTripTest {
    @TempDir Path dir;

    /** One key per scalar type and one array per element type, including strings and an empty array. */
    static SequencedMap<String, GgufValue> everyValueType() {
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("llama"));
        m.put("t.uint8", GgufValue.uint8((byte) 0xFF));
        m.put("t.int8", GgufValue.int8((byte) -128));
        m.put("t.uint16", GgufValue.uint16((short) 0xFFFF));
        m.put("t.int16", GgufValue.int16((short) -2));
        m.put("t.uint32", GgufValue.uint32(0xFFFFFFFF));
        m.put("t.int32", GgufValue.int32(-3));
        m.put("t.uint64", GgufValue.uint64(Long.MAX_VALUE));
        m.put("t.int64", GgufValue.int64(Long.MIN_VALUE));
        m.put("t.float32", GgufValue.float32(1.5e-7f));
        m.put("t.float64", GgufValue.float64(-Math.PI));
        m.put("t.bool", GgufValue.bool(true));
        m.put("t.string", GgufValue.string("héllo ▁wörld 🦙"));
        m.put("t.a.uint8", GgufValue.array(GgufValueType.UINT8, new byte[] {0, 1, (byte) 255}));
        m.put("t.a.int8", GgufValue.array(GgufValueType.INT8, new byte[] {-1, 2}));
        m.put("t.a.uint16", GgufValue.array(GgufValueType.UINT16, new short[] {1, (short) 65535}));
        m.put("t.a.int16", GgufValue.array(GgufValueType.INT16, new short[] {-5}));
        m.put("t.a.uint32", GgufValue.array(GgufValueType.UINT32, new int[] {7, -1}));
        m.put("t.a.int32", GgufValue.array(GgufValueType.INT32, new int[] {-7, 9, 11}));
        m.put("t.a.uint64", GgufValue.array(GgufValueType.UINT64, new long[] {1L << 40}));
        m.put("t.a.int64", GgufValue.array(GgufValueType.INT64, new long[] {-1L << 40, 3}));
        m.put("t.a.float32", GgufValue.array(GgufValueType.FLOAT32, new float[] {0.25f, Float.NEGATIVE_INFINITY}));
        m.put("t.a.float64", GgufValue.array(GgufValueType.FLOAT64, new double[] {1e300, -0.0}));
        m.put("t.a.bool", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false, true}));
        m.put("t.a.string", GgufValue.array(GgufValueType.STRING, new String[] {"", "a", "<0x0A>", "日本"}));
        m.put("t.a.empty", GgufValue.array(GgufValueType.INT32, new int[0]));
        return m;
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * 0.02);
        }
        return x;
    }

    static GgufWriter.Tensor tensor(String name, GgmlType type, float[] values, long... dims) {
        return new GgufWriter.Tensor(name, type, dims, dst -> GgmlQuants.quantize(type, values, dst));
    }

    @Test
    void everyMetadataTypeAndTensorTypeRoundTrips() {
        float[] a = gaussian(64 * 3, 1);
        float[] b = gaussian(32, 2);
        float[] c = gaussian(96 * 2 * 2, 3);
        List<GgufWriter.Tensor> tensors = List.of(
                tensor("a.f32", GgmlType.F32, a, 64, 3),
                tensor("b.f16", GgmlType.F16, b, 32),
                tensor("c.q8_0", GgmlType.Q8_0, c, 96, 2, 2));
        Path file = dir.resolve("all.gguf");
        long size = GgufWriter.write(file, everyValueType(), tensors);

        try (GgufFile f = GgufFile.open(file)) {
            assertThat(f.fileSize()).isEqualTo(size);
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.metadata()).containsExactlyEntriesOf(everyValueType());
            assertThat(f.dataOffset() % 32).isZero();
            assertThat(f.tensors()).extracting(GgufTensorInfo::name).containsExactly("a.f32", "b.f16", "c.q8_0");
            assertThat(f.tensor("c.q8_0").dims()).containsExactly(96, 2, 2);
            assertThat(f.tensor("c.q8_0").type()).isEqualTo(GgmlType.Q8_0);
            for (GgufTensorInfo t : f.tensors()) {
                assertThat(t.offset() % 32).as("offset of %s", t.name()).isZero();
            }
            // Tolerances: F32 exact; F16 2^-11 relative of values |x| < 0.1; Q8_0 0.57 steps of amax/127.
            assertThat(maxAbsDiff(f, "a.f32", a)).isZero();
            assertThat(maxAbsDiff(f, "b.f16", b)).isLessThanOrEqualTo(0.1 * Math.scalb(1.0, -11));
            assertThat(maxAbsDiff(f, "c.q8_0", c)).isLessThanOrEqualTo(0.57 * 0.1 / 127);
            assertThat(f.integer("t.uint32")).isEqualTo(0xFFFFFFFFL);
            assertThat(f.integer("t.uint8")).isEqualTo(255);
            assertThat(f.number("t.float64")).isEqualTo(-Math.PI);
            assertThat(f.bool("t.bool")).isTrue();
            assertThat(f.stringArray("t.a.string")).containsExactly("", "a", "<0x0A>", "日本");
        }
    }

    private static double maxAbsDiff(GgufFile f, String name, float[] source) {
        float[] back = new float[source.length];
        GgmlQuants.dequantize(f.tensor(name).type(), f.tensorData(name), back);
        double max = 0;
        for (int i = 0; i < source.length; i++) {
            max = Math.max(max, Math.abs(source[i] - back[i]));
        }
        System.out.printf("round trip %-7s %s: max abs diff vs f32 source = %.3g%n", f.tensor(name).type(), name, max);
        return max;
    }

    /** Everything a file holds, ready to write again: its metadata and its tensors' bytes copied verbatim. */
    static List<GgufWriter.Tensor> copyOfTensors(GgufFile f) {
        List<GgufWriter.Tensor> out = new ArrayList<>();
        for (GgufTensorInfo t : f.tensors()) {
            MemorySegment src = f.tensorData(t.name());
            out.add(new GgufWriter.Tensor(t.name(), t.type(), t.dims(), dst -> dst.copyFrom(src)));
        }
        return out;
    }

    @Test
    void rewritingWhatWasReadIsByteIdentical() throws IOException {
        Path first = dir.resolve("first.gguf");
        SequencedMap<String, GgufValue> meta = everyValueType();
        meta.put("general.alignment", GgufValue.uint32(64));
        GgufWriter.write(first, meta, List.of(tensor("x", GgmlType.Q8_0, gaussian(32 * 5, 4), 32, 5),
                tensor("y", GgmlType.F32, gaussian(3, 5), 3)));
        Path second = dir.resolve("second.gguf");
        try (GgufFile f = GgufFile.open(first)) {
            assertThat(f.alignment()).isEqualTo(64);
            assertThat(f.dataOffset() % 64).isZero();
            GgufWriter.write(second, f.metadata(), copyOfTensors(f));
        }
        assertThat(Arrays.mismatch(Files.readAllBytes(second), Files.readAllBytes(first))).as("first differing byte").isEqualTo(-1);
    }

    @Test
    void rewritingARealVocabFileIsByteIdentical() throws IOException {
        Path vocab = VocabFiles.named("llama-spm");
        Path copy = dir.resolve("vocab.gguf");
        try (GgufFile f = GgufFile.open(vocab)) {
            assertThat(f.arrayLength("tokenizer.ggml.tokens")).isEqualTo(32000);
            GgufWriter.write(copy, f.metadata(), copyOfTensors(f));
        }
        assertThat(Arrays.mismatch(Files.readAllBytes(copy), Files.readAllBytes(vocab))).as("first differing byte").isEqualTo(-1);
    }

    @Test
    void readsVersion2() throws IOException {
        Path file = dir.resolve("v2.gguf");
        GgufWriter.write(file, everyValueType(), List.of(tensor("x", GgmlType.F32, new float[] {1, 2}, 2)));
        byte[] bytes = Files.readAllBytes(file);
        bytes[4] = 2; // version u32 little-endian at offset 4; v2 and v3 share the little-endian layout
        Files.write(file, bytes);
        try (GgufFile f = GgufFile.open(file)) {
            assertThat(f.version()).isEqualTo(2);
            assertThat(f.metadata()).containsExactlyEntriesOf(everyValueType());
        }
    }

    @Test
    void typedAccessorsNameFileAndKeyOnMismatch() {
        Path file = dir.resolve("m.gguf");
        GgufWriter.write(file, everyValueType(), List.of());
        try (GgufFile f = GgufFile.open(file)) {
            assertThatThrownBy(() -> f.string("t.int32")).isInstanceOf(Align4jException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("t.int32").hasMessageContaining("expected STRING");
            assertThatThrownBy(() -> f.integer("no.such.key")).isInstanceOf(Align4jException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("no.such.key");
            assertThatThrownBy(() -> f.tensorData("nope")).isInstanceOf(Align4jException.class).hasMessageContaining("nope");
        }
    }

    @Test
    void closeIsIdempotentAndEndsTensorViews() {
        Path file = dir.resolve("c.gguf");
        GgufWriter.write(file, everyValueType(), List.of(tensor("x", GgmlType.F32, new float[] {1, 2}, 2)));
        GgufFile f = GgufFile.open(file);
        MemorySegment view = f.tensorData("x");
        f.close();
        f.close();
        assertThatThrownBy(() -> view.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aFailedWriteLeavesNoFileAndKeepsTheOldOne() throws IOException {
        Path out = dir.resolve("out.gguf");
        Files.writeString(out, "previous");
        GgufWriter.Tensor failing = new GgufWriter.Tensor("x", GgmlType.F32, new long[] {4}, dst -> {
            throw new IllegalStateException("generator failed");
        });
        assertThatThrownBy(() -> GgufWriter.write(out, everyValueType(), List.of(failing)))
                .hasMessageContaining("generator failed");
        assertThat(Files.readString(out)).isEqualTo("previous");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(out);
        }
    }
}
