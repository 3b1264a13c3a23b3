package org.align4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md's import rules, read from the sources: no job package imports another job package except
 * {@code loop}, which composes them (and the demo, which runs them); {@code data} imports no native package;
 * {@code train} imports no job package. A violation names the file and the import.
 */
class PackageDependenciesTest {
    static final Set<String> JOBS = Set.of("score", "bon", "rso", "dpo", "rm", "loop");
    static final Set<String> NATIVE = Set.of("llama", "engine");
    static final Pattern IMPORT = Pattern.compile("^import (?:static )?org\\.align4j\\.(\\w+)\\.", Pattern.MULTILINE);

    @Test
    void importsFollowTheLayering() throws IOException {
        Path main = RepoFiles.root().resolve("java/src/main/java/org/align4j");
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> sources = Files.walk(main)) {
            for (Path f : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path rel = main.relativize(f);
                if (rel.getNameCount() < 2) {
                    continue; // org.align4j itself: the exception and the seed mixer
                }
                files++;
                String pkg = rel.getName(0).toString();
                Matcher m = IMPORT.matcher(Files.readString(f));
                while (m.find()) {
                    String imported = m.group(1);
                    if (imported.equals(pkg)) {
                        continue;
                    }
                    boolean bad = (JOBS.contains(pkg) && !pkg.equals("loop") && JOBS.contains(imported))
                            || (pkg.equals("data") && NATIVE.contains(imported))
                            || (pkg.equals("train") && (JOBS.contains(imported) || imported.equals("job")))
                            || (pkg.equals("job") && JOBS.contains(imported));
                    if (bad) {
                        violations.add(rel + " imports org.align4j." + imported);
                    }
                }
            }
        }
        System.out.println("package imports: " + files + " sources checked, " + violations.size() + " violations");
        assertThat(files).isGreaterThan(100);
        assertThat(violations).isEmpty();
    }
}
