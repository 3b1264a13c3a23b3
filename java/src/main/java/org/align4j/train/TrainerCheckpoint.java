package org.align4j.train;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import org.align4j.Align4jException;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.GgufValue;
import org.align4j.gguf.GgufWriter;

/**
 * A training run's state in one file, to resume from: the parameters, the optimizer's arrays (opaque
 * here, named by the optimizer) and a few values of the caller's (step, data position, seeds).
 *
 * <p>The file is a GGUF: the source model's key-value pairs as they were, {@value #FORMAT_KEY}, and
 * each of {@code info} under {@value #INFO_PREFIX}; the parameters (frozen ones too) as F32 tensors
 * under their own names and order; each optimizer array as a 1-D F32 tensor under {@value #STATE_PREFIX} and its name,
 * in the order given. Loading gives back every float bit for bit (NaN payloads and -0 included), and
 * saving the same state twice writes the same bytes. Written atomically, as {@link GgufWriter} does.
 */
public final class TrainerCheckpoint {
    public static final String FORMAT_KEY = "align4j.checkpoint.format";
    public static final String INFO_PREFIX = "align4j.checkpoint.info.";
    public static final String STATE_PREFIX = "align4j.state.";
    private static final String CHECKPOINT_PREFIX = "align4j.checkpoint.";
    private static final int FORMAT = 1;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * What a checkpoint holds.
     *
     * @param params         the parameters, with the source model's metadata
     * @param optimizerState arrays by name, in the order saved
     * @param info           the caller's values by key (without the prefix), in the order saved
     */
    public record State(LlamaParams params, SequencedMap<String, float[]> optimizerState, SequencedMap<String, GgufValue> info) {
        public State {
            optimizerState = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(optimizerState));
            info = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(info));
        }
    }

    /**
     * What a checkpoint of a run that trains tensors other than a whole model (a LoRA adapter) holds.
     *
     * @param metadata       the key-value pairs the trained tensors' own file has (an adapter's), in order
     * @param tensors        the trained tensors, f32, in order
     * @param optimizerState arrays by name, in the order saved
     * @param info           the caller's values by key (without the prefix), in the order saved
     */
    public record TensorState(SequencedMap<String, GgufValue> metadata, List<LlamaParams.Tensor> tensors,
                              SequencedMap<String, float[]> optimizerState, SequencedMap<String, GgufValue> info) {
        public TensorState {
            metadata = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
            tensors = List.copyOf(tensors);
            optimizerState = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(optimizerState));
            info = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(info));
        }

        /** The tensor's values by name. */
        public float[] tensor(String name) {
            return tensors.stream().filter(t -> t.name().equals(name)).findFirst().map(LlamaParams.Tensor::data)
                    .orElseThrow(() -> new IllegalArgumentException("no tensor named '" + name + "'"));
        }
    }

    private TrainerCheckpoint() {}

    /** Writes {@code state} to {@code out}; returns the file size in bytes. */
    public static long save(Path out, State state) {
        return save(out, new TensorState(state.params().metadata(), state.params().fileTensors(), state.optimizerState(), state.info()));
    }

    /** Writes {@code state} to {@code out} in the same format; returns the file size in bytes. */
    public static long save(Path out, TensorState state) {
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(state.metadata());
        metadata.put(FORMAT_KEY, GgufValue.uint32(FORMAT));
        state.info().forEach((k, v) -> {
            if (k.isEmpty()) {
                throw new IllegalArgumentException("empty info key");
            }
            metadata.put(INFO_PREFIX + k, v);
        });
        List<GgufWriter.Tensor> tensors = new ArrayList<>();
        for (LlamaParams.Tensor t : state.tensors()) {
            tensors.add(f32(t.name(), t.dims(), t.data()));
        }
        state.optimizerState().forEach((name, values) -> {
            if (name.isEmpty()) {
                throw new IllegalArgumentException("empty optimizer state name");
            }
            tensors.add(f32(STATE_PREFIX + name, new long[] {values.length}, values));
        });
        return GgufWriter.write(out, metadata, tensors);
    }

    /** Reads a checkpoint {@link #save} wrote; anything else is an {@link Align4jException} naming the file. */
    public static State load(Path path) {
        try (GgufFile f = open(path)) {
            LlamaParams params = LlamaParams.read(f, name -> name.startsWith(STATE_PREFIX), key -> key.startsWith(CHECKPOINT_PREFIX));
            return new State(params, optimizerState(f, path), info(f));
        }
    }

    /** Reads a checkpoint {@link #save(Path, TensorState)} wrote (its tensors all F32); anything else is an {@link Align4jException} naming the file. */
    public static TensorState loadTensors(Path path) {
        try (GgufFile f = open(path)) {
            SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
            f.metadata().forEach((k, v) -> {
                if (!k.startsWith(CHECKPOINT_PREFIX)) {
                    metadata.put(k, v);
                }
            });
            List<LlamaParams.Tensor> tensors = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) {
                if (!t.name().startsWith(STATE_PREFIX)) {
                    if (t.type() != GgmlType.F32) {
                        throw new Align4jException(path + ": tensor " + t.name() + " is " + t.type() + ", not F32");
                    }
                    tensors.add(new LlamaParams.Tensor(t.name(), t.dims(), f32(f, t)));
                }
            }
            return new TensorState(metadata, tensors, optimizerState(f, path), info(f));
        }
    }

    /** The value of info key {@code key} in the checkpoint at {@code path}, null if it has none. */
    public static GgufValue info(Path path, String key) {
        try (GgufFile f = open(path)) {
            return f.metadata().get(INFO_PREFIX + key);
        }
    }

    private static GgufFile open(Path path) {
        GgufFile f = GgufFile.open(path);
        if (!f.has(FORMAT_KEY) || f.integer(FORMAT_KEY) != FORMAT) {
            f.close();
            throw new Align4jException(path + ": not an align4j checkpoint of format " + FORMAT + " (no " + FORMAT_KEY + " = " + FORMAT + ")");
        }
        return f;
    }

    private static SequencedMap<String, float[]> optimizerState(GgufFile f, Path path) {
        SequencedMap<String, float[]> optimizer = new LinkedHashMap<>();
        for (GgufTensorInfo t : f.tensors()) {
            if (t.name().startsWith(STATE_PREFIX)) {
                if (t.type() != GgmlType.F32 || t.dims().length != 1) {
                    throw new Align4jException(path + ": optimizer state " + t.name() + " is not a 1-D F32 tensor");
                }
                optimizer.put(t.name().substring(STATE_PREFIX.length()), f32(f, t));
            }
        }
        return optimizer;
    }

    private static float[] f32(GgufFile f, GgufTensorInfo t) {
        float[] values = new float[Math.toIntExact(t.elementCount())];
        MemorySegment.copy(f.tensorData(t.name()), F32, 0, values, 0, values.length);
        return values;
    }

    private static SequencedMap<String, GgufValue> info(GgufFile f) {
        SequencedMap<String, GgufValue> info = new LinkedHashMap<>();
        f.metadata().forEach((k, v) -> {
            if (k.startsWith(INFO_PREFIX)) {
                info.put(k.substring(INFO_PREFIX.length()), v);
            }
        });
        return info;
    }

    private static GgufWriter.Tensor f32(String name, long[] dims, float[] data) {
        return new GgufWriter.Tensor(name, GgmlType.F32, dims, dst -> MemorySegment.copy(data, 0, dst, F32, 0, data.length));
    }
}
