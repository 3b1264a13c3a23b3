package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.LlamaShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's files as PEFT writes them, the GGUF -> PEFT -> GGUF round trip byte for byte, and llama's q/k
 * row permutation against a plain reimplementation of convert_hf_to_gguf.py's {@code LlamaModel.permute}.
 */
class PeftAdapterTest {
    // L = 2 blocks, C = 16, H = 4 query heads, G = 2 key/value heads, D = 4, F = 24; rank r = 3.
    static final LlamaShape LLAMA = new LlamaShape(2, 16, 4, 2, 24, 64, 10000f, 1e-5f, true);
    static final LlamaShape QWEN2 = LLAMA.withArchitecture(Architecture.QWEN2);
    static final int R = 3;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A GGUF adapter laid out as LoraExport writes it, on every target of every block, with random A and B. */
    static Path adapter(Path dir, LlamaShape shape, float alpha, long seed, Map<String, float[]> values) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (int l = 0; l < shape.layers(); l++) {
            for (LoraParams.Target t : LoraParams.Target.values()) {
                long[] dims = t.kind.dims(shape, 0);
                String name = t.kind.nameIn(l);
                tensors.add(tensor(name + ".lora_a", new long[] {dims[0], R}, rng, values));
                tensors.add(tensor(name + ".lora_b", new long[] {R, dims[1]}, rng, values));
            }
        }
        Path out = dir.resolve(shape.architecture().ggufName() + "-adapter.gguf");
        GgufWriter.write(out, LoraExport.metadata(shape.architecture(), alpha), tensors);
        return out;
    }

    private static GgufWriter.Tensor tensor(String name, long[] dims, SplittableRandom rng, Map<String, float[]> values) {
        float[] x = new float[Math.toIntExact(dims[0] * dims[1])];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        values.put(name, x);
        return new GgufWriter.Tensor(name, GgmlType.F32, dims, to -> GgmlQuants.quantize(GgmlType.F32, x, to));
    }

    /** The safetensors header: (N, JSON) of the 8-byte little-endian length N and the N bytes after it. */
    record Header(long length, ObjectNode json) {}

    static Header header(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return new Header(n, (ObjectNode) JSON.readTree(new String(bytes, 8, Math.toIntExact(n), StandardCharsets.UTF_8)));
    }

    static float[] data(Path file, String key) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long start = 8 + buf.getLong(0);
        JsonNode off = header(file).json().get(key).get("data_offsets");
        float[] v = new float[(int) (off.get(1).asLong() - off.get(0).asLong()) / 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = buf.getFloat((int) (start + off.get(0).asLong()) + 4 * i);
        }
        return v;
    }

    @Test
    void safetensorsHeaderKeysShapesAndConfigAreAsPeftWritesThem() throws IOException {
        Map<String, float[]> values = new HashMap<>();
        Path gguf = adapter(tmp, LLAMA, 6f, 1, values);
        Path dir = tmp.resolve("peft");
        PeftAdapter.write(gguf, LLAMA, "tiny-llama", 0, dir);

        Path st = dir.resolve("adapter_model.safetensors");
        Header h = header(st);
        assertThat(h.length() % 8).as("header padded to 8 bytes").isZero();
        List<String> keys = new ArrayList<>();
        h.json().fieldNames().forEachRemaining(keys::add);
        assertThat(keys.getFirst()).isEqualTo("__metadata__");
        assertThat(h.json().get("__metadata__").toString()).isEqualTo("{\"format\":\"pt\"}");
        List<String> tensors = keys.subList(1, keys.size());
        assertThat(tensors).hasSize(2 * 7 * LLAMA.layers()).isSorted()
                .contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                        "base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight",
                        "base_model.model.model.layers.1.mlp.gate_proj.lora_A.weight",
                        "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
        long offset = 0;
        for (String k : tensors) {
            JsonNode info = h.json().get(k);
            assertThat(info.get("dtype").asText()).isEqualTo("F32");
            assertThat(info.get("data_offsets").get(0).asLong()).as(k + " follows the previous tensor").isEqualTo(offset);
            offset = info.get("data_offsets").get(1).asLong();
            long[] shape = {info.get("shape").get(0).asLong(), info.get("shape").get(1).asLong()};
            assertThat(offset - info.get("data_offsets").get(0).asLong()).isEqualTo(4 * shape[0] * shape[1]);
        }
        assertThat(Files.size(st)).isEqualTo(8 + h.length() + offset);
        // lora_A (r, in), lora_B (out, r): q (C -> H*D), k (C -> G*D), down (F -> C).
        assertThat(h.json().get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").get("shape").toString()).isEqualTo("[3,16]");
        assertThat(h.json().get("base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight").get("shape").toString()).isEqualTo("[8,3]");
        assertThat(h.json().get("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight").get("shape").toString()).isEqualTo("[3,24]");
        assertThat(h.json().get("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight").get("shape").toString()).isEqualTo("[16,3]");
        // A and unpermuted B are the GGUF's values; llama's q and k B rows are in Hugging Face's order.
        assertThat(data(st, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight")).isEqualTo(values.get("blk.1.attn_q.weight.lora_a"));
        assertThat(data(st, "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")).isEqualTo(values.get("blk.1.attn_v.weight.lora_b"));
        assertThat(data(st, "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"))
                .isEqualTo(toFloats(referenceUnpermute(values.get("blk.1.attn_q.weight.lora_b"), 16, R, 4)));
        assertThat(data(st, "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight"))
                .isEqualTo(toFloats(referenceUnpermute(values.get("blk.0.attn_k.weight.lora_b"), 8, R, 2)));

        JsonNode c = JSON.readTree(dir.resolve("adapter_config.json").toFile());
        assertThat(c.get("peft_type").asText()).isEqualTo("LORA");
        assertThat(c.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(c.get("r").isInt()).isTrue();
        assertThat(c.get("r").asInt()).isEqualTo(R);
        assertThat(c.get("lora_alpha").asInt()).isEqualTo(6);
        assertThat(c.get("target_modules").toString()).isEqualTo("[\"q_proj\",\"k_proj\",\"v_proj\",\"o_proj\",\"gate_proj\",\"up_proj\",\"down_proj\"]");
        assertThat(c.get("lora_dropout").asDouble()).isZero();
        assertThat(c.get("bias").asText()).isEqualTo("none");
        assertThat(c.get("use_rslora").asBoolean()).isFalse();
        assertThat(c.get("use_dora").asBoolean()).isFalse();
        assertThat(c.get("fan_in_fan_out").asBoolean()).isFalse();
        assertThat(c.get("init_lora_weights").asBoolean()).isTrue();
        assertThat(c.get("base_model_name_or_path").asText()).isEqualTo("tiny-llama");
        List<String> configKeys = new ArrayList<>();
        c.fieldNames().forEachRemaining(configKeys::add);
        assertThat(configKeys).as("sort_keys=True").isSorted();
        System.out.println(Files.readString(dir.resolve("adapter_config.json")));
    }

    @Test
    void ggufToPeftToGgufIsByteIdenticalForLlamaAndQwen2() throws IOException {
        for (LlamaShape shape : List.of(LLAMA, QWEN2)) {
            Path dir = Files.createDirectories(tmp.resolve(shape.architecture().ggufName()));
            Path gguf = adapter(dir, shape, 2.5f, 3, new HashMap<>());
            PeftAdapter.write(gguf, shape, null, 0, dir.resolve("peft"));
            assertThat(JSON.readTree(dir.resolve("peft/adapter_config.json").toFile()).get("base_model_name_or_path").isNull()).isTrue();
            Path back = dir.resolve("back.gguf");
            PeftAdapter.toGguf(dir.resolve("peft"), shape, back);
            byte[] a = Files.readAllBytes(gguf);
            byte[] b = Files.readAllBytes(back);
            System.out.printf("%s: %d bytes, first difference at %d%n", shape.architecture(), a.length, Arrays.mismatch(a, b));
            assertThat(b).as(shape.architecture() + " round trip").isEqualTo(a);
        }
    }

    @Test
    void qwen2WritesBUnpermuted() throws IOException {
        Map<String, float[]> values = new HashMap<>();
        Path gguf = adapter(tmp, QWEN2, 3f, 5, values);
        PeftAdapter.write(gguf, QWEN2, null, 0, tmp.resolve("peft"));
        assertThat(data(tmp.resolve("peft/adapter_model.safetensors"), "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"))
                .isEqualTo(values.get("blk.0.attn_q.weight.lora_b"));
    }

    // convert_hf_to_gguf.py's LlamaModel.permute as numpy evaluates it, in float64 over a nested array:
    // w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols).
    static double[][] referencePermute(double[][] w, int nHead, int nHeadKv) {
        int heads = nHeadKv != nHead ? nHeadKv : nHead;
        int rows = w.length;
        int cols = w[0].length;
        int half = rows / heads / 2;
        double[][][][] r = new double[heads][2][half][cols];
        int i = 0;
        for (int h = 0; h < heads; h++) for (int s = 0; s < 2; s++) for (int j = 0; j < half; j++) r[h][s][j] = w[i++].clone();
        double[][][][] swapped = new double[heads][half][2][];
        for (int h = 0; h < heads; h++) for (int s = 0; s < 2; s++) for (int j = 0; j < half; j++) swapped[h][j][s] = r[h][s][j];
        double[][] out = new double[rows][];
        i = 0;
        for (int h = 0; h < heads; h++) for (int j = 0; j < half; j++) for (int s = 0; s < 2; s++) out[i++] = swapped[h][j][s];
        return out;
    }

    // The inverse, found by permuting the row indices: out[permuted row index] was row index.
    static double[] referenceUnpermute(float[] m, int rows, int cols, int heads) {
        double[][] index = new double[rows][1];
        for (int i = 0; i < rows; i++) index[i][0] = i;
        double[][] perm = referencePermute(index, heads, heads);
        double[] out = new double[m.length];
        for (int g = 0; g < rows; g++) {
            int hf = (int) perm[g][0]; // GGUF row g is Hugging Face row hf
            for (int c = 0; c < cols; c++) out[hf * cols + c] = m[g * cols + c];
        }
        return out;
    }

    static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void permutationMatchesLlamaCppsPermuteAndInvertsIt() {
        // Hand-checked: one head of 4 rows, (1, 2, 2) -> swapaxes -> rows 0, 2, 1, 3; two heads of 6 rows each.
        assertThat(PeftAdapter.permuteRows(new float[] {0, 1, 2, 3}, 4, 1, 1)).containsExactly(0, 2, 1, 3);
        assertThat(PeftAdapter.permuteRows(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 12, 1, 2))
                .containsExactly(0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11);
        SplittableRandom rng = new SplittableRandom(11);
        int[][] cases = {{16, 3, 4, 4}, {8, 3, 4, 2}, {32, 5, 8, 8}, {12, 2, 6, 1}}; // rows, cols, n_head, n_head_kv
        for (int[] c : cases) {
            int rows = c[0], cols = c[1];
            double[][] w = new double[rows][cols];
            float[] flat = new float[rows * cols];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) flat[i * cols + j] = (float) (w[i][j] = rng.nextInt(-1000, 1000));
            double[][] ref = referencePermute(w, c[2], c[3]);
            int heads = c[3] != c[2] ? c[3] : c[2];
            float[] ours = PeftAdapter.permuteRows(flat, rows, cols, heads);
            double maxDiff = 0;
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) maxDiff = Math.max(maxDiff, Math.abs(ref[i][j] - ours[i * cols + j]));
            System.out.printf("permute rows=%d cols=%d n_head=%d n_head_kv=%d: max |diff| = %s%n", rows, cols, c[2], c[3], maxDiff);
            assertThat(maxDiff).isZero();
            assertThat(PeftAdapter.unpermuteRows(ours, rows, cols, heads)).as("un-permute after permute").isEqualTo(flat);
            assertThat(PeftAdapter.permuteRows(PeftAdapter.unpermuteRows(flat, rows, cols, heads), rows, cols, heads)).isEqualTo(flat);
        }
    }

    // A good PEFT directory for llama, then one change to it.
    private Path peftWith(String name, Consumer<Path> change) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        PeftAdapter.write(adapter(dir, LLAMA, 4f, 7, new HashMap<>()), LLAMA, null, 0, dir.resolve("peft"));
        change.accept(dir.resolve("peft"));
        return dir.resolve("peft");
    }

    private static Consumer<Path> config(String key, Object value) {
        return dir -> {
            try {
                ObjectNode c = (ObjectNode) JSON.readTree(dir.resolve("adapter_config.json").toFile());
                c.set(key, JSON.valueToTree(value));
                Files.write(dir.resolve("adapter_config.json"), JSON.writeValueAsBytes(c));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        };
    }

    // Rewrites the safetensors header (re-padded), keeping the data.
    private static Consumer<Path> header(Consumer<ObjectNode> edit) {
        return dir -> {
            try {
                Path st = dir.resolve("adapter_model.safetensors");
                byte[] bytes = Files.readAllBytes(st);
                Header h = header(st);
                edit.accept(h.json());
                byte[] json = JSON.writeValueAsBytes(h.json());
                int padded = (json.length + 7) / 8 * 8;
                ByteBuffer out = ByteBuffer.allocate(8 + padded + bytes.length - 8 - (int) h.length()).order(ByteOrder.LITTLE_ENDIAN);
                out.putLong(padded).put(json);
                for (int i = json.length; i < padded; i++) out.put((byte) ' ');
                out.put(bytes, 8 + (int) h.length(), bytes.length - 8 - (int) h.length());
                Files.write(st, out.array());
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        };
    }

    @Test
    void unsupportedPeftFilesAreRefusedNamingTheFile() throws IOException {
        Path rslora = peftWith("rslora", config("use_rslora", true));
        assertThatThrownBy(() -> PeftAdapter.toGguf(rslora, LLAMA, tmp.resolve("x.gguf"))).isInstanceOf(Align4jException.class)
                .hasMessageContaining(rslora.resolve("adapter_config.json").toString()).hasMessageContaining("use_rslora = true is not supported");
        Path dora = peftWith("dora", config("use_dora", true));
        assertThatThrownBy(() -> PeftAdapter.toGguf(dora, LLAMA, tmp.resolve("x.gguf")))
                .hasMessageContaining(dora.resolve("adapter_config.json").toString()).hasMessageContaining("use_dora = true is not supported");
        Path unknown = peftWith("unknown", config("use_fancy_scaling", "yes"));
        assertThatThrownBy(() -> PeftAdapter.toGguf(unknown, LLAMA, tmp.resolve("x.gguf")))
                .hasMessageContaining(unknown.resolve("adapter_config.json").toString()).hasMessageContaining("unknown field use_fancy_scaling");
        String qa = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight";
        Path f64 = peftWith("f64", header(h -> ((ObjectNode) h.get(qa)).put("dtype", "F64")));
        assertThatThrownBy(() -> PeftAdapter.toGguf(f64, LLAMA, tmp.resolve("x.gguf")))
                .hasMessageContaining(f64.resolve("adapter_model.safetensors").toString()).hasMessageContaining(qa + " is F64");
        Path missing = peftWith("missing", header(h -> h.remove(qa)));
        assertThatThrownBy(() -> PeftAdapter.toGguf(missing, LLAMA, tmp.resolve("x.gguf")))
                .hasMessageContaining(missing.resolve("adapter_model.safetensors").toString()).hasMessageContaining(qa + " is missing");
        Path magnitude = peftWith("magnitude", header(h -> h.set("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", h.get(qa))));
        assertThatThrownBy(() -> PeftAdapter.toGguf(magnitude, LLAMA, tmp.resolve("x.gguf")))
                .hasMessageContaining(magnitude.resolve("adapter_model.safetensors").toString()).hasMessageContaining("DoRA is not supported");
        assertThat(tmp.resolve("x.gguf")).doesNotExist();
        // A GGUF adapter of another architecture than the base's.
        Path qwen = adapter(Files.createDirectories(tmp.resolve("qwen")), QWEN2, 1f, 2, new HashMap<>());
        assertThatThrownBy(() -> PeftAdapter.write(qwen, LLAMA, null, 0, tmp.resolve("never")))
                .hasMessageContaining(qwen.toString()).hasMessageContaining("an adapter for qwen2, not for the base's llama");
    }
}
