package org.align4j.llama;

import org.align4j.TestModels;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backend as ggml reports it on the CPU build, and the refusal of GPU layers where no GPU is usable. */
class BackendTest {
    @TempDir Path tmp;

    /** ggml-cpu's device description on Linux: /proc/cpuinfo's first "model name", trimmed. */
    static String cpuModelName() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse("CPU");
    }

    @Test
    void theCpuBuildIsTheCpuDeviceAlone() throws IOException {
        Backend.Info info = Backend.info();
        System.out.println("backend: " + info.describe() + "; /proc/cpuinfo model name: " + cpuModelName());
        assertThat(info.kind()).isEqualTo(Backend.Kind.CPU);
        assertThat(info.cudaBuild()).as("CUDA registered").isFalse();
        assertThat(info.gpus()).isEmpty();
        assertThat(info.cpu()).isEqualTo(cpuModelName());
        assertThat(info.describe()).isEqualTo("CPU (" + cpuModelName() + ")");
        assertThat(Backend.info()).as("read once").isSameAs(info);
    }

    @Test
    void describesCudaAndACudaBuildWithoutADevice() {
        long gib = 1L << 30;
        var h200 = new Backend.Gpu("CUDA0", "NVIDIA H200", 150_000_000_000L, 149 * gib);
        assertThat(new Backend.Info(Backend.Kind.CUDA, true, List.of(h200), "AMD EPYC").describe())
                .isEqualTo("CUDA (NVIDIA H200, 139.7 GiB, 149.0 GiB free)");
        assertThat(new Backend.Info(Backend.Kind.CUDA, true, List.of(h200, h200), "AMD EPYC").describe())
                .isEqualTo("CUDA (NVIDIA H200, 139.7 GiB, 149.0 GiB free; NVIDIA H200, 139.7 GiB, 149.0 GiB free)");
        assertThat(new Backend.Info(Backend.Kind.CPU, true, List.of(), "AMD EPYC").describe())
                .isEqualTo("CPU (AMD EPYC; CUDA build, no usable CUDA device)");
    }

    @Test
    void gpuLayersAreRefusedWhereNoGpuIsUsable() {
        Path dir = Path.of("/opt/cuda-build");
        var cudaNoDevice = new Backend.Info(Backend.Kind.CPU, true, List.of(), "AMD EPYC");
        assertThat(cudaNoDevice.gpuLayersRefusal(-1, dir)).hasValueSatisfying(m -> assertThat(m)
                .contains("--gpu-layers -1").contains("this CUDA build (" + dir + ") sees no usable CUDA device"));
        assertThat(cudaNoDevice.gpuLayersRefusal(0, dir)).isEmpty();
        var cuda = new Backend.Info(Backend.Kind.CUDA, true, List.of(new Backend.Gpu("CUDA0", "NVIDIA H200", 1, 1)), "AMD EPYC");
        assertThat(cuda.gpuLayersRefusal(-1, dir)).isEmpty();
    }

    @Test
    void modelLoadRefusesGpuLayersOnTheCpuBuild() {
        Path model = TestModels.tiny(tmp, GgmlType.F32, 1);
        for (int layers : new int[] {1, -1}) {
            assertThatThrownBy(() -> Model.load(model, ModelOptions.inference(layers)))
                    .isInstanceOf(Align4jException.class)
                    .hasMessageContaining("--gpu-layers " + layers + " asks for a GPU")
                    .hasMessageContaining("this llama.cpp build (" + NativeLibraries.directory() + ") is CPU-only")
                    .hasMessageContaining("make cuda");
        }
        try (Model m = Model.load(model, ModelOptions.inference(0))) {
            assertThat(m.nLayer()).isEqualTo(SynthPreset.named("tiny").shape().layers());
        }
    }
}
