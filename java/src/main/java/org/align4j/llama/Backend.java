package org.align4j.llama;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.align4j.Align4jException;

/** The compute backend llama.cpp runs on, as ggml's backend registry reports it; read once per process. */
public final class Backend {
    private Backend() {}

    // enum ggml_backend_dev_type
    private static final int DEVICE_TYPE_CPU = 0, DEVICE_TYPE_GPU = 1;
    private static final String CUDA = "CUDA"; // ggml-cuda's registry name

    private static Info info;

    /** Where the layers offloaded with {@code --gpu-layers} run. */
    public enum Kind { CPU, CUDA }

    /**
     * One GPU as ggml-cuda reports it.
     *
     * @param name        ggml's device name ("CUDA0")
     * @param description the device ("NVIDIA H200")
     * @param totalBytes  its memory
     * @param freeBytes   its free memory when the backend was read
     */
    public record Gpu(String name, String description, long totalBytes, long freeBytes) {}

    /**
     * The backend of this process.
     *
     * @param kind      CUDA when the CUDA backend sees a GPU, else CPU
     * @param cudaBuild the CUDA backend is registered (it is in a CUDA build, even when it finds no device)
     * @param gpus      the CUDA backend's GPUs, in ggml's order
     * @param cpu       the CPU device's description ("AMD EPYC 7B13 64-Core Processor")
     */
    public record Info(Kind kind, boolean cudaBuild, List<Gpu> gpus, String cpu) {
        public Info {
            gpus = List.copyOf(gpus);
        }

        /** One line for people: {@code CPU (AMD EPYC ...)}, {@code CUDA (NVIDIA H200, 139.8 GiB, 138.9 GiB free)}. */
        public String describe() {
            return switch (kind) {
                case CUDA -> "CUDA (" + gpus.stream()
                        .map(g -> g.description() + ", " + gib(g.totalBytes()) + ", " + gib(g.freeBytes()) + " free")
                        .collect(Collectors.joining("; ")) + ")";
                case CPU -> "CPU (" + cpu + (cudaBuild ? "; CUDA build, no usable CUDA device" : "") + ")";
            };
        }

        /** Why {@code --gpu-layers N} cannot run on this backend, whose libraries are in {@code dir}; empty when it can. */
        Optional<String> gpuLayersRefusal(int gpuLayers, Path dir) {
            if (gpuLayers == 0 || kind == Kind.CUDA) {
                return Optional.empty();
            }
            return Optional.of("--gpu-layers " + gpuLayers + " asks for a GPU, but " + (cudaBuild
                    ? "this CUDA build (" + dir + ") sees no usable CUDA device (check nvidia-smi and CUDA_VISIBLE_DEVICES)"
                    : "this llama.cpp build (" + dir + ") is CPU-only: build the CUDA backend with `make cuda` and run with "
                            + NativeLibraries.DIR_ENV + "=build/cuda/bin")
                    + "; --gpu-layers 0 runs on the CPU");
        }
    }

    /** The backend, read from the loaded libraries on first use. */
    public static synchronized Info info() {
        if (info == null) {
            Llama.ensureLoaded();
            info = read();
        }
        return info;
    }

    /** Refuses layers on a GPU that is not there, rather than letting llama.cpp run them on the CPU. */
    static void checkGpuLayers(int gpuLayers) {
        if (gpuLayers != 0) {
            info().gpuLayersRefusal(gpuLayers, NativeLibraries.directory()).ifPresent(why -> {
                throw new Align4jException(why);
            });
        }
    }

    private static Info read() {
        boolean cudaBuild = false;
        List<Gpu> gpus = new ArrayList<>();
        String cpu = "unknown CPU";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG), total = arena.allocate(JAVA_LONG); // size_t
            for (long r = 0, nr = Llama.ggml_backend_reg_count(); r < nr; r++) {
                MemorySegment reg = Llama.ggml_backend_reg_get(r);
                boolean cuda = CUDA.equals(NativeStrings.cString(Llama.ggml_backend_reg_name(reg)));
                cudaBuild |= cuda;
                for (long d = 0, nd = Llama.ggml_backend_reg_dev_count(reg); d < nd; d++) {
                    MemorySegment dev = Llama.ggml_backend_reg_dev_get(reg, d);
                    String description = NativeStrings.cString(Llama.ggml_backend_dev_description(dev));
                    int type = Llama.ggml_backend_dev_type(dev);
                    if (cuda && type == DEVICE_TYPE_GPU) {
                        Llama.ggml_backend_dev_memory(dev, free, total);
                        gpus.add(new Gpu(NativeStrings.cString(Llama.ggml_backend_dev_name(dev)), description,
                                total.get(JAVA_LONG, 0), free.get(JAVA_LONG, 0)));
                    } else if (type == DEVICE_TYPE_CPU) {
                        cpu = description;
                    }
                }
            }
        }
        return new Info(gpus.isEmpty() ? Kind.CPU : Kind.CUDA, cudaBuild, gpus, cpu);
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
