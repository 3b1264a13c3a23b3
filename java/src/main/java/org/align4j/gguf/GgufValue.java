package org.align4j.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One GGUF metadata value with its GGUF type kept, so a file re-written from what was read is
 * byte-identical. Java holds unsigned integers in the signed type of the same width (UINT32 in an
 * int); {@link #asLong()} widens them correctly.
 *
 * <p>Scalars: Byte (UINT8, INT8), Short (UINT16, INT16), Integer (UINT32, INT32), Long (UINT64,
 * INT64), Float, Double, Boolean, String. Arrays ({@code type == ARRAY}): the matching primitive
 * array (byte[], short[], int[], long[], float[], double[], boolean[]) or String[];
 * {@code elementType} names the GGUF element type and is null for scalars.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.ARRAY) {
            Objects.requireNonNull(elementType, "elementType");
            if (elementType == GgufValueType.ARRAY) {
                throw new IllegalArgumentException("GGUF arrays of arrays are not supported (llama.cpp rejects them)");
            }
            if (value.getClass() != arrayClassOf(elementType)) {
                throw new IllegalArgumentException("an ARRAY of " + elementType + " needs a "
                        + arrayClassOf(elementType).getSimpleName() + ", not a " + value.getClass().getSimpleName());
            }
        } else {
            if (elementType != null) {
                throw new IllegalArgumentException("a scalar " + type + " has no element type");
            }
            if (value.getClass() != scalarClassOf(type)) {
                throw new IllegalArgumentException("a " + type + " needs a " + scalarClassOf(type).getSimpleName()
                        + ", not a " + value.getClass().getSimpleName());
            }
        }
    }

    public static GgufValue uint8(byte v) { return new GgufValue(GgufValueType.UINT8, null, v); }
    public static GgufValue int8(byte v) { return new GgufValue(GgufValueType.INT8, null, v); }
    public static GgufValue uint16(short v) { return new GgufValue(GgufValueType.UINT16, null, v); }
    public static GgufValue int16(short v) { return new GgufValue(GgufValueType.INT16, null, v); }
    public static GgufValue uint32(int v) { return new GgufValue(GgufValueType.UINT32, null, v); }
    public static GgufValue int32(int v) { return new GgufValue(GgufValueType.INT32, null, v); }
    public static GgufValue uint64(long v) { return new GgufValue(GgufValueType.UINT64, null, v); }
    public static GgufValue int64(long v) { return new GgufValue(GgufValueType.INT64, null, v); }
    public static GgufValue float32(float v) { return new GgufValue(GgufValueType.FLOAT32, null, v); }
    public static GgufValue float64(double v) { return new GgufValue(GgufValueType.FLOAT64, null, v); }
    public static GgufValue bool(boolean v) { return new GgufValue(GgufValueType.BOOL, null, v); }
    public static GgufValue string(String v) { return new GgufValue(GgufValueType.STRING, null, v); }

    /** An array; {@code javaArray} is the primitive array (or String[]) that matches {@code elementType}. */
    public static GgufValue array(GgufValueType elementType, Object javaArray) {
        return new GgufValue(GgufValueType.ARRAY, elementType, javaArray);
    }

    public String asString() {
        return (String) expect(GgufValueType.STRING);
    }

    public boolean asBoolean() {
        return (Boolean) expect(GgufValueType.BOOL);
    }

    /** Any integer type, unsigned ones widened; a UINT64 above Long.MAX_VALUE is refused. */
    public long asLong() {
        long v = switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) value);
            case INT8 -> (Byte) value;
            case UINT16 -> Short.toUnsignedLong((Short) value);
            case INT16 -> (Short) value;
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT32 -> (Integer) value;
            case UINT64, INT64 -> (Long) value;
            default -> throw new IllegalArgumentException("expected an integer, found " + describeType());
        };
        if (type == GgufValueType.UINT64 && v < 0) {
            throw new IllegalArgumentException("UINT64 value " + Long.toUnsignedString(v) + " does not fit in a long");
        }
        return v;
    }

    /** FLOAT32 or FLOAT64. */
    public double asDouble() {
        return switch (type) {
            case FLOAT32 -> (Float) value;
            case FLOAT64 -> (Double) value;
            default -> throw new IllegalArgumentException("expected a float, found " + describeType());
        };
    }

    public String[] asStringArray() {
        if (elementType != GgufValueType.STRING) {
            throw new IllegalArgumentException("expected an array of STRING, found " + describeType());
        }
        return (String[]) value;
    }

    public int arrayLength() {
        if (type != GgufValueType.ARRAY) {
            throw new IllegalArgumentException("expected an array, found " + describeType());
        }
        return java.lang.reflect.Array.getLength(value);
    }

    /** "UINT32" or "ARRAY of STRING". */
    public String describeType() {
        return type == GgufValueType.ARRAY ? "ARRAY of " + elementType : type.name();
    }

    private Object expect(GgufValueType wanted) {
        if (type != wanted) {
            throw new IllegalArgumentException("expected " + wanted + ", found " + describeType());
        }
        return value;
    }

    private static Class<?> scalarClassOf(GgufValueType t) {
        return switch (t) {
            case UINT8, INT8 -> Byte.class;
            case UINT16, INT16 -> Short.class;
            case UINT32, INT32 -> Integer.class;
            case UINT64, INT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> throw new IllegalArgumentException("ARRAY is not a scalar type");
        };
    }

    private static Class<?> arrayClassOf(GgufValueType t) {
        return switch (t) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> throw new IllegalArgumentException("arrays of arrays are not supported");
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue other
                && type == other.type
                && elementType == other.elementType
                && Objects.deepEquals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, Arrays.deepHashCode(new Object[] {value}));
    }

    @Override
    public String toString() {
        if (type != GgufValueType.ARRAY) {
            return describeType() + " " + value;
        }
        return describeType() + "[" + arrayLength() + "]";
    }
}
