package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.gguf.GgmlQuants;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.LlamaWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSynthCommandTest {
    @TempDir Path dir;

    @Test
    void presetTinyWritesALoadableFileAndASummaryLine() {
        Path out = dir.resolve("tiny.gguf");
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--type", "q8_0", "--seed", "7", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith(out + ": 4.17M params, Q8_0, ").endsWith("MiB").doesNotContain("\n");
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(f.string("general.name")).isEqualTo("align4j-synth-tiny");
        }
    }

    @Test
    void presetDemoUsesTheBuiltInCharacterTokenizer() {
        Path out = dir.resolve("demo.gguf");
        CliRun r = CliRun.of("model", "synth", "--preset", "demo", "--type", "f32", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith(out + ": 820.74K params, F32, ");
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.string("general.name")).isEqualTo("align4j-synth-demo");
            assertThat(f.string("tokenizer.ggml.model")).isEqualTo("llama");
            assertThat(f.arrayLength("tokenizer.ggml.tokens")).isEqualTo(259);
        }
    }

    @Test
    void shapeOptionsWithTheCharVocab() {
        Path out = dir.resolve("char.gguf");
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "32", "--heads", "2", "--ffn", "64",
                "--vocab", "char", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("llama.vocab_size")).isEqualTo(259);
        }
    }

    @Test
    void shapeOptionsWithAVocabFile() {
        Path out = dir.resolve("custom.gguf");
        String vocab = System.getProperty("align4j.llama.src") + "/models/ggml-vocab-llama-spm.gguf";
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "32", "--heads", "2", "--ffn", "64",
                "--vocab-file", vocab, "--rope-theta", "500000", "--untied-output", "--type", "f32", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        try (GgufFile f = GgufFile.open(out)) {
            assertThat(f.integer("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.number("llama.rope.freq_base")).isEqualTo(500_000.0);
            assertThat(f.tensor("output.weight").dims()).containsExactly(32, 32000);
        }
    }

    @Test
    void unknownPresetIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "gpt-5", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unknown preset 'gpt-5'").contains("tiny, qwen2.5-0.5b, llama-3.2-1b, demo");
        assertThat(dir.resolve("x.gguf")).doesNotExist();
    }

    @Test
    void unknownTypeIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--type", "q4_k", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("expected f32, f16, bf16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k, not 'q4_k'");
    }

    @Test
    void q4_k_mIsLlamaCppsQuantizationOfTheF32ModelWithItsMixOfTypes() throws IOException {
        Path out = dir.resolve("q4km.gguf");
        String[] shape = {"model", "synth", "--layers", "2", "--embd", "256", "--heads", "4", "--ffn", "512", "--vocab", "char", "--seed", "3"};
        CliRun r = CliRun.of(concat(shape, "--type", "q4_k_m", "-o", out.toString()));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith(out + ": 1.38M params, Q4_K_M (tensors: F32 5, Q4_K 12, Q6_K 3), ").endsWith("KiB");
        Path f32 = dir.resolve("f32.gguf");
        assertThat(CliRun.of(concat(shape, "--type", "f32", "-o", f32.toString())).exit()).isZero();
        try (GgufFile q = GgufFile.open(out); GgufFile f = GgufFile.open(f32)) {
            assertThat(q.integer("general.file_type")).isEqualTo(15); // LLAMA_FTYPE_MOSTLY_Q4_K_M
            assertThat(q.tensor("blk.1.ffn_down.weight").type()).isEqualTo(GgmlType.Q6_K);
            assertThat(q.tensor("blk.0.ffn_down.weight").type()).isEqualTo(GgmlType.Q4_K);
            // The same seeded weights: Q4_K keeps them to within a few percent.
            float[] quantized = new float[256 * 512];
            float[] exact = new float[256 * 512];
            GgmlQuants.dequantize(GgmlType.Q4_K, q.tensorData("blk.0.ffn_up.weight"), quantized);
            GgmlQuants.dequantize(GgmlType.F32, f.tensorData("blk.0.ffn_up.weight"), exact);
            double err = 0;
            double norm = 0;
            for (int i = 0; i < exact.length; i++) {
                err += (quantized[i] - exact[i]) * (double) (quantized[i] - exact[i]);
                norm += exact[i] * (double) exact[i];
            }
            System.out.printf("q4_k_m vs f32 model, blk.0.ffn_up.weight: relative RMS error %.4f (tolerance 0.25)%n", Math.sqrt(err / norm));
            assertThat(Math.sqrt(err / norm)).isLessThan(0.25);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("q4km.gguf", "f32.gguf");
        }
    }

    @Test
    void aQuantizedTypeIntoAMissingDirectoryIsARuntimeErrorNamingIt() {
        Path out = dir.resolve("missing").resolve("x.gguf");
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--type", "q4_0", "-o", out.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains(out + ": cannot write its unquantized temporary file in " + dir.resolve("missing")
                + ": no such file or directory").doesNotContain("Exception");
    }

    private static String[] concat(String[] first, String... rest) {
        return Stream.concat(Arrays.stream(first), Arrays.stream(rest)).toArray(String[]::new);
    }

    @Test
    void presetAndShapeTogetherIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--preset", "tiny", "--layers", "2", "--embd", "64", "--heads", "4",
                "--ffn", "128", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("mutually exclusive");
    }

    @Test
    void q8_0WithRowsThatAreNotWholeBlocksIsAUsageError() {
        CliRun r = CliRun.of("model", "synth", "--layers", "1", "--embd", "48", "--heads", "2", "--ffn", "64",
                "--type", "q8_0", "-o", dir.resolve("x.gguf").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("embd must be a multiple of 32 (it is 48)");
    }

    /** --arch, --head-dim and --rope-scaling make files llama.cpp loads and the trainer reads in the same architecture. */
    @Test
    void architectureOptionsWriteFilesLlamaCppAndTheTrainerLoad() {
        Path qwen3 = dir.resolve("qwen3.gguf");
        CliRun r = CliRun.of("model", "synth", "--arch", "qwen3", "--layers", "1", "--embd", "64", "--heads", "4", "--kv-heads", "2",
                "--head-dim", "32", "--ffn", "128", "--vocab", "char", "-o", qwen3.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path qwen2 = dir.resolve("qwen2.gguf");
        r = CliRun.of("model", "synth", "--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--ffn", "128",
                "--rope-scaling", "linear:4", "--vocab", "char", "-o", qwen2.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        Path llama3 = dir.resolve("llama3.gguf");
        r = CliRun.of("model", "synth", "--layers", "1", "--embd", "64", "--heads", "4", "--ffn", "128",
                "--rope-scaling", "llama3:8:64", "--vocab", "char", "-o", llama3.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        try (GgufFile f = GgufFile.open(qwen3)) {
            assertThat(f.string("general.architecture")).isEqualTo("qwen3");
            assertThat(f.integer("qwen3.attention.key_length")).isEqualTo(32);
            assertThat(f.tensor("blk.0.attn_q_norm.weight").dims()).containsExactly(32);
            assertThat(f.tensor("blk.0.attn_q.weight").dims()).containsExactly(64, 128);
        }
        try (GgufFile f = GgufFile.open(qwen2)) {
            assertThat(f.string("qwen2.rope.scaling.type")).isEqualTo("linear");
            assertThat(f.number("qwen2.rope.scaling.factor")).isEqualTo(4.0);
            assertThat(f.tensor("blk.0.attn_k.bias").dims()).containsExactly(64);
        }
        try (GgufFile f = GgufFile.open(llama3)) {
            assertThat(f.tensor("rope_freqs.weight").dims()).containsExactly(8);
        }
        for (Path p : List.of(qwen3, qwen2, llama3)) {
            try (Model m = Model.load(p, ModelOptions.DEFAULT)) {
                assertThat(m.nLayer()).isEqualTo(1);
            }
            assertThat(LlamaWeights.load(p).shape().architecture().ggufName()).isEqualTo(p.getFileName().toString().startsWith("qwen3") ? "qwen3"
                    : p.getFileName().toString().startsWith("qwen2") ? "qwen2" : "llama");
        }
    }

    @Test
    void architectureOptionsTheFileCannotHaveAreUsageErrors() {
        Path out = dir.resolve("x.gguf");
        CliRun r = CliRun.of("model", "synth", "--arch", "gemma2", "--layers", "1", "--embd", "64", "--heads", "4", "--ffn", "128", "-o", out.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("expected llama, qwen2, qwen3, not 'gemma2'");
        r = CliRun.of("model", "synth", "--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--ffn", "128",
                "--rope-scaling", "llama3:8", "-o", out.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--rope-scaling llama3 is for --arch llama, not qwen2");
        r = CliRun.of("model", "synth", "--arch", "qwen2", "--layers", "1", "--embd", "64", "--heads", "4", "--head-dim", "32",
                "--ffn", "128", "-o", out.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("qwen2 has heads * head-dim = embd, not 4 * 32 = 128 with embd 64");
        r = CliRun.of("model", "synth", "--layers", "1", "--embd", "64", "--heads", "4", "--ffn", "128", "--rope-scaling", "yarn:4",
                "-o", out.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("expected linear:FACTOR or llama3:FACTOR[:CTX], not 'yarn:4'");
        assertThat(out).doesNotExist();
    }
}
