package org.align4j.cli;

import org.align4j.job.ErrorPolicy;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads {@code --on-error fail|skip}; a bad value is picocli's usage error with {@link ErrorPolicy#parse}'s message. */
final class OnError implements ITypeConverter<ErrorPolicy> {
    @Override
    public ErrorPolicy convert(String value) {
        try {
            return ErrorPolicy.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
