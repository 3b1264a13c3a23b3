package org.align4j.gguf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * Reads Hugging Face's safetensors files: an unsigned 64-bit little-endian header length N, N bytes of
 * JSON naming each tensor's {@code dtype}, {@code shape} and {@code data_offsets} (from the end of the
 * header), then the data. Tensors of F32, F16 and BF16 are read, as f32.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One tensor.
     *
     * @param shape  as the file gives it, slowest-varying first
     * @param values row-major, decoded to f32
     */
    public record Tensor(String name, String dtype, long[] shape, float[] values) {}

    private Safetensors() {}

    /** Every tensor of {@code file}, in header order. */
    public static Map<String, Tensor> read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot read: " + IoMessages.describe(e), e);
        }
        return read(file, bytes);
    }

    /**
     * Every tensor of {@code bytes}, the contents of {@code file}, in header order.
     *
     * @throws Align4jException naming the file when it is not a safetensors file, a tensor is of another
     *     dtype, or its offsets do not hold its shape
     */
    public static Map<String, Tensor> read(Path file, byte[] bytes) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 8 || buf.getLong(0) < 2 || buf.getLong(0) > bytes.length - 8) {
            throw new Align4jException(file + ": not a safetensors file (its 8-byte header length does not fit the file)");
        }
        int n = (int) buf.getLong(0);
        JsonNode header;
        try {
            header = JSON.readTree(new String(bytes, 8, n, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new Align4jException(file + ": not a safetensors file (its header is not JSON: " + e.getOriginalMessage() + ")", e);
        }
        if (header == null || !header.isObject()) {
            throw new Align4jException(file + ": not a safetensors file (its header is not a JSON object)");
        }
        long dataStart = 8L + n;
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> kv = it.next();
            String name = kv.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode info = kv.getValue();
            String dtype = info.path("dtype").asText();
            int width = switch (dtype) {
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                default -> throw new Align4jException(file + ": tensor " + name + " is " + dtype + "; only F32, F16 and BF16 are read");
            };
            JsonNode shapeNode = info.path("shape");
            JsonNode offsets = info.path("data_offsets");
            long[] shape = new long[shapeNode.size()];
            long count = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = shapeNode.get(d).asLong();
                count = shape[d] < 0 ? -1 : Math.multiplyExact(count, shape[d]);
            }
            long begin = offsets.size() == 2 ? offsets.get(0).asLong() : -1;
            long end = offsets.size() == 2 ? offsets.get(1).asLong() : -1;
            if (count < 0 || begin < 0 || end - begin != count * width || dataStart + end > bytes.length) {
                throw new Align4jException(file + ": tensor " + name + " has data_offsets " + offsets + " that do not hold " + shapeNode + " " + dtype);
            }
            float[] v = new float[Math.toIntExact(count)];
            int at = Math.toIntExact(dataStart + begin);
            for (int i = 0; i < v.length; i++) {
                v[i] = switch (dtype) {
                    case "F32" -> buf.getFloat(at + 4 * i);
                    case "F16" -> Float.float16ToFloat(buf.getShort(at + 2 * i));
                    default -> Float.intBitsToFloat((buf.getShort(at + 2 * i) & 0xffff) << 16);
                };
            }
            out.put(name, new Tensor(name, dtype, shape, v));
        }
        return out;
    }
}
