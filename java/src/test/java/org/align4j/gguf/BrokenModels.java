package org.align4j.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Copies of good models with some of their weights overwritten, for tests of what a broken model does. */
public final class BrokenModels {
    private BrokenModels() {}

    /**
     * A copy of {@code model} at {@code out} with elements [from, from + count) of the F32 tensor
     * {@code tensor} set to {@code value} (NaN, an infinity).
     */
    public static Path withF32(Path model, Path out, String tensor, long from, long count, float value) {
        try {
            Files.copy(model, out, StandardCopyOption.REPLACE_EXISTING);
            long at;
            try (GgufFile f = GgufFile.open(out)) {
                GgufTensorInfo t = f.tensor(tensor);
                if (t.type() != GgmlType.F32 || from < 0 || from + count > t.elementCount()) {
                    throw new IllegalArgumentException(tensor + " is " + t + ": not F32, or too short for " + (from + count));
                }
                at = f.dataOffset() + t.offset() + 4 * from;
            }
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(4 * count)).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                b.putFloat(value);
            }
            b.flip();
            try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
                while (b.hasRemaining()) {
                    ch.write(b, at + b.position());
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of {@code model} whose final norm's weights are all NaN: every logit of every position is NaN. */
    public static Path allLogitsNaN(Path model, Path out) {
        int embd;
        try (GgufFile f = GgufFile.open(model)) {
            embd = Math.toIntExact(f.tensor("output_norm.weight").elementCount());
        }
        return withF32(model, out, "output_norm.weight", 0, embd, Float.NaN);
    }

    /** A copy of {@code model} (untied output) whose output row for {@code token} is NaN: that one logit is NaN everywhere. */
    public static Path oneLogitNaN(Path model, Path out, int token) {
        int embd;
        try (GgufFile f = GgufFile.open(model)) {
            embd = Math.toIntExact(f.tensor("output.weight").dims()[0]);
        }
        return withF32(model, out, "output.weight", (long) token * embd, embd, Float.NaN);
    }
}
