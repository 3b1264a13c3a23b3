package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.LlamaShape;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.gguf.TokenizerMetadata;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code align4j model synth}: a Llama-architecture GGUF with seeded random weights and a tokenizer. */
@Command(name = "synth",
        description = "Write a Llama-architecture GGUF with seeded random weights and a real llama.cpp tokenizer "
                + "(or the built-in character tokenizer, vocab 'char').")
final class ModelSynthCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--type", paramLabel = "f32|f16|q8_0", converter = WeightType.class,
            description = "weight type of 2-D tensors (norms stay f32); default f16")
    GgmlType type = GgmlType.F16;

    @Option(names = "--seed", paramLabel = "S", description = "random seed; the same seed gives the same bytes; default 0")
    long seed = 0;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "output file (written atomically)")
    Path output;

    static final class Source {
        @Option(names = "--preset", paramLabel = "NAME", description = "tiny, qwen2.5-0.5b, llama-3.2-1b, demo or small-10m")
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

        @ArgGroup(exclusive = true)
        Vocab vocab;

        LlamaShape toShape() {
            return new LlamaShape(layers, embd, heads, kvHeads == null ? heads : kvHeads, ffn, ctx, ropeTheta, 1e-5f, !untiedOutput);
        }
    }

    static final class Vocab {
        @Option(names = "--vocab", paramLabel = "NAME", description = "llama.cpp vocab name (models/ggml-vocab-NAME.gguf), or 'char' for the built-in "
                + "character tokenizer; default llama-spm")
        String name;

        @Option(names = "--vocab-file", paramLabel = "PATH", description = "a GGUF holding tokenizer.* metadata")
        Path file;
    }

    static final class WeightType implements CommandLine.ITypeConverter<GgmlType> {
        @Override
        public GgmlType convert(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "f32" -> GgmlType.F32;
                case "f16" -> GgmlType.F16;
                case "q8_0" -> GgmlType.Q8_0;
                default -> throw new CommandLine.TypeConversionException("expected f32, f16 or q8_0, not '" + value + "'");
            };
        }
    }

    @Override
    public Integer call() {
        SynthPreset preset;
        LlamaShape shape;
        try {
            preset = source.preset != null ? SynthPreset.named(source.preset) : null;
            shape = preset != null ? preset.shape() : source.shape.toShape();
            SyntheticLlama.checkType(shape, type);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        String name = "align4j-synth-" + (preset != null ? preset.name() : "custom");
        SyntheticLlama.Result r = SyntheticLlama.write(output, name, shape, tokenizer(preset), type, seed);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%s: %s params, %s, %s%n", r.path(), Units.count(r.parameters()), r.type(), Units.bytes(r.fileBytes()));
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
