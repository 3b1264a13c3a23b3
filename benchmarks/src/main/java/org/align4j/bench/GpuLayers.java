package org.align4j.bench;

import java.util.List;
import picocli.CommandLine.Option;

/** The harnesses that run on a GPU: {@code --gpu-layers N}, passed on to align4j and llama-batched-bench alike. */
final class GpuLayers {
    @Option(names = "--gpu-layers", paramLabel = "N",
            description = "layers to offload: align4j's --gpu-layers, llama-batched-bench's -ngl (-1: all); default: ${DEFAULT-VALUE}, the CPU")
    int layers = 0;

    /** {@code --gpu-layers N} for an align4j job; nothing at 0, align4j's own default, so CPU command lines stay as they were. */
    List<String> align4jArgs() {
        return layers == 0 ? List.of() : List.of("--gpu-layers", String.valueOf(layers));
    }

    /**
     * {@code -ngl N} for llama-batched-bench ({@code all} for -1). Its own default offloads what fits on a CUDA
     * build, so at 0 only the default CPU build ({@code bench} without --native) goes without it.
     */
    List<String> batchedBenchArgs(BenchOptions bench) {
        return layers == 0 && !bench.nativeGiven() ? List.of() : List.of("-ngl", layers < 0 ? "all" : String.valueOf(layers));
    }

    boolean onGpu() {
        return layers != 0;
    }
}
