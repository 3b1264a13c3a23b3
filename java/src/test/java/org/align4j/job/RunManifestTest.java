package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunManifestTest {
    @TempDir Path dir;

    @Test
    void sha256MatchesTheStandardTestVectors() throws IOException {
        Path abc = dir.resolve("abc");
        Files.writeString(abc, "abc", StandardCharsets.US_ASCII);
        assertThat(RunManifest.sha256(abc)).isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // FIPS 180-2
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "");
        assertThat(RunManifest.sha256(empty)).isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ObjectNode d = RunManifest.describeFile(abc);
        assertThat(d.get("bytes").asLong()).isEqualTo(3);
        assertThat(d.get("path").asText()).isEqualTo(abc.toAbsolutePath().toString());
    }

    @Test
    void writesTheObjectWithAnArrayStreamedFromJsonlAndReadsItBack() throws IOException {
        Path lines = dir.resolve("per-prompt.jsonl");
        Files.writeString(lines, "{\"id\":\"a\",\"rate\":0.25}\n\n{\"id\":7,\"rate\":1.0}\n");
        ObjectNode m = RunManifest.object();
        m.put("job", "rso");
        m.putObject("counts").put("prompts", 2);
        Path file = RunManifest.pathFor(dir.resolve("pairs.jsonl"));
        assertThat(file.getFileName().toString()).isEqualTo("pairs.jsonl.manifest.json");
        RunManifest.write(file, m, "per_prompt", lines);
        JsonNode back = RunManifest.read(file);
        assertThat(back.toString()).isEqualTo(
                "{\"job\":\"rso\",\"counts\":{\"prompts\":2},\"per_prompt\":[{\"id\":\"a\",\"rate\":0.25},{\"id\":7,\"rate\":1.0}]}");
        assertThat(Files.exists(file.resolveSibling(file.getFileName() + ".tmp"))).isFalse();

        RunManifest.write(file, m); // replaces it
        assertThat(RunManifest.read(file).has("per_prompt")).isFalse();
        assertThat(RunManifest.read(dir.resolve("none.json"))).isNull();
        Files.writeString(file, "[1]");
        assertThatThrownBy(() -> RunManifest.read(file)).isInstanceOf(Align4jException.class).hasMessageContaining("not a manifest");
    }
}
