package org.align4j.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.align4j.Align4jException;
import org.align4j.AtomicFile;
import org.align4j.IoMessages;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;
import org.align4j.gguf.Safetensors;
import org.align4j.gguf.LlamaShape;

/**
 * Converts a GGUF LoRA adapter ({@link LoraExport}) to PEFT's two files and back: {@code adapter_config.json}
 * and {@code adapter_model.safetensors} with {@code base_model.model.model.layers.N.<module>.lora_A.weight}
 * (r, I) and {@code .lora_B.weight} (O, r), F32, which are the GGUF's A and B bytes except that, for arch
 * llama, the rows of q's and k's B are in Hugging Face's order: convert_lora_to_gguf.py permutes them
 * with convert_hf_to_gguf.py's {@code LlamaModel.permute} (NORM RoPE on permuted weights), so writing
 * un-permutes and reading permutes. qwen2 and qwen3 (NEOX RoPE) have no permutation.
 *
 * <p>Reading refuses what would change the math silently (rsLoRA, DoRA, per-module ranks or alphas,
 * biases, fan_in_fan_out) and dtypes other than F32, F16 and BF16, with a message naming the file.
 */
public final class PeftAdapter {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";

    private static final String KEY_PREFIX = "base_model.model.model.layers.";
    private static final Pattern KEY = Pattern.compile(
            "base_model\\.model\\.model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.([a-z_]+)\\.lora_([AB])\\.weight");
    private static final Pattern GGUF_NAME = Pattern.compile("blk\\.(\\d+)\\.([a-z_]+)\\.weight\\.lora_([ab])");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One adapted matrix in GGUF order: A (r, I) and B (O, r), row-major. */
    private record Pair(int layer, LoraParams.Target target, int in, int out, float[] a, float[] b) {}

    private final Architecture architecture;
    private final int rank;
    private final float alpha;
    private final List<Pair> pairs;

    private PeftAdapter(Architecture architecture, int rank, float alpha, List<Pair> pairs) {
        this.architecture = architecture;
        this.rank = rank;
        this.alpha = alpha;
        this.pairs = pairs.stream()
                .sorted(Comparator.comparingInt(Pair::layer).thenComparing(Pair::target))
                .toList();
    }

    /** Hugging Face's module name of a target, under {@code model.layers.N.}: "self_attn.q_proj", "mlp.gate_proj", ... */
    public static String module(LoraParams.Target t) {
        return switch (t) {
            case Q -> "self_attn.q_proj";
            case K -> "self_attn.k_proj";
            case V -> "self_attn.v_proj";
            case O -> "self_attn.o_proj";
            case GATE -> "mlp.gate_proj";
            case UP -> "mlp.up_proj";
            case DOWN -> "mlp.down_proj";
        };
    }

    /** The last part of {@link #module}: PEFT's target_modules entry. */
    public static String targetModule(LoraParams.Target t) {
        return module(t).substring(module(t).indexOf('.') + 1);
    }

    /**
     * Writes the GGUF adapter {@code adapterGguf} over a base of shape {@code base} (its heads decide the
     * q/k permutation) as PEFT's two files in {@code dir}, created if needed; {@code baseModelName} (the
     * base GGUF's general.name) or null goes to base_model_name_or_path, and {@code dropout}, the p the
     * adapter was trained with ({@link LoraDropout}), to lora_dropout.
     */
    public static void write(Path adapterGguf, LlamaShape base, String baseModelName, float dropout, Path dir) {
        PeftAdapter adapter = readGguf(adapterGguf, base);
        try {
            Files.createDirectories(dir);
            AtomicFile.write(dir.resolve(WEIGHTS), tmp -> Files.write(tmp, adapter.safetensors(base)));
            AtomicFile.write(dir.resolve(CONFIG), tmp -> Files.write(tmp, adapter.config(baseModelName, dropout)));
        } catch (IOException e) {
            throw new Align4jException(dir + ": cannot write the PEFT adapter: " + IoMessages.describe(e), e);
        }
    }

    /**
     * Reads PEFT's two files in {@code dir} as an adapter over a base of shape {@code base} and writes it as
     * the GGUF adapter {@code outGguf} ({@link LoraExport}'s layout, F32); returns the file size in bytes.
     *
     * @throws Align4jException naming the file for a setting or tensor this adapter cannot be
     */
    public static long toGguf(Path dir, LlamaShape base, Path outGguf) {
        PeftAdapter adapter = readPeft(dir, base);
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (Pair p : adapter.pairs) {
            String name = p.target().kind.nameIn(p.layer());
            tensors.add(f32(name + ".lora_a", new long[] {p.in(), adapter.rank}, p.a()));
            tensors.add(f32(name + ".lora_b", new long[] {adapter.rank, p.out()}, p.b()));
        }
        return GgufWriter.write(outGguf, LoraExport.metadata(adapter.architecture, adapter.alpha), tensors);
    }

    private static GgufWriter.Tensor f32(String name, long[] dims, float[] values) {
        return new GgufWriter.Tensor(name, GgmlType.F32, dims, dst -> MemorySegment.copy(values, 0, dst, LE_FLOAT, 0, values.length));
    }

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // ---- llama.cpp's q/k permutation -------------------------------------------------------------

    /**
     * convert_hf_to_gguf.py's {@code LlamaModel.permute} on the rows of a (rows, cols) matrix: reshape to
     * (heads, 2, rows / heads / 2, cols), swap axes 1 and 2, reshape back. Hugging Face order -> GGUF order.
     */
    public static float[] permuteRows(float[] m, int rows, int cols, int heads) {
        return moveRows(m, rows, cols, heads, true);
    }

    /** The inverse of {@link #permuteRows}: GGUF order -> Hugging Face order. */
    public static float[] unpermuteRows(float[] m, int rows, int cols, int heads) {
        return moveRows(m, rows, cols, heads, false);
    }

    private static float[] moveRows(float[] m, int rows, int cols, int heads, boolean toGguf) {
        if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0 || m.length != (long) rows * cols) {
            throw new IllegalArgumentException("cannot permute " + rows + " rows over " + heads + " heads");
        }
        int half = rows / heads / 2;
        float[] out = new float[m.length];
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < 2; s++) {
                for (int j = 0; j < half; j++) {
                    int hf = h * 2 * half + s * half + j; // index (h, s, j) of (heads, 2, half)
                    int gguf = h * 2 * half + j * 2 + s;  // index (h, j, s) of (heads, half, 2)
                    int from = toGguf ? hf : gguf;
                    int to = toGguf ? gguf : hf;
                    System.arraycopy(m, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }

    // The heads over which B's rows are permuted, or 0 for none (only llama's q and k).
    private static int permutedHeads(Architecture arch, LoraParams.Target t, LlamaShape base) {
        if (arch != Architecture.LLAMA) {
            return 0;
        }
        return switch (t) {
            case Q -> base.heads();
            case K -> base.kvHeads(); // permute(w, n_head, n_head_kv) uses n_head_kv when they differ
            default -> 0;
        };
    }

    // ---- GGUF adapter ----------------------------------------------------------------------------

    private static PeftAdapter readGguf(Path file, LlamaShape base) {
        try (GgufFile gguf = GgufFile.open(file)) {
            if (!gguf.has("adapter.type") || !"lora".equals(gguf.string("adapter.type"))) {
                throw new Align4jException(file + ": not a LoRA adapter (adapter.type is not \"lora\")");
            }
            String arch = gguf.string("general.architecture");
            if (!arch.equals(base.architecture().ggufName())) {
                throw new Align4jException(file + ": an adapter for " + arch + ", not for the base's " + base.architecture().ggufName());
            }
            float alpha = (float) gguf.number("adapter.lora.alpha");
            Map<String, float[]> as = new HashMap<>();
            Map<String, float[]> bs = new HashMap<>();
            int rank = -1;
            for (GgufTensorInfo t : gguf.tensors()) {
                Matcher m = GGUF_NAME.matcher(t.name());
                if (!m.matches() || t.type() != GgmlType.F32 || t.dims().length != 2) {
                    throw new Align4jException(file + ": tensor '" + t.name() + "' (" + t.type() + ") is not an F32 LoRA matrix of a block");
                }
                boolean isA = m.group(3).equals("a");
                int r = (int) (isA ? t.dims()[1] : t.dims()[0]);
                if (rank >= 0 && r != rank) {
                    throw new Align4jException(file + ": tensor '" + t.name() + "' has rank " + r + ", others " + rank);
                }
                rank = r;
                MemorySegment data = gguf.tensorData(t.name());
                float[] v = new float[Math.toIntExact(t.elementCount())];
                MemorySegment.copy(data, LE_FLOAT, 0, v, 0, v.length);
                (isA ? as : bs).put(t.name().substring(0, t.name().length() - ".lora_a".length()), v);
            }
            List<Pair> pairs = new ArrayList<>();
            for (int l = 0; l < base.layers(); l++) {
                for (LoraParams.Target target : LoraParams.Target.values()) {
                    String name = target.kind.nameIn(l);
                    float[] a = as.remove(name);
                    float[] b = bs.remove(name);
                    if (a == null && b == null) {
                        continue;
                    }
                    if (a == null || b == null) {
                        throw new Align4jException(file + ": " + name + (a == null ? ".lora_a" : ".lora_b") + " is missing");
                    }
                    pairs.add(checked(file, name, l, target, base, rank, a, b));
                }
            }
            if (!as.isEmpty() || !bs.isEmpty()) {
                throw new Align4jException(file + ": tensors of blocks or matrices the base does not have: "
                        + new TreeMap<>(as.isEmpty() ? bs : as).firstKey());
            }
            if (pairs.isEmpty()) {
                throw new Align4jException(file + ": no LoRA tensors");
            }
            return new PeftAdapter(base.architecture(), rank, alpha, pairs);
        }
    }

    private static Pair checked(Path file, String what, int layer, LoraParams.Target t, LlamaShape base, int rank, float[] a, float[] b) {
        long[] dims = t.kind.dims(base, 0);
        int in = Math.toIntExact(dims[0]);
        int out = Math.toIntExact(dims[1]);
        if (a.length != (long) rank * in || b.length != (long) out * rank) {
            throw new Align4jException(file + ": " + what + ": A has " + a.length + " and B " + b.length + " values; the base's "
                    + in + " -> " + out + " matrix at rank " + rank + " needs " + (long) rank * in + " and " + (long) out * rank);
        }
        return new Pair(layer, t, in, out, a, b);
    }

    // ---- PEFT files ------------------------------------------------------------------------------

    // safetensors: u64 LE header length N, N bytes of JSON (padded with spaces to a multiple of 8), then the
    // data; tensors in name order (all F32, so safetensors' sort by alignment then name is by name),
    // "__metadata__" first in the header.
    private byte[] safetensors(LlamaShape base) {
        TreeMap<String, float[]> byName = new TreeMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        for (Pair p : pairs) {
            String key = KEY_PREFIX + p.layer() + "." + module(p.target());
            int heads = permutedHeads(architecture, p.target(), base);
            byName.put(key + ".lora_A.weight", p.a());
            byName.put(key + ".lora_B.weight", heads == 0 ? p.b() : unpermuteRows(p.b(), p.out(), rank, heads));
            shapes.put(key + ".lora_A.weight", new long[] {rank, p.in()});
            shapes.put(key + ".lora_B.weight", new long[] {p.out(), rank});
        }
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, float[]> e : byName.entrySet()) {
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", "F32");
            ArrayNode shape = info.putArray("shape");
            for (long d : shapes.get(e.getKey())) {
                shape.add(d);
            }
            long end = offset + 4L * e.getValue().length;
            info.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded).put(json);
        for (int i = json.length; i < padded; i++) {
            buf.put((byte) ' ');
        }
        for (float[] v : byName.values()) {
            for (float x : v) {
                buf.putFloat(x);
            }
        }
        return buf.array();
    }

    // adapter_config.json as PEFT's LoraConfig saves itself (sorted keys, indent 2), with the values that
    // give plain LoRA with scale lora_alpha / r.
    private byte[] config(String baseModelName, float dropout) {
        ObjectNode c = JSON.createObjectNode();
        c.putObject("alpha_pattern");
        c.putNull("auto_mapping");
        c.put("base_model_name_or_path", baseModelName);
        c.put("bias", "none");
        c.putNull("exclude_modules");
        c.put("fan_in_fan_out", false);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layer_replication");
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.putObject("loftq_config");
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < 1 << 24) {
            c.put("lora_alpha", (int) alpha);
        } else {
            c.put("lora_alpha", alpha);
        }
        c.put("lora_bias", false);
        c.put("lora_dropout", dropout);
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", rank);
        c.putObject("rank_pattern");
        c.putNull("revision");
        ArrayNode targets = c.putArray("target_modules");
        pairs.stream().map(Pair::target).distinct().sorted().forEach(t -> targets.add(targetModule(t)));
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", false);
        DefaultPrettyPrinter pretty = new DefaultPrettyPrinter()
                .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER).withObjectEmptySeparator("").withArrayEmptySeparator(""))
                .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"))
                .withObjectIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"));
        try {
            return JSON.writer(pretty).writeValueAsBytes(c);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // Keys of LoraConfig read with the value plain LoRA needs; any other value is refused.
    private static final Map<String, String> REQUIRED = Map.of(
            "peft_type", "\"LORA\"", "bias", "\"none\"", "use_rslora", "false", "use_dora", "false",
            "fan_in_fan_out", "false", "lora_bias", "false");
    // Keys of LoraConfig that do not change the delta (or hold their defaults, checked below).
    private static final Set<String> KNOWN = Set.of(
            "r", "lora_alpha", "target_modules", "task_type", "base_model_name_or_path", "revision", "inference_mode",
            "lora_dropout", "init_lora_weights", "auto_mapping", "megatron_config", "megatron_core", "loftq_config",
            "eva_config", "corda_config", "layers_pattern", "layers_to_transform", "layer_replication", "rank_pattern",
            "alpha_pattern", "modules_to_save", "exclude_modules", "trainable_token_indices", "qalora_group_size",
            "use_qalora", "target_parameters", "runtime_config");

    /**
     * The settings in {@code dir}'s adapter_config.json: r, lora_alpha and target_modules.
     *
     * @throws Align4jException naming the file and the field for a setting this adapter cannot be (rsLoRA,
     *                          DoRA, biases, modules other than the seven targets, ...)
     */
    public static LoraConfig settings(Path dir) {
        Path configFile = dir.resolve(CONFIG);
        JsonNode config;
        try {
            config = JSON.readTree(Files.readAllBytes(configFile));
        } catch (IOException e) {
            throw new Align4jException(configFile + ": cannot read: " + IoMessages.describe(e), e);
        }
        if (config == null || !config.isObject()) {
            throw new Align4jException(configFile + ": not a JSON object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = config.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> kv = it.next();
            String key = kv.getKey();
            JsonNode v = kv.getValue();
            if (REQUIRED.containsKey(key)) {
                if (!REQUIRED.get(key).equals(v.toString())) {
                    throw new Align4jException(configFile + ": " + key + " = " + v + " is not supported (only " + REQUIRED.get(key)
                            + (key.equals("use_rslora") ? ": rsLoRA scales by alpha / sqrt(r), llama.cpp by alpha / r" : "")
                            + (key.equals("use_dora") ? ": DoRA's magnitude vectors have no place in a GGUF LoRA adapter" : "") + ")");
                }
            } else if (!KNOWN.contains(key) && !inert(v)) {
                throw new Align4jException(configFile + ": unknown field " + key + " = " + v + " (a newer PEFT setting this reader does not know)");
            }
        }
        for (String key : List.of("rank_pattern", "alpha_pattern", "layers_to_transform", "layer_replication", "modules_to_save")) {
            if (config.has(key) && !inert(config.get(key))) {
                throw new Align4jException(configFile + ": " + key + " = " + config.get(key) + " is not supported: one rank, one alpha, every block");
            }
        }
        if (!"LORA".equals(config.path("peft_type").asText(null))) {
            throw new Align4jException(configFile + ": peft_type is missing (must be \"LORA\")");
        }
        if (!config.path("r").canConvertToInt() || config.path("r").asInt() < 1) {
            throw new Align4jException(configFile + ": r must be a positive integer, not " + config.get("r"));
        }
        if (!config.path("lora_alpha").isNumber() || !(config.path("lora_alpha").asDouble() > 0)) {
            throw new Align4jException(configFile + ": lora_alpha must be a positive number, not " + config.get("lora_alpha"));
        }
        int rank = config.get("r").asInt();
        float alpha = (float) config.get("lora_alpha").asDouble();
        Set<LoraParams.Target> targets = EnumSet.noneOf(LoraParams.Target.class);
        JsonNode tm = config.path("target_modules");
        if (!tm.isArray() || tm.isEmpty()) {
            throw new Align4jException(configFile + ": target_modules must be a list of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, not " + tm);
        }
        for (JsonNode n : tm) {
            LoraParams.Target t = null;
            for (LoraParams.Target c : LoraParams.Target.values()) {
                if (targetModule(c).equals(n.asText())) {
                    t = c;
                }
            }
            if (t == null) {
                throw new Align4jException(configFile + ": target_modules entry " + n + " is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
            }
            targets.add(t);
        }
        return new LoraConfig(rank, alpha, targets);
    }

    /**
     * The adapter in {@code dir} over a base of shape {@code base} as {@link LoraExport} names and orders its
     * tensors: {@code <base name>.lora_a} (r, I) and {@code .lora_b} (O, r), B's q/k rows permuted for llama.
     *
     * @throws Align4jException naming the file for a setting or tensor this adapter cannot be
     */
    public static Map<String, float[]> ggufTensors(Path dir, LlamaShape base) {
        PeftAdapter adapter = readPeft(dir, base);
        Map<String, float[]> out = new HashMap<>();
        for (Pair p : adapter.pairs) {
            String name = p.target().kind.nameIn(p.layer());
            out.put(name + ".lora_a", p.a());
            out.put(name + ".lora_b", p.b());
        }
        return out;
    }

    private static PeftAdapter readPeft(Path dir, LlamaShape base) {
        LoraConfig config = settings(dir);
        int rank = config.rank();
        Path weightsFile = dir.resolve(WEIGHTS);
        byte[] weights;
        try {
            weights = Files.readAllBytes(weightsFile);
        } catch (IOException e) {
            throw new Align4jException(weightsFile + ": cannot read: " + IoMessages.describe(e), e);
        }
        Map<String, float[]> tensors = readSafetensors(weightsFile, weights, rank);
        List<Pair> pairs = new ArrayList<>();
        for (int l = 0; l < base.layers(); l++) {
            for (LoraParams.Target t : config.targets()) {
                String key = KEY_PREFIX + l + "." + module(t);
                float[] a = tensors.remove(key + ".lora_A.weight");
                float[] b = tensors.remove(key + ".lora_B.weight");
                if (a == null || b == null) {
                    throw new Align4jException(weightsFile + ": " + key + (a == null ? ".lora_A.weight" : ".lora_B.weight") + " is missing");
                }
                Pair p = checked(weightsFile, key, l, t, base, rank, a, b);
                int heads = permutedHeads(base.architecture(), t, base);
                pairs.add(heads == 0 ? p : new Pair(l, t, p.in(), p.out(), a, permuteRows(b, p.out(), rank, heads)));
            }
        }
        if (!tensors.isEmpty()) {
            throw new Align4jException(weightsFile + ": tensor " + new TreeMap<>(tensors).firstKey()
                    + " is not a LoRA matrix of target_modules in the base's " + base.layers() + " blocks");
        }
        return new PeftAdapter(base.architecture(), rank, config.alpha(), pairs);
    }

    private static boolean inert(JsonNode v) {
        return v.isNull() || (v.isBoolean() && !v.asBoolean()) || (v.isContainerNode() && v.isEmpty());
    }

    // Name -> values (as f32) of every tensor, after checking that each is a LoRA A or B of rank r (Safetensors checks dtypes and bytes).
    private static Map<String, float[]> readSafetensors(Path file, byte[] bytes, int rank) {
        Map<String, float[]> out = new HashMap<>();
        for (Safetensors.Tensor t : Safetensors.read(file, bytes).values()) {
            String name = t.name();
            Matcher m = KEY.matcher(name);
            if (!m.matches()) {
                throw new Align4jException(file + ": tensor " + name + " is not a LoRA A or B of a block"
                        + (name.contains("lora_magnitude_vector") ? " (DoRA is not supported)" : ""));
            }
            long[] shape = t.shape();
            if (shape.length != 2) {
                throw new Align4jException(file + ": tensor " + name + " has shape " + Arrays.toString(shape) + ", not two dimensions");
            }
            if ((m.group(4).equals("A") ? shape[0] : shape[1]) != rank) {
                throw new Align4jException(file + ": tensor " + name + " has shape " + Arrays.toString(shape) + ", not of rank r = " + rank);
            }
            out.put(name, t.values());
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "PEFT LoRA r=%d alpha=%s on %s, %d matrices", rank, alpha, architecture.ggufName(), pairs.size());
    }
}
