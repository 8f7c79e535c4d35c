package dev.i2vgen.io.checkpoint;

import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * What stands at a path where a checkpoint needs a file, for messages: "missing" alone would hide a folder, a broken
 * symbolic link or a link loop there.
 */
final class FolderEntry {
    private FolderEntry() {}

    /**
     * Null for a regular file (links followed) or nothing at all; otherwise what is there instead: "a folder, not a
     * file", "a symbolic link that cannot be followed: REASON", "not a regular file".
     */
    static String notAFile(Path p) {
        if (Files.isRegularFile(p) || !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return null;
        if (Files.isSymbolicLink(p) && !Files.exists(p)) {
            try {
                p.toRealPath();
                return "a symbolic link that cannot be followed";
            } catch (IOException e) {
                return "a symbolic link that cannot be followed: " + MessageText.reason(e);
            }
        }
        return Files.isDirectory(p) ? "a folder, not a file" : "not a regular file";
    }
}
