package dev.i2vgen.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.IIOException;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** One-line message text, and the reasons in "cannot read/write/parse" messages: never just the path again. */
class MessageTextTest {
    @Test
    void controlCharactersOfNamesAreEscapedSoMessagesStayOneLine() {
        assertEquals("'att\\ntion_head_dim' tab\\t cr\\r nul\\u0000 é", MessageText.oneLine("'att\ntion_head_dim' tab\t cr\r nul\0 é"));
        String plain = "block_out_channels [320, 640]";
        assertSame(plain, MessageText.oneLine(plain));
    }

    @Test
    void jacksonReasonsLoseTheirSourceExcerptButKeepTheLocation() {
        JacksonException e = assertThrows(JacksonException.class, () -> new ObjectMapper().readTree("{\n  \"a\": ~}"));
        assertEquals(2, e.getMessage().lines().count(), "Jackson's own message: reason, then location and excerpt");
        String reason = MessageText.reason(e);
        assertEquals(1, reason.lines().count(), reason);
        assertEquals(e.getOriginalMessage() + " (line 2, column 8)", reason);
    }

    @Test
    void jacksonsInnerSourceLocationsAreShortened() {
        JacksonException e = assertThrows(JacksonException.class, () -> new ObjectMapper().readTree("{\"a\": 1,\n \"b\": [2"));
        assertEquals("Unexpected end-of-input: expected close marker for Array (start marker at line 2, column 7) (line 2, column 9)",
                MessageText.reason(e));
    }

    @Test
    void anExceptionWithoutMessageIsNamedByItsType() {
        assertEquals("NullPointerException", MessageText.reason(new NullPointerException()));
        assertEquals("disk full", MessageText.reason(new IOException(" disk full\n")));
        assertEquals("a\\nb", MessageText.reason(new IllegalStateException("a\nb")), "one line");
    }

    @Test
    void exceptionsWhoseMessageIsOnlyThePathGetTheirMeaning() {
        assertEquals("permission denied", MessageText.reason(new AccessDeniedException("/ckpt/tokenizer/vocab.json")));
        assertEquals("no such file or folder", MessageText.reason(new java.nio.file.NoSuchFileException("/ckpt/x")));
        assertEquals("Permission denied", MessageText.reason(new FileNotFoundException("/in/image.png (Permission denied)")));
        assertEquals("Too many levels of symbolic links",
                MessageText.reason(new FileSystemException("/ckpt/unet/w.safetensors", null, "Too many levels of symbolic links")));
        assertEquals("not valid UTF-8", MessageText.reason(new MalformedInputException(1)));
        assertEquals("permission denied", MessageText.reason(new UncheckedIOException(new AccessDeniedException("/x")).getCause()));
    }

    @Test
    void aWrappersGenericMessageGivesWayToTheSystemsReason() {
        IOException png = new IIOException("I/O error writing PNG file!", new IOException("No space left on device"));
        assertEquals("No space left on device (the disk is full)", MessageText.reason(png));
    }

    @Test
    void aCauseWithoutReasonLeavesTheWrappersMessage() {
        IOException png = new IIOException("Error reading PNG image data", new EOFException());
        assertEquals("Error reading PNG image data", MessageText.reason(png));
    }

    @Test
    void invalidUtf8IsLocated(@TempDir Path dir) throws IOException {
        Path f = Files.write(dir.resolve("merges.txt"), new byte[]{'a', ' ', 'b', '\n', 'c', (byte) 0xC3, '(', '\n'});
        var e = assertThrows(Utf8Text.InvalidUtf8Exception.class, () -> Utf8Text.read(f));
        assertEquals("not valid UTF-8: byte 0xC3 at offset 5 (line 2)", e.getMessage());
        assertEquals(e.getMessage(), MessageText.reason(e));
        assertEquals("héllo\n", Utf8Text.decode("héllo\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
}
