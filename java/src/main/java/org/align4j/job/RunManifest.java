package org.align4j.job;

import org.align4j.data.Jsonl;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.AtomicFile;

/**
 * A run's manifest: one JSON object next to a job's output ({@code OUT.manifest.json}) that says what
 * made it (models and their sha256, every parameter, seeds) and what came of it (counts, rates). A job
 * builds the object; this class hashes files, reads an earlier manifest for {@code --resume}, and writes
 * the object atomically (a temporary file moved over the old one), so a reader never sees half of one.
 *
 * <p>A section with one entry per input record can be as long as the input, so it is not held in memory:
 * {@link #write(Path, ObjectNode, String, Path)} streams it from a JSONL file the job appended to as it went.
 */
public final class RunManifest {
    private RunManifest() {}

    /** {@code pairs.jsonl} -> {@code pairs.jsonl.manifest.json}. */
    public static Path pathFor(Path output) {
        return output.resolveSibling(output.getFileName() + ".manifest.json");
    }

    /** An empty object to build a manifest (or a section of one) in. */
    public static ObjectNode object() {
        return Jsonl.MAPPER.createObjectNode();
    }

    /** The version of align4j that is running (from the build), or {@code unknown}. */
    public static String align4jVersion() {
        Properties p = new Properties();
        try (InputStream in = RunManifest.class.getResourceAsStream("/align4j-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        return p.getProperty("version", "unknown");
    }

    /** {@code {"path", "bytes", "sha256"}} of a file, the path made absolute. */
    public static ObjectNode describeFile(Path file) {
        ObjectNode o = object();
        o.put("path", file.toAbsolutePath().normalize().toString());
        try {
            o.put("bytes", Files.size(file));
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot read: " + IoMessages.describe(e), e);
        }
        o.put("sha256", sha256(file));
        return o;
    }

    /** The file's SHA-256, lower-case hex. */
    public static String sha256(Path file) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot read to hash it: " + IoMessages.describe(e), e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The manifest at {@code file}, or null if there is none. */
    public static ObjectNode read(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            JsonNode n = Jsonl.MAPPER.readTree(file.toFile());
            if (n instanceof ObjectNode o) {
                return o;
            }
        } catch (IOException e) {
            throw new Align4jException(file + ": unreadable manifest: " + IoMessages.describe(e), e);
        }
        throw new Align4jException(file + ": not a manifest (not a JSON object)");
    }

    /** Writes {@code manifest} to {@code file}, replacing it atomically. */
    public static void write(Path file, ObjectNode manifest) {
        write(file, manifest, null, null);
    }

    /**
     * Writes {@code manifest} to {@code file} with one more field, {@code arrayField}: an array of the
     * objects on the lines of {@code lines} (JSONL), copied one at a time; replaces {@code file} atomically.
     */
    public static void write(Path file, ObjectNode manifest, String arrayField, Path lines) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            AtomicFile.write(file, tmp -> writeTo(tmp, manifest, arrayField, lines));
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot write the manifest: " + IoMessages.describe(e), e);
        }
    }

    private static void writeTo(Path tmp, ObjectNode manifest, String arrayField, Path lines) throws IOException {
        try (OutputStream out = Files.newOutputStream(tmp);
             JsonGenerator g = Jsonl.MAPPER.getFactory().createGenerator(out)) {
            g.useDefaultPrettyPrinter();
            g.writeStartObject();
            for (Map.Entry<String, JsonNode> e : manifest.properties()) {
                g.writeFieldName(e.getKey());
                Jsonl.MAPPER.writeTree(g, e.getValue());
            }
            if (arrayField != null) {
                g.writeArrayFieldStart(arrayField);
                if (Files.exists(lines)) {
                    try (JsonlReader reader = JsonlReader.open(lines)) {
                        for (JsonlLine line : reader) {
                            if (!(line instanceof JsonlLine.Parsed p)) {
                                throw new Align4jException(((JsonlLine.Malformed) line).message());
                            }
                            Jsonl.MAPPER.writeTree(g, p.node());
                        }
                    }
                }
                g.writeEndArray();
            }
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }
}
