package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.align4j.gguf.Architecture;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.Llama3Rope;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.LlamaTensor;
import org.align4j.gguf.ModelSummary;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.TokenizerMetadata;
import org.align4j.llama.LlamaFileType;
import org.align4j.llama.ModelQuantizer;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code align4j model synth}: a Llama-family GGUF (llama, qwen2, qwen3) with seeded random weights and a tokenizer. */
@Command(name = "synth",
        description = "Write a llama, qwen2 or qwen3 GGUF with seeded random weights and a real llama.cpp tokenizer "
                + "(or the built-in character tokenizer, vocab 'char').")
final class ModelSynthCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--type", paramLabel = "f32|f16|bf16|q8_0|q4_0|q4_k_m|q5_k_m|q6_k", converter = WeightTypeConverter.class,
            description = "weight type of 2-D tensors (norms stay f32); bf16, q4_0 and the k-quants are llama.cpp's "
                    + "quantization of the f32 model, with its mix of tensor types; default f16")
    WeightType type = WeightType.F16;

    @Option(names = "--seed", paramLabel = "S", description = "random seed; the same seed gives the same bytes; default 0")
    long seed = 0;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "output file (written atomically)")
    Path output;

    static final class Source {
        @Option(names = "--preset", paramLabel = "NAME", description = "tiny, qwen2.5-0.5b (qwen2), llama-3.2-1b (llama with "
                + "Llama 3 RoPE scaling), demo, small-10m or qwen3-0.6b (qwen3)")
        String preset;

        @ArgGroup(exclusive = false, heading = "Shape (instead of --preset):%n")
        Shape shape;
    }

    static final class Shape {
        @Option(names = "--layers", required = true) int layers;
        @Option(names = "--embd", required = true, description = "embedding width") int embd;
        @Option(names = "--heads", required = true) int heads;
        @Option(names = "--kv-heads", description = "default: --heads") Integer kvHeads;
        @Option(names = "--ffn", required = true, description = "feed-forward width") int ffn;
        @Option(names = "--ctx", description = "context length; default 2048") int ctx = 2048;
        @Option(names = "--rope-theta", description = "RoPE frequency base; default 10000") float ropeTheta = 10_000f;
        @Option(names = "--untied-output", description = "write a separate output.weight") boolean untiedOutput;
        @Option(names = "--arch", paramLabel = "llama|qwen2|qwen3", converter = ArchitectureName.class,
                description = "llama (default); qwen2: NEOX RoPE, q/k/v biases; qwen3: NEOX RoPE, q/k norms")
        Architecture architecture = Architecture.LLAMA;
        @Option(names = "--head-dim", paramLabel = "D", description = "head width (llama, qwen3); default embd / heads") Integer headDim;
        @Option(names = "--rope-scaling", paramLabel = "linear:F|llama3:F[:CTX]", converter = RopeScaling.Converter.class,
                description = "linear: positions divided by F; llama3: Llama 3's rope_freqs with factor F over an original "
                        + "context CTX (default 8192), low and high frequency factors 1 and 4 (llama only)")
        RopeScaling ropeScaling;

        @ArgGroup(exclusive = true)
        Vocab vocab;

        LlamaShape toShape() {
            int kv = kvHeads == null ? heads : kvHeads;
            LlamaShape s = headDim == null
                    ? new LlamaShape(layers, embd, heads, kv, ffn, ctx, ropeTheta, 1e-5f, !untiedOutput).withArchitecture(architecture)
                    : new LlamaShape(architecture, layers, embd, heads, kv, headDim, ffn, ctx, ropeTheta, 1f, 1e-5f, !untiedOutput);
            return ropeScaling != null && ropeScaling.linear() != null ? s.withRopeLinearFactor(ropeScaling.linear()) : s;
        }
    }

    /** --rope-scaling: one of a linear factor and Llama 3's scaling. */
    record RopeScaling(Float linear, Llama3Rope llama3) {
        static final class Converter implements CommandLine.ITypeConverter<RopeScaling> {
            @Override
            public RopeScaling convert(String value) {
                String[] parts = value.split(":", -1);
                try {
                    return switch (parts[0].toLowerCase(Locale.ROOT)) {
                        case "linear" -> {
                            if (parts.length != 2) {
                                throw new CommandLine.TypeConversionException("expected linear:FACTOR, not '" + value + "'");
                            }
                            yield new RopeScaling(Float.parseFloat(parts[1]), null);
                        }
                        case "llama3" -> {
                            if (parts.length < 2 || parts.length > 3) {
                                throw new CommandLine.TypeConversionException("expected llama3:FACTOR[:CTX], not '" + value + "'");
                            }
                            yield new RopeScaling(null, Llama3Rope.of(Float.parseFloat(parts[1]), parts.length == 3 ? Integer.parseInt(parts[2]) : 8192));
                        }
                        default -> throw new CommandLine.TypeConversionException("expected linear:FACTOR or llama3:FACTOR[:CTX], not '" + value + "'");
                    };
                } catch (IllegalArgumentException e) { // NumberFormatException too
                    throw new CommandLine.TypeConversionException("'" + value + "': " + e.getMessage());
                }
            }
        }
    }

    static final class ArchitectureName implements CommandLine.ITypeConverter<Architecture> {
        @Override
        public Architecture convert(String value) {
            return Architecture.named(value).orElseThrow(() ->
                    new CommandLine.TypeConversionException("expected " + Architecture.names() + ", not '" + value + "'"));
        }
    }

    static final class Vocab {
        @Option(names = "--vocab", paramLabel = "NAME", description = "llama.cpp vocab name (models/ggml-vocab-NAME.gguf), or 'char' for the built-in "
                + "character tokenizer; default llama-spm")
        String name;

        @Option(names = "--vocab-file", paramLabel = "PATH", description = "a GGUF holding tokenizer.* metadata")
        Path file;
    }

    /** A type our GGUF writer stores, or a file type llama.cpp's quantizer makes from the f32 model. */
    enum WeightType {
        F32(GgmlType.F32, null),
        F16(GgmlType.F16, null),
        BF16(null, LlamaFileType.MOSTLY_BF16),
        Q8_0(GgmlType.Q8_0, null), // our encoder is ggml's quantize_row_q8_0_ref, byte for byte: no detour
        Q4_0(null, LlamaFileType.MOSTLY_Q4_0),
        Q4_K_M(null, LlamaFileType.MOSTLY_Q4_K_M),
        Q5_K_M(null, LlamaFileType.MOSTLY_Q5_K_M),
        Q6_K(null, LlamaFileType.MOSTLY_Q6_K);

        final GgmlType written;
        final LlamaFileType quantized;

        WeightType(GgmlType written, LlamaFileType quantized) {
            this.written = written;
            this.quantized = quantized;
        }

        String optionValue() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final class WeightTypeConverter implements CommandLine.ITypeConverter<WeightType> {
        @Override
        public WeightType convert(String value) {
            for (WeightType t : WeightType.values()) {
                if (t.optionValue().equals(value.toLowerCase(Locale.ROOT))) {
                    return t;
                }
            }
            List<String> names = Arrays.stream(WeightType.values()).map(WeightType::optionValue).toList();
            throw new CommandLine.TypeConversionException("expected " + String.join(", ", names.subList(0, names.size() - 1))
                    + " or " + names.getLast() + ", not '" + value + "'");
        }
    }

    @Override
    public Integer call() {
        SynthPreset preset;
        LlamaShape shape;
        GgmlType written = type.written != null ? type.written : GgmlType.F32; // what llama.cpp quantizes from
        Llama3Rope ropeFreqs;
        try {
            preset = source.preset != null ? SynthPreset.named(source.preset) : null;
            shape = preset != null ? preset.shape() : source.shape.toShape();
            ropeFreqs = preset != null ? preset.ropeFreqs() : source.shape.ropeScaling != null ? source.shape.ropeScaling.llama3() : null;
            if (ropeFreqs != null && !shape.architecture().optional().contains(LlamaTensor.ROPE_FREQS)) {
                throw new IllegalArgumentException("--rope-scaling llama3 is for --arch llama, not " + shape.architecture().ggufName());
            }
            SyntheticLlama.checkType(shape, written);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        String name = "align4j-synth-" + (preset != null ? preset.name() : "custom");
        TokenizerMetadata tokenizer = tokenizer(preset);
        PrintWriter out = spec.commandLine().getOut();
        if (type.quantized == null) {
            SyntheticLlama.Result r = SyntheticLlama.write(output, name, shape, ropeFreqs, tokenizer, written, seed);
            out.printf("%s: %s params, %s, %s%n", r.path(), Units.count(r.parameters()), r.type(), Units.bytes(r.fileBytes()));
        } else {
            ModelQuantizer.writeQuantized(output, type.quantized, Runtime.getRuntime().availableProcessors(),
                    unquantized -> SyntheticLlama.write(unquantized, name, shape, ropeFreqs, tokenizer, written, seed));
            ModelSummary s;
            try (GgufFile f = GgufFile.open(output)) {
                s = ModelSummary.of(f);
            }
            String mix = s.tensorsByType().entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
            out.printf("%s: %s params, %s (tensors: %s), %s%n", output, Units.count(s.parameters()), type.name(), mix, Units.bytes(s.fileBytes()));
        }
        out.flush();
        return 0;
    }

    private TokenizerMetadata tokenizer(SynthPreset preset) {
        if (preset != null) {
            return preset.tokenizer();
        }
        Vocab v = source.shape.vocab;
        if (v != null && v.file != null) {
            return TokenizerMetadata.fromFile(v.file);
        }
        return TokenizerMetadata.named(v != null ? v.name : "llama-spm");
    }
}
