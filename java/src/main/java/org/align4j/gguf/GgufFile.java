package org.align4j.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import java.util.function.Function;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * A GGUF file, memory-mapped read-only into a shared arena this object owns. Tensor data are
 * {@link MemorySegment} views of that mapping, valid until {@link #close()}; any thread may read them.
 */
public final class GgufFile implements AutoCloseable {
    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final GgufParser.Header header;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private boolean closed;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.header = header;
        this.tensorsByName = new HashMap<>();
        for (GgufTensorInfo t : header.tensors()) {
            tensorsByName.put(t.name(), t);
        }
    }

    /** Maps and parses {@code path}; a missing, unreadable or malformed file is an {@link Align4jException}. */
    public static GgufFile open(Path path) {
        if (Files.isDirectory(path)) {
            throw new Align4jException(path + ": is a directory, not a GGUF file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufFile(path, arena, mapping, GgufParser.parse(path, mapping));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new Align4jException(path + ": cannot read: no such file", e);
        } catch (IOException e) {
            arena.close();
            throw new Align4jException(path + ": cannot read: " + IoMessages.describe(e), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public long fileSize() {
        return mapping.byteSize();
    }

    /** 2 or 3. */
    public int version() {
        return header.version();
    }

    /** In bytes; {@code general.alignment} or 32. */
    public int alignment() {
        return header.alignment();
    }

    /** File offset of the data section; tensor offsets count from here. */
    public long dataOffset() {
        return header.dataOffset();
    }

    /** All key-value pairs in file order (unmodifiable). */
    public SequencedMap<String, GgufValue> metadata() {
        return header.metadata();
    }

    public Optional<GgufValue> value(String key) {
        return Optional.ofNullable(header.metadata().get(key));
    }

    public boolean has(String key) {
        return header.metadata().containsKey(key);
    }

    public String string(String key) {
        return typed(key, GgufValue::asString);
    }

    /** Any integer type. */
    public long integer(String key) {
        return typed(key, GgufValue::asLong);
    }

    /** FLOAT32 or FLOAT64. */
    public double number(String key) {
        return typed(key, GgufValue::asDouble);
    }

    public boolean bool(String key) {
        return typed(key, GgufValue::asBoolean);
    }

    public String[] stringArray(String key) {
        return typed(key, GgufValue::asStringArray);
    }

    public int arrayLength(String key) {
        return typed(key, GgufValue::arrayLength);
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return header.tensors();
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensorsByName.get(name);
        if (t == null) {
            throw new Align4jException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** The tensor's bytes in the mapping, {@code tensor(name).byteSize()} long. */
    public MemorySegment tensorData(String name) {
        GgufTensorInfo t = tensor(name);
        return mapping.asSlice(header.dataOffset() + t.offset(), t.byteSize());
    }

    /** Unmaps the file; segments from {@link #tensorData} become inaccessible. Safe to call twice. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    private <T> T typed(String key, Function<GgufValue, T> convert) {
        GgufValue v = header.metadata().get(key);
        if (v == null) {
            throw new Align4jException(path + ": metadata key '" + key + "' is missing");
        }
        try {
            return convert.apply(v);
        } catch (IllegalArgumentException e) {
            throw new Align4jException(path + ": metadata key '" + key + "': " + e.getMessage(), e);
        }
    }
}
