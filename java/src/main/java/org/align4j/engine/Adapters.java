package org.align4j.engine;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.llama.LoraAdapter;
import org.align4j.llama.Model;

/**
 * The LoRA adapters a job applies to its policy model (llama.cpp's {@code --lora FILE[:SCALE]}): GGUF
 * adapter files, each with its scale. Empty: the base model alone.
 */
public record Adapters(List<Adapter> list) {
    /** One adapter file and the scale llama.cpp applies it at (its delta times {@code scale · alpha / r}). */
    public record Adapter(Path file, float scale) {
        public Adapter {
            if (!Float.isFinite(scale)) {
                throw new IllegalArgumentException("the scale of LoRA adapter " + file + " must be a finite number, not " + scale);
            }
        }
    }

    public Adapters {
        list = List.copyOf(list);
    }

    public static Adapters none() {
        return new Adapters(List.of());
    }

    public Adapters with(Path file, float scale) {
        List<Adapter> more = new ArrayList<>(list);
        more.add(new Adapter(file, scale));
        return new Adapters(more);
    }

    public boolean isEmpty() {
        return list.isEmpty();
    }

    /** Loads every adapter onto {@code model}; the caller closes the result after the contexts that use it. */
    public Loaded load(Model model) {
        List<LoraAdapter> loaded = new ArrayList<>();
        try {
            for (Adapter a : list) {
                loaded.add(LoraAdapter.load(model, a.file()));
            }
        } catch (RuntimeException e) {
            loaded.forEach(LoraAdapter::close);
            throw e;
        }
        float[] scales = new float[list.size()];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = list.get(i).scale();
        }
        return new Loaded(List.copyOf(loaded), scales);
    }

    /** Adapters loaded onto a model, with their scales (one each), for {@code useAdapters} of a sampler or scorer. */
    public record Loaded(List<LoraAdapter> adapters, float[] scales) implements AutoCloseable {
        public boolean isEmpty() {
            return adapters.isEmpty();
        }

        @Override
        public void close() {
            for (int i = adapters.size() - 1; i >= 0; i--) {
                adapters.get(i).close();
            }
        }
    }
}
