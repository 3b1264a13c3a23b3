package org.align4j.llama;

import java.util.ArrayList;
import java.util.List;

/** What llama.cpp was built with and which compute devices it sees; chosen once, at load. */
public final class Backend {
    private Backend() {}

    /** Device names and descriptions ("CPU: AMD EPYC ..."), as ggml registered them. */
    public static List<String> devices() {
        Llama.ensureLoaded();
        List<String> out = new ArrayList<>();
        long n = Llama.ggml_backend_dev_count();
        for (long i = 0; i < n; i++) {
            var dev = Llama.ggml_backend_dev_get(i);
            out.add(NativeStrings.cString(Llama.ggml_backend_dev_name(dev)) + ": "
                    + NativeStrings.cString(Llama.ggml_backend_dev_description(dev)));
        }
        return out;
    }

    /** True when this llama.cpp build can offload layers to a GPU. */
    public static boolean gpuOffload() {
        Llama.ensureLoaded();
        return Llama.llama_supports_gpu_offload();
    }

    /** llama.cpp's CPU feature line ("AVX2 = 1 | ..."). */
    public static String systemInfo() {
        Llama.ensureLoaded();
        return NativeStrings.cString(Llama.llama_print_system_info());
    }

    /** One line for start-up logs: the backend and the devices. */
    public static String describe() {
        return (gpuOffload() ? "GPU-capable build" : "CPU build") + "; devices: " + String.join(", ", devices());
    }
}
