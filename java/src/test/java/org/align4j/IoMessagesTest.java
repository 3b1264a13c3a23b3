package org.align4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** I/O failures read as causes in words, with the file, and never as a Java class name. */
class IoMessagesTest {
    @TempDir Path tmp;

    @Test
    void realFailuresAreDescribedWithoutClassNames() throws IOException {
        Path missing = tmp.resolve("no/such/file.jsonl");
        Path plainFile = Files.writeString(tmp.resolve("plain.txt"), "x");
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        Files.writeString(dir.resolve("child"), "x");
        String[] got = {
                describe(() -> Files.readString(missing)),
                describe(() -> Files.createDirectories(plainFile.resolve("sub"))),
                describe(() -> Files.createDirectory(plainFile)),
                describe(() -> Files.delete(dir)),
                describe(() -> Files.newDirectoryStream(plainFile).close()),
        };
        for (String s : got) {
            System.out.println("IoMessages: " + s);
        }
        assertThat(got[0]).isEqualTo("no such file or directory: " + missing);
        assertThat(got[1]).isEqualTo("Not a directory: " + plainFile.resolve("sub"));
        assertThat(got[2]).isEqualTo("already exists: " + plainFile);
        assertThat(got[3]).isEqualTo("directory not empty: " + dir);
        assertThat(got[4]).isEqualTo("not a directory: " + plainFile);
        assertThat(String.join("\n", got)).doesNotContain("Exception").doesNotContain("java.");
    }

    private interface Io {
        void run() throws IOException;
    }

    private static String describe(Io io) {
        try {
            io.run();
        } catch (IOException e) {
            return IoMessages.describe(e);
        }
        throw new AssertionError("expected an I/O failure");
    }
}
