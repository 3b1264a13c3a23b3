package org.align4j.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store into the writer's mapping that faults. A disk that fills up under a mapping faults (SIGBUS, an
 * InternalError in Java) at the store; a test cannot fill a disk portably, so the tensor's fill here
 * truncates the writer's temporary file under its own mapping first, which makes the store fault the same
 * way. (A real full disk, a 4 MiB tmpfs in a user namespace, is now an I/O error before the mapping: the
 * writer writes each tensor's bytes as zeros first. That was checked by hand; not every machine lets a
 * test mount one.)
 */
class GgufWriterFaultTest {
    @TempDir Path dir;

    @Test
    void aFaultingStoreIsAnErrorNamingTheFileAndLeavesNothingBehind() {
        Path out = dir.resolve("m.gguf");
        GgufWriter.Tensor t = new GgufWriter.Tensor("w", GgmlType.F32, new long[] {1 << 16}, dst -> {
            truncateTemporaryFile();
            dst.fill((byte) 1);
        });
        assertThatThrownBy(() -> GgufWriter.write(out, new LinkedHashMap<>(), List.of(t)))
                .isInstanceOf(Align4jException.class)
                .hasMessageContaining(out.toString()).hasMessageContaining("'w'").hasMessageContaining("the disk may be full")
                .hasCauseInstanceOf(InternalError.class);
        assertThat(dir).isEmptyDirectory();
    }

    private void truncateTemporaryFile() {
        try (Stream<Path> files = Files.list(dir)) {
            Path tmp = files.filter(f -> f.getFileName().toString().endsWith(".tmp")).findFirst().orElseThrow();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
