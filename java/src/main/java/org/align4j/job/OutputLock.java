package org.align4j.job;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * One writer per output: an exclusive lock on {@code OUT.lock}, held for the life of the run. A second run
 * on the same output fails at once, naming the holder (the lock file says which process took it, and
 * when). The lock is the operating system's ({@code fcntl}), so it goes with the process, however that
 * ends. A run that ends removes the file while it still holds the lock; one killed leaves it, and the
 * next run takes it over. A run that opened the file just before its holder removed it finds, once it
 * has the lock, that the name no longer leads to that file, and starts over on the new one.
 */
public final class OutputLock implements AutoCloseable {
    private static final int ATTEMPTS = 8; // each lost only to a run that removed the file in between

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private OutputLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** {@code out.jsonl} -> {@code out.jsonl.lock}. */
    public static Path pathFor(Path output) {
        return output.resolveSibling(output.getFileName() + ".lock");
    }

    /**
     * Takes the lock of {@code output} for {@code job}.
     *
     * @throws Align4jException if another run holds it, or the lock file cannot be made (the output's
     *     directory is missing or not writable)
     */
    public static OutputLock take(Path output, String job) {
        Path file = pathFor(output);
        for (int attempt = 1; ; attempt++) {
            OutputLock lock = tryTake(output, job, file);
            if (lock != null) {
                return lock;
            }
            if (attempt == ATTEMPTS) {
                throw new Align4jException(output + ": its lock file " + file + " keeps being replaced by other runs: not writing");
            }
        }
    }

    // The lock, or null if the file was removed or replaced after it was opened (try again).
    private static OutputLock tryTake(Path output, String job, Path file) {
        Object before = fileKey(file);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new Align4jException(output + ": cannot make its lock file " + file + ": " + IoMessages.describe(e), e);
        }
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by another job in this process
            }
            if (lock == null) {
                throw new Align4jException(output + " is being written by another run (" + holder(file)
                        + "; lock " + file + "): wait for it to end, or write to another output");
            }
            Object key = fileKey(file);
            if (key == null || (before != null && !before.equals(key))) {
                ch.close(); // the holder removed it as it ended; the name leads elsewhere now
                return null;
            }
            String holder = "align4j " + job + ", process " + ProcessHandle.current().pid() + ", since " + Instant.now();
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((holder + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            return new OutputLock(file, ch, lock);
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException c) {
                e.addSuppressed(c);
            }
            if (e instanceof IOException io) {
                throw new Align4jException(file + ": cannot lock: " + IoMessages.describe(io), e);
            }
            throw (RuntimeException) e;
        }
    }

    // The file's identity (device and inode), or null if there is none at that name.
    private static Object fileKey(Path file) {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    // What the lock file says about the run holding it.
    private static String holder(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8).strip();
            return s.isEmpty() ? "a run that has just started" : s;
        } catch (IOException e) {
            return "a run whose lock file is unreadable";
        }
    }

    @Override
    public void close() {
        try (channel) {
            Files.deleteIfExists(file); // while locked: a run waiting on this file sees it gone and starts over
            lock.release();
        } catch (IOException e) {
            throw new Align4jException("cannot release the output lock: " + IoMessages.describe(e), e);
        }
    }
}
