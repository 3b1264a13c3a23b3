package org.align4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.Adapters;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --lora FILE[:SCALE]}, llama.cpp's flag: LoRA adapters applied to the policy model of a sampling or scoring job. */
final class LoraOptions {
    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", converter = AdapterConverter.class,
            description = "LoRA adapter (GGUF) applied to the policy model at SCALE (default 1); repeatable")
    List<Adapters.Adapter> lora = new ArrayList<>();

    Adapters adapters() {
        return new Adapters(lora);
    }

    /** {@code FILE[:SCALE]}: the text after the last colon is the scale when it has no '/'; a bad one is a usage error. */
    static final class AdapterConverter implements ITypeConverter<Adapters.Adapter> {
        @Override
        public Adapters.Adapter convert(String value) {
            int colon = value.lastIndexOf(':');
            if (colon < 0 || value.indexOf('/', colon) >= 0) {
                return new Adapters.Adapter(Path.of(value), 1f);
            }
            String file = value.substring(0, colon);
            String scale = value.substring(colon + 1);
            float s;
            try {
                s = Float.parseFloat(scale);
            } catch (NumberFormatException e) {
                s = Float.NaN;
            }
            if (file.isEmpty() || !Float.isFinite(s)) {
                throw new TypeConversionException("'" + value + "' is not FILE[:SCALE]: SCALE '" + scale
                        + "' is not a finite number (a file name with a colon in it: add ':1')");
            }
            return new Adapters.Adapter(Path.of(file), s);
        }
    }
}
