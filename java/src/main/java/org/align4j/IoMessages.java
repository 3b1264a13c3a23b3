package org.align4j;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * An I/O failure as a user reads it: the cause in words, never a Java class name. {@code
 * NoSuchFileException}'s message is only the path, so a message built from {@code getMessage()} alone
 * would say "out.jsonl: /tmp/x/out.jsonl"; this says "no such file or directory: /tmp/x/out.jsonl".
 */
public final class IoMessages {
    private IoMessages() {}

    public static String describe(IOException e) {
        String what = switch (e) {
            case NoSuchFileException x -> "no such file or directory";
            case AccessDeniedException x -> "permission denied";
            case FileAlreadyExistsException x -> "already exists";
            case NotDirectoryException x -> "not a directory";
            case DirectoryNotEmptyException x -> "directory not empty";
            case FileSystemException x when x.getReason() != null -> x.getReason();
            default -> null;
        };
        if (e instanceof FileSystemException f) {
            String file = f.getFile();
            String other = f.getOtherFile();
            return (what != null ? what : "failed") + (file != null ? ": " + file : "") + (other != null ? " -> " + other : "");
        }
        return e.getMessage() != null ? e.getMessage() : "I/O error";
    }
}
