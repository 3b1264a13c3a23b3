package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufCorruptFileTest {
    private static final String TENSOR = "blk.0.weight";

    @TempDir Path dir;
    private byte[] valid;
    private Path file;

    @BeforeEach
    void writeValidFile() throws IOException {
        Path source = dir.resolve("valid.gguf");
        float[] data = new float[8]; // 32 bytes: the data section ends exactly at the end of the file
        GgufWriter.write(source, GgufRoundTripTest.everyValueType(),
                List.of(GgufRoundTripTest.tensor(TENSOR, GgmlType.F32, data, 8)));
        valid = Files.readAllBytes(source);
        file = dir.resolve("corrupt.gguf");
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(byte[] bytes) throws IOException {
        Files.write(file, bytes);
        return assertThatThrownBy(() -> GgufFile.open(file).close())
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("byte offset");
    }

    private byte[] patched(int offset, long value, int width) {
        byte[] b = valid.clone();
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (width == 4) {
            buf.putInt(offset, (int) value);
        } else {
            buf.putLong(offset, value);
        }
        return b;
    }

    @Test
    void everyTruncationIsAnAlign4jExceptionWithPathAndOffset() throws IOException {
        for (int len = 0; len < valid.length; len++) {
            Files.write(file, Arrays.copyOf(valid, len));
            try (GgufFile f = GgufFile.open(file)) {
                fail("a file cut to " + len + " of " + valid.length + " bytes opened");
            } catch (Align4jException e) {
                assertThat(e.getMessage()).as("cut at %d", len).contains(file.toString()).contains("byte offset");
            }
        }
    }

    @Test
    void badMagic() throws IOException {
        byte[] b = valid.clone();
        b[3] = 'L';
        assertOpenFails(b).hasMessageContaining("not a GGUF file").hasMessageContaining("byte offset 0");
    }

    @Test
    void unsupportedVersions() throws IOException {
        assertOpenFails(patched(4, 1, 4)).hasMessageContaining("unsupported GGUF version 1");
        assertOpenFails(patched(4, 4, 4)).hasMessageContaining("unsupported GGUF version 4");
    }

    @Test
    void absurdCountsAndLengths() throws IOException {
        assertOpenFails(patched(8, 1L << 60, 8)).hasMessageContaining("absurd tensor count");
        assertOpenFails(patched(16, -1, 8)).hasMessageContaining("absurd metadata key-value count");
        assertOpenFails(patched(24, 1L << 40, 8)).hasMessageContaining("absurd metadata key 0 length");
    }

    @Test
    void unknownValueType() throws IOException {
        int keyLength = "general.architecture".length();
        assertOpenFails(patched(24 + 8 + keyLength, 77, 4)).hasMessageContaining("unknown GGUF value type").hasMessageContaining("77");
    }

    @Test
    void unknownTensorTypeAndDataPastTheEnd() throws IOException {
        int name = indexOf(valid, TENSOR.getBytes(StandardCharsets.UTF_8));
        int typeAt = name + TENSOR.length() + 4 + 8; // n_dims u32, one dim u64
        assertOpenFails(patched(typeAt, 99, 4)).hasMessageContaining("unknown ggml type 99").hasMessageContaining(TENSOR);
        assertOpenFails(patched(typeAt + 4, 32, 8)).hasMessageContaining("runs past the end of the file");
        assertOpenFails(patched(typeAt + 4, -32, 8)).hasMessageContaining("runs past the end of the file");
    }

    @Test
    void randomByteDamageIsAlwaysAnAlign4jException() throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        int rejected = 0;
        for (int i = 0; i < 300; i++) {
            byte[] b = valid.clone();
            for (int k = 0; k < 3; k++) {
                b[rng.nextInt(b.length - 32)] = (byte) rng.nextInt(256); // the header, not the tensor data
            }
            Files.write(file, b);
            try (GgufFile f = GgufFile.open(file)) {
                assertThat(f.tensors()).isNotNull();
            } catch (Align4jException e) {
                assertThat(e.getMessage()).contains(file.toString());
                rejected++;
            }
        }
        System.out.println("random header damage: " + rejected + " of 300 files rejected, all with Align4jException");
        assertThat(rejected).isPositive();
    }

    @Test
    void missingFileOrDirectoryNamesThePath() {
        Path missing = dir.resolve("nope.gguf");
        assertThatThrownBy(() -> GgufFile.open(missing)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
        assertThatThrownBy(() -> GgufFile.open(dir)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("is a directory");
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
