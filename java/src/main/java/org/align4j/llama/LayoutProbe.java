package org.align4j.llama;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/** Reads native/layout_probe.c's table: the C compiler's sizeof/offsetof for the structs we bind. */
public final class LayoutProbe {
    private LayoutProbe() {}

    /** One row: {@code field} is null for the struct's own size. */
    public record Entry(String type, String field, long offset, long size) {}

    // align4j_layout_entry: { const char *type; const char *field; size_t offset; size_t size; }
    private static final StructLayout ENTRY = MemoryLayout.structLayout(
            ADDRESS.withName("type"), ADDRESS.withName("field"), JAVA_LONG.withName("offset"), JAVA_LONG.withName("size"));
    private static final VarHandle TYPE = LlamaLayouts.field(ENTRY, "type");
    private static final VarHandle FIELD = LlamaLayouts.field(ENTRY, "field");
    private static final VarHandle OFFSET = LlamaLayouts.field(ENTRY, "offset");
    private static final VarHandle SIZE = LlamaLayouts.field(ENTRY, "size");

    public static List<Entry> read() {
        Llama.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_LONG);
            MemorySegment table = Llama.align4j_layout_table(n);
            long count = n.get(JAVA_LONG, 0);
            MemorySegment rows = table.reinterpret(count * ENTRY.byteSize());
            List<Entry> out = new ArrayList<>();
            for (long i = 0; i < count; i++) {
                MemorySegment r = rows.asSlice(i * ENTRY.byteSize(), ENTRY);
                MemorySegment field = (MemorySegment) FIELD.get(r, 0L);
                out.add(new Entry(NativeStrings.cString((MemorySegment) TYPE.get(r, 0L)),
                        field.equals(MemorySegment.NULL) ? null : NativeStrings.cString(field),
                        (long) OFFSET.get(r, 0L), (long) SIZE.get(r, 0L)));
            }
            return out;
        }
    }
}
