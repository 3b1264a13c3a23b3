package org.align4j.llama;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The Java struct layouts must equal what the C compiler made of llama.h, member by member. */
class LayoutProbeTest {
    @Test
    void everyDeclaredStructAndMemberMatchesTheCompiler() {
        List<LayoutProbe.Entry> probe = LayoutProbe.read();
        List<String> mismatches = new ArrayList<>();
        Set<String> probed = new HashSet<>();
        for (LayoutProbe.Entry e : probe) {
            StructLayout s = LlamaLayouts.ALL.get(e.type());
            if (s == null) {
                mismatches.add(e.type() + ": probed but not declared in Java");
                continue;
            }
            if (e.field() == null) {
                probed.add(e.type());
                if (s.byteSize() != e.size()) {
                    mismatches.add("sizeof(" + e.type() + "): C " + e.size() + ", Java " + s.byteSize());
                }
                continue;
            }
            probed.add(e.type() + "." + e.field());
            MemoryLayout.PathElement path = MemoryLayout.PathElement.groupElement(e.field());
            long offset;
            long size;
            try {
                offset = s.byteOffset(path);
                size = s.select(path).byteSize();
            } catch (IllegalArgumentException missing) {
                mismatches.add(e.type() + "." + e.field() + ": missing in Java");
                continue;
            }
            if (offset != e.offset() || size != e.size()) {
                mismatches.add(e.type() + "." + e.field() + ": C offset " + e.offset() + " size " + e.size()
                        + ", Java offset " + offset + " size " + size);
            }
        }
        // The other direction: nothing declared in Java escapes the probe.
        LlamaLayouts.ALL.forEach((name, s) -> {
            if (!probed.contains(name)) {
                mismatches.add(name + ": declared in Java but not probed");
            }
            s.memberLayouts().stream().flatMap(m -> m.name().stream()).forEach(f -> {
                if (!probed.contains(name + "." + f)) {
                    mismatches.add(name + "." + f + ": declared in Java but not probed");
                }
            });
        });
        System.out.printf("layout probe: %d entries over %d structs compared%n", probe.size(), LlamaLayouts.ALL.size());
        assertThat(mismatches).isEmpty();
        assertThat(probe).hasSizeGreaterThan(LlamaLayouts.ALL.size());
    }
}
