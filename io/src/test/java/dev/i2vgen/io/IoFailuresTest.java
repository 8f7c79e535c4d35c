package dev.i2vgen.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.IIOException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The reasons in "cannot read/write" messages: never just the path again, "Input length = 1" or a wrapper's text. */
class IoFailuresTest {
    @Test
    void exceptionsWhoseMessageIsOnlyThePathGetTheirMeaning() {
        assertEquals("permission denied", IoFailures.reason(new AccessDeniedException("/ckpt/tokenizer/vocab.json")));
        assertEquals("no such file or folder", IoFailures.reason(new java.nio.file.NoSuchFileException("/ckpt/x")));
        assertEquals("Permission denied", IoFailures.reason(new FileNotFoundException("/in/image.png (Permission denied)")));
        assertEquals("Too many levels of symbolic links",
                IoFailures.reason(new FileSystemException("/ckpt/unet/w.safetensors", null, "Too many levels of symbolic links")));
        assertEquals("not valid UTF-8", IoFailures.reason(new MalformedInputException(1)));
    }

    @Test
    void aWrappersGenericMessageGivesWayToTheSystemsReason() {
        IOException png = new IIOException("I/O error writing PNG file!", new IOException("No space left on device"));
        assertEquals("No space left on device (the disk is full)", IoFailures.reason(png));
    }

    @Test
    void invalidUtf8IsLocated(@TempDir Path dir) throws IOException {
        Path f = Files.write(dir.resolve("merges.txt"), new byte[]{'a', ' ', 'b', '\n', 'c', (byte) 0xC3, '(', '\n'});
        var e = assertThrows(Utf8Text.InvalidUtf8Exception.class, () -> Utf8Text.read(f));
        assertEquals("not valid UTF-8: byte 0xC3 at offset 5 (line 2)", e.getMessage());
        assertEquals(e.getMessage(), IoFailures.reason(e));
        assertEquals("héllo\n", Utf8Text.decode("héllo\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
