package org.align4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make cuda}'s first step, cmake/CudaDeps.cmake run as a script, on a package file in place of the pinned
 * one: the cuBLAS headers must come only from the file whose SHA256 the script pins.
 */
class CudaDepsTest {
    private static final Path SCRIPT = RepoFiles.root().resolve("cmake/CudaDeps.cmake");

    @Test
    void aSubstitutedPackageIsRefusedRemovedAndNamed(@TempDir Path deps) throws Exception {
        String pinnedName = pinned("ALIGN4J_CUDA_DEV_DEB");
        String pinnedSha = pinned("ALIGN4J_CUDA_DEV_SHA256");
        Path deb = deps.resolve(pinnedName);
        byte[] substitute = "not the package Debian signed\n".getBytes(StandardCharsets.UTF_8);
        Files.write(deb, substitute);

        Process p = new ProcessBuilder("cmake", "-DALIGN4J_DEPS_DIR=" + deps, "-P", SCRIPT.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        System.out.println("cmake -P cmake/CudaDeps.cmake on a substituted file: exit " + rc + "\n" + out);

        assertThat(rc).as("exit status").isNotZero();
        // CMake wraps long message lines: compare with the whitespace folded.
        String said = out.replaceAll("\\s+", " ");
        assertThat(said).contains(deb.toString()).contains("failed its checksum")
                .contains("expected SHA256 " + pinnedSha)
                .contains("got " + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(substitute)));
        assertThat(deb).as("the damaged file is removed, so the next run fetches it anew").doesNotExist();
    }

    /** A {@code set(NAME "value")} of the script. */
    private static String pinned(String name) throws IOException {
        Matcher m = Pattern.compile("set\\(" + name + "\\s+\"([^\"]+)\"\\)").matcher(Files.readString(SCRIPT));
        assertThat(m.find()).as(name + " in " + SCRIPT).isTrue();
        return m.group(1);
    }
}
