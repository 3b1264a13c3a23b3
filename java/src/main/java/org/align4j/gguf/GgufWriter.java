package org.align4j.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.Set;
import java.util.function.Consumer;
import org.align4j.Align4jException;
import org.align4j.AtomicFile;
import org.align4j.IoMessages;

/**
 * Writes GGUF version 3 files: header, key-value pairs, tensor infos, zero padding to the alignment,
 * then each tensor's data padded to the alignment. A file without tensors ends after its tensor infos,
 * unpadded, as gguf-py writes them (llama.cpp's vocab files) and as readers expect. Tensor bytes are
 * produced one tensor at a time straight into a mapping of the output, so no more than one tensor is
 * ever in flight. The file is written next to {@code out} under a temporary name and renamed over it
 * only when complete.
 *
 * <p>A full disk under a mapping is a fault (SIGBUS) at the store, which the JVM reports as an
 * InternalError, naming nothing. So each tensor's bytes are first written as zeros through the channel,
 * which makes the file system allocate them (a full disk is then an I/O error there), and a fault that
 * still comes (a file system that allocates again on rewrite) is reported as an error naming the file.
 */
public final class GgufWriter {

    /**
     * A tensor to write. {@code fill} receives a writable segment of exactly {@code type.byteSize(elements)}
     * bytes, from a shared arena so it may fan the work out to other threads; it must write every byte
     * (the segment starts zeroed) and return only when done.
     */
    public record Tensor(String name, GgmlType type, long[] dims, Consumer<MemorySegment> fill) {
        public Tensor {
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }

        long byteSize() {
            return new GgufTensorInfo(name, dims, type, 0).byteSize();
        }
    }

    private GgufWriter() {}

    /** Writes the file and returns its size in bytes. I/O failures are {@link Align4jException}s naming {@code out}. */
    public static long write(Path out, SequencedMap<String, GgufValue> metadata, List<Tensor> tensors) {
        int alignment = alignmentOf(metadata);
        Header header = header(metadata, tensors, alignment);
        try {
            AtomicFile.write(out, tmp -> writeTo(tmp, out, header, tensors, alignment));
            return Files.size(out);
        } catch (IOException e) {
            throw new Align4jException(out + ": cannot write: " + IoMessages.describe(e), e);
        }
    }

    private static void writeTo(Path tmp, Path out, Header header, List<Tensor> tensors, int alignment) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
            writeFully(ch, ByteBuffer.wrap(header.bytes()), 0);
            long dataOffset = tensors.isEmpty() ? header.bytes().length : GgufParser.alignUp(header.bytes().length, alignment);
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                long at = dataOffset + header.offsets()[i];
                // The region covers the padding too, so the file grows to its final size with zeros there.
                long padded = GgufParser.alignUp(t.byteSize(), alignment);
                writeZeros(ch, at, padded, zeros);
                try (Arena arena = Arena.ofShared()) {
                    MemorySegment region = ch.map(FileChannel.MapMode.READ_WRITE, at, padded, arena);
                    t.fill().accept(region.asSlice(0, t.byteSize()));
                } catch (InternalError e) { // "a fault occurred in an unsafe memory access operation"
                    throw new Align4jException(out + ": cannot write tensor '" + t.name() + "' through its mapping: the disk may be full", e);
                }
            }
            long size = dataOffset + header.dataSize();
            if (ch.size() < size) { // zero-byte tensors map nothing, so their padding is written here
                writeFully(ch, ByteBuffer.allocate((int) (size - ch.size())), ch.size());
            }
            ch.force(true);
        }
    }

    // Header bytes up to (not including) the padding before the data section; tensor offsets (bytes,
    // relative to the data section) and the total padded data size.
    private record Header(byte[] bytes, long[] offsets, long dataSize) {}

    private static Header header(SequencedMap<String, GgufValue> metadata, List<Tensor> tensors, int alignment) {
        LittleEndianBytes b = new LittleEndianBytes();
        b.raw(new byte[] {'G', 'G', 'U', 'F'});
        b.u32(3);
        b.u64(tensors.size());
        b.u64(metadata.size());
        for (Map.Entry<String, GgufValue> kv : metadata.entrySet()) {
            if (kv.getKey().isEmpty()) {
                throw new IllegalArgumentException("GGUF metadata keys must not be empty");
            }
            b.string(kv.getKey());
            value(b, kv.getValue());
        }
        long[] offsets = new long[tensors.size()];
        long offset = 0;
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            long[] dims = t.dims();
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("duplicate tensor name '" + t.name() + "'");
            }
            if (dims.length == 0 || dims.length > GgufParser.MAX_DIMS || dims[0] % t.type().blockSize() != 0) {
                throw new IllegalArgumentException("tensor '" + t.name() + "': needs 1 to " + GgufParser.MAX_DIMS
                        + " dimensions with ne0 a multiple of " + t.type() + "'s block size " + t.type().blockSize());
            }
            b.string(t.name());
            b.u32(dims.length);
            for (long d : dims) {
                b.u64(d);
            }
            b.u32(t.type().id());
            b.u64(offset);
            offsets[i] = offset;
            offset += GgufParser.alignUp(t.byteSize(), alignment);
        }
        return new Header(b.toByteArray(), offsets, offset);
    }

    private static void value(LittleEndianBytes b, GgufValue v) {
        b.u32(v.type().id());
        if (v.type() != GgufValueType.ARRAY) {
            scalar(b, v.type(), v.value());
            return;
        }
        b.u32(v.elementType().id());
        int n = v.arrayLength();
        b.u64(n);
        for (int i = 0; i < n; i++) {
            scalar(b, v.elementType(), Array.get(v.value(), i));
        }
    }

    private static void scalar(LittleEndianBytes b, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> b.u8((Byte) v);
            case UINT16, INT16 -> b.u16((Short) v);
            case UINT32, INT32 -> b.u32((Integer) v);
            case UINT64, INT64 -> b.u64((Long) v);
            case FLOAT32 -> b.u32(Float.floatToRawIntBits((Float) v));
            case FLOAT64 -> b.u64(Double.doubleToRawLongBits((Double) v));
            case BOOL -> b.u8((Boolean) v ? (byte) 1 : 0);
            case STRING -> b.string((String) v);
            case ARRAY -> throw new IllegalArgumentException("arrays of arrays are not supported");
        }
    }

    private static int alignmentOf(SequencedMap<String, GgufValue> metadata) {
        GgufValue v = metadata.get(GgufParser.ALIGNMENT_KEY);
        if (v == null) {
            return GgufParser.DEFAULT_ALIGNMENT;
        }
        if (v.type() != GgufValueType.UINT32 || (Integer) v.value() <= 0 || Integer.bitCount((Integer) v.value()) != 1) {
            throw new IllegalArgumentException(GgufParser.ALIGNMENT_KEY + " must be a UINT32 power of 2, not " + v);
        }
        return (Integer) v.value();
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        while (buf.hasRemaining()) {
            at += ch.write(buf, at);
        }
    }

    /** Writes {@code n} zero bytes at {@code at}, {@code zeros.capacity()} at a time. */
    private static void writeZeros(FileChannel ch, long at, long n, ByteBuffer zeros) throws IOException {
        for (long done = 0; done < n; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), n - done));
            done += ch.write(zeros, at + done);
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class LittleEndianBytes {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        void raw(byte[] bytes) {
            room(bytes.length).put(bytes);
        }

        void u8(byte v) {
            room(1).put(v);
        }

        void u16(short v) {
            room(2).putShort(v);
        }

        void u32(int v) {
            room(4).putInt(v);
        }

        void u64(long v) {
            room(8).putLong(v);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            raw(utf8);
        }

        byte[] toByteArray() {
            byte[] out = new byte[buf.position()];
            buf.get(0, out);
            return out;
        }

        private ByteBuffer room(int n) {
            if (buf.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
            return buf;
        }
    }
}
