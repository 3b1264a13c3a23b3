package org.align4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A file replaced whole, so that a reader sees the old content or the new, never half of either: the new
 * content goes to a temporary file of a unique name beside the target, created exclusively (an existing
 * file or a planted symlink of that name is never opened), and is then renamed over the target.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Writes the content into the fresh, empty temporary file it is given. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path tmp) throws IOException;
    }

    /**
     * Replaces {@code target} with what {@code content} writes; the temporary file is removed if anything
     * fails. The target's directory must exist.
     */
    public static void write(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            content.writeTo(tmp);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException d) {
                e.addSuppressed(d);
            }
            throw e;
        }
    }
}
