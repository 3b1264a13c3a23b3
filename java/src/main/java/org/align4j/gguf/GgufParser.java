package org.align4j.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import org.align4j.Align4jException;

/**
 * Reads a GGUF header from a mapped file with every read bounds-checked, so malformed input becomes
 * an {@link Align4jException} naming the file, the byte offset and the cause. Single use.
 */
final class GgufParser {
    static final String ALIGNMENT_KEY = "general.alignment";
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4; // GGML_MAX_DIMS

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MIN_KV_BYTES = 8 + 4 + 1; // empty key, type, smallest value
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8; // empty name, n_dims, type, offset
    private static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    /** What a header says; tensor offsets are relative to {@code dataOffset}. */
    record Header(int version, SequencedMap<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                  int alignment, long dataOffset) {}

    private final Path path;
    private final MemorySegment file;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private long pos;

    private GgufParser(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
    }

    static Header parse(Path path, MemorySegment file) {
        return new GgufParser(path, file).header();
    }

    private Header header() {
        need(4, "the magic");
        if (file.get(I32, 0) != 0x46554747) { // "GGUF" read as a little-endian u32
            throw error(0, "not a GGUF file: magic is " + hex(0, 4) + ", expected 47 47 55 46 (\"GGUF\")");
        }
        pos = 4;
        long versionAt = pos;
        int version = u32("the version");
        if (version != 2 && version != 3) {
            throw error(versionAt, "unsupported GGUF version " + Integer.toUnsignedString(version) + " (align4j reads versions 2 and 3)");
        }
        long nTensors = count(MIN_TENSOR_INFO_BYTES, "tensor count");
        long nKv = count(MIN_KV_BYTES, "metadata key-value count");

        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            long keyAt = pos;
            String key = string("metadata key " + i);
            if (key.isEmpty()) {
                throw error(keyAt, "metadata key " + i + " is empty");
            }
            if (metadata.containsKey(key)) {
                throw error(keyAt, "duplicate metadata key '" + key + "'");
            }
            metadata.put(key, value(key));
        }
        int alignment = alignment(metadata);

        List<GgufTensorInfo> tensors = new ArrayList<>((int) nTensors);
        Set<String> names = new HashSet<>();
        for (long i = 0; i < nTensors; i++) {
            long nameAt = pos;
            String name = string("tensor name " + i);
            if (!names.add(name)) {
                throw error(nameAt, "duplicate tensor name '" + name + "'");
            }
            tensors.add(tensorInfo(name));
        }
        long dataOffset = nTensors > 0 ? alignUp(pos, alignment) : pos;
        for (GgufTensorInfo t : tensors) {
            checkData(t, dataOffset, alignment);
        }
        return new Header(version, Collections.unmodifiableSequencedMap(metadata), List.copyOf(tensors), alignment, dataOffset);
    }

    private GgufValue value(String key) {
        GgufValueType type = valueType("value type of '" + key + "'");
        if (type != GgufValueType.ARRAY) {
            return new GgufValue(type, null, scalar(type, "value of '" + key + "'"));
        }
        long elementTypeAt = pos;
        GgufValueType elementType = valueType("element type of '" + key + "'");
        if (elementType == GgufValueType.ARRAY) {
            throw error(elementTypeAt, "'" + key + "' is an array of arrays, which GGUF readers (llama.cpp's included) do not support");
        }
        int n = (int) count(elementType.minBytes(), "element count of '" + key + "'");
        return GgufValue.array(elementType, array(elementType, n, key));
    }

    private Object scalar(GgufValueType type, String what) {
        return switch (type) {
            case UINT8, INT8 -> u8(what);
            case UINT16, INT16 -> {
                need(2, what);
                short v = file.get(I16, pos);
                pos += 2;
                yield v;
            }
            case UINT32, INT32 -> u32(what);
            case UINT64, INT64 -> u64(what);
            case FLOAT32 -> {
                need(4, what);
                float v = file.get(F32, pos);
                pos += 4;
                yield v;
            }
            case FLOAT64 -> {
                need(8, what);
                double v = file.get(F64, pos);
                pos += 8;
                yield v;
            }
            case BOOL -> bool(what);
            case STRING -> string(what);
            case ARRAY -> throw new IllegalStateException("arrays are read by value()");
        };
    }

    private Object array(GgufValueType type, int n, String key) {
        String what = "array '" + key + "'";
        return switch (type) {
            case UINT8, INT8 -> bulk(new byte[n], ValueLayout.JAVA_BYTE, n, what);
            case UINT16, INT16 -> bulk(new short[n], I16, n, what);
            case UINT32, INT32 -> bulk(new int[n], I32, n, what);
            case UINT64, INT64 -> bulk(new long[n], I64, n, what);
            case FLOAT32 -> bulk(new float[n], F32, n, what);
            case FLOAT64 -> bulk(new double[n], F64, n, what);
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = bool(what);
                }
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) {
                    a[i] = string(what + " element " + i);
                }
                yield a;
            }
            case ARRAY -> throw new IllegalStateException("nested arrays are rejected by value()");
        };
    }

    private Object bulk(Object dst, ValueLayout layout, int n, String what) {
        need(n * layout.byteSize(), what);
        MemorySegment.copy(file, layout, pos, dst, 0, n);
        pos += n * layout.byteSize();
        return dst;
    }

    private GgufTensorInfo tensorInfo(String name) {
        String what = "tensor '" + name + "'";
        long nDimsAt = pos;
        int nDims = u32(what + " dimension count");
        if (nDims < 0 || nDims > MAX_DIMS) {
            throw error(nDimsAt, what + " has " + Integer.toUnsignedString(nDims) + " dimensions; ggml allows at most " + MAX_DIMS);
        }
        long[] dims = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            long dimAt = pos;
            dims[d] = u64(what + " dimension " + d);
            if (dims[d] < 0) {
                throw error(dimAt, what + " dimension " + d + " is negative (" + dims[d] + ")");
            }
            try {
                elements = Math.multiplyExact(elements, dims[d]);
            } catch (ArithmeticException e) {
                throw error(dimAt, what + " has more elements than a long can count");
            }
        }
        long typeAt = pos;
        int typeId = u32(what + " type");
        GgmlType type = GgmlType.fromId(typeId);
        if (type == null) {
            throw error(typeAt, what + " has unknown ggml type " + typeId);
        }
        if (nDims > 0 && dims[0] % type.blockSize() != 0) {
            throw error(typeAt, what + " has rows of " + dims[0] + " values, not a multiple of " + type + "'s block size " + type.blockSize());
        }
        long offset = u64(what + " data offset");
        return new GgufTensorInfo(name, dims, type, offset);
    }

    private void checkData(GgufTensorInfo t, long dataOffset, int alignment) {
        long bytes;
        try {
            bytes = t.byteSize();
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw error(dataOffset, "tensor '" + t.name() + "' has an unrepresentable size: " + e.getMessage());
        }
        long room = file.byteSize() - dataOffset;
        if (t.offset() < 0 || t.offset() > room || bytes > room - t.offset()) {
            throw error(dataOffset + t.offset(), "tensor '" + t.name() + "' data (" + bytes + " bytes at data offset "
                    + Long.toUnsignedString(t.offset()) + ") runs past the end of the file (" + file.byteSize() + " bytes)");
        }
        if (t.offset() % alignment != 0) {
            throw error(dataOffset + t.offset(), "tensor '" + t.name() + "' data offset " + t.offset() + " is not a multiple of the alignment " + alignment);
        }
    }

    private int alignment(SequencedMap<String, GgufValue> metadata) {
        GgufValue v = metadata.get(ALIGNMENT_KEY);
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (v.type() != GgufValueType.UINT32) {
            throw error(pos, ALIGNMENT_KEY + " must be a UINT32, found " + v.describeType());
        }
        int a = (Integer) v.value();
        if (a <= 0 || Integer.bitCount(a) != 1) {
            throw error(pos, ALIGNMENT_KEY + " is " + Integer.toUnsignedString(a) + ", not a power of 2");
        }
        return a;
    }

    /** A u64 count whose entries take at least {@code minBytesEach}; absurd counts are refused before allocating. */
    private long count(int minBytesEach, String what) {
        long at = pos;
        long n = u64(what);
        long left = file.byteSize() - pos;
        if (n < 0 || n > MAX_JAVA_ARRAY || n > left / minBytesEach) {
            throw error(at, "absurd " + what + " " + Long.toUnsignedString(n) + ": the " + left + " bytes left in the file cannot hold that many");
        }
        return n;
    }

    private GgufValueType valueType(String what) {
        long at = pos;
        int id = u32(what);
        GgufValueType t = GgufValueType.fromId(id);
        if (t == null) {
            throw error(at, "unknown GGUF " + what + ": " + Integer.toUnsignedString(id));
        }
        return t;
    }

    private String string(String what) {
        long at = pos;
        long len = u64(what + " length");
        long left = file.byteSize() - pos;
        if (len < 0 || len > left || len > MAX_JAVA_ARRAY) {
            throw error(at, "absurd " + what + " length " + Long.toUnsignedString(len) + " (" + left + " bytes left in the file)");
        }
        try {
            String s = utf8.decode(file.asSlice(pos, len).asByteBuffer()).toString();
            pos += len;
            return s;
        } catch (CharacterCodingException e) {
            throw error(pos, what + " is not valid UTF-8");
        }
    }

    private boolean bool(String what) {
        long at = pos;
        byte b = u8(what);
        if (b != 0 && b != 1) {
            throw error(at, what + ": a BOOL must be 0 or 1, found " + b);
        }
        return b == 1;
    }

    private byte u8(String what) {
        need(1, what);
        return file.get(ValueLayout.JAVA_BYTE, pos++);
    }

    private int u32(String what) {
        need(4, what);
        int v = file.get(I32, pos);
        pos += 4;
        return v;
    }

    private long u64(String what) {
        need(8, what);
        long v = file.get(I64, pos);
        pos += 8;
        return v;
    }

    private void need(long n, String what) {
        if (n > file.byteSize() - pos) {
            throw error(pos, "truncated: " + what + " needs " + n + " bytes but the file ends at byte " + file.byteSize());
        }
    }

    private Align4jException error(long offset, String cause) {
        return new Align4jException(path + ": at byte offset " + offset + ": " + cause);
    }

    private String hex(long from, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i > 0 ? " " : "").append(String.format("%02x", file.get(ValueLayout.JAVA_BYTE, from + i)));
        }
        return sb.toString();
    }

    static long alignUp(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }
}
