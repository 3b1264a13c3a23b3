package org.align4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits a byte stream on {@code '\n'} in constant memory (one line's bytes at a time), keeping the
 * byte offsets that {@link ResumeState} needs to cut a file back to its last complete line.
 * A trailing {@code '\r'} is not part of a line's content.
 */
public final class ByteLines {
    private final InputStream in;
    private final byte[] chunk = new byte[1 << 16];
    private int chunkPos;
    private int chunkLen;
    private byte[] line = new byte[256];
    private int lineLen;
    private boolean terminated;
    private long offset; // bytes consumed so far: the end of the current line, its '\n' included
    private long number;

    public ByteLines(InputStream in) {
        this.in = in;
    }

    /** Advances to the next line; false at end of input. */
    public boolean next() throws IOException {
        lineLen = 0;
        terminated = false;
        boolean any = false;
        while (true) {
            if (chunkPos == chunkLen) {
                chunkLen = in.read(chunk);
                chunkPos = 0;
                if (chunkLen <= 0) {
                    chunkLen = 0;
                    if (any) {
                        number++;
                    }
                    return any;
                }
            }
            any = true;
            int start = chunkPos;
            while (chunkPos < chunkLen && chunk[chunkPos] != '\n') {
                chunkPos++;
            }
            append(start, chunkPos - start);
            offset += chunkPos - start;
            if (chunkPos < chunkLen) { // found '\n'
                chunkPos++;
                offset++;
                terminated = true;
                number++;
                if (lineLen > 0 && line[lineLen - 1] == '\r') {
                    lineLen--;
                }
                return true;
            }
        }
    }

    private void append(int from, int n) {
        if (lineLen + n > line.length) {
            line = Arrays.copyOf(line, Math.max(line.length * 2, lineLen + n));
        }
        System.arraycopy(chunk, from, line, lineLen, n);
        lineLen += n;
    }

    public byte[] bytes() {
        return line;
    }

    public int length() {
        return lineLen;
    }

    /** Whether the line ended with {@code '\n'} (only the last line of a file may not). */
    public boolean terminated() {
        return terminated;
    }

    /** 1-based physical line number of the current line. */
    public long number() {
        return number;
    }

    /** Byte offset just past the current line (and its {@code '\n'}, if any). */
    public long endOffset() {
        return offset;
    }

    public boolean isBlank() {
        for (int i = 0; i < lineLen; i++) {
            byte b = line[i];
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }
}
