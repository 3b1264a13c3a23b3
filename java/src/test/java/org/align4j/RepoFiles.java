package org.align4j;

import java.nio.file.Files;
import java.nio.file.Path;

/** Files committed to the repository, found from the test's working folder upwards. */
public final class RepoFiles {
    private RepoFiles() {}

    /** models/demo: the committed demo model (demo.gguf) and its prompt sets. */
    public static Path demoDir() {
        return root().resolve("models/demo");
    }

    /** The repository's top folder: the first one above the working folder that holds models/demo/demo.gguf. */
    public static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("models/demo/demo.gguf"))) {
                return p;
            }
        }
        throw new AssertionError("no models/demo/demo.gguf above " + Path.of("").toAbsolutePath());
    }
}
