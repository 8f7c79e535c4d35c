package dev.i2vgen.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
    void anExceptionWithoutMessageIsNamedByItsType() {
        assertEquals("NullPointerException", MessageText.reason(new NullPointerException()));
        assertEquals("disk full", MessageText.reason(new java.io.IOException(" disk full\n")));
    }
}
