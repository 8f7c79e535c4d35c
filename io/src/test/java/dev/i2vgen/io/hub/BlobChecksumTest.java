package dev.i2vgen.io.hub;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The digests blob names are: SHA-256 of LFS files, git blob ids of the others (known values from sha256sum and git hash-object). */
class BlobChecksumTest {
    @TempDir
    Path dir;

    @Test
    void gitBlobIdsAndSha256AreChecked() throws Exception {
        Path hello = Files.writeString(dir.resolve("hello"), "hello\n");
        assertNull(BlobChecksum.mismatch(hello, "ce013625030ba8dba906f756967f9e9ca394464a", 6), "git hash-object of 'hello\\n'");
        assertNull(BlobChecksum.mismatch(hello, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", 6), "sha256sum of 'hello\\n'");
        assertTrue(BlobChecksum.mismatch(hello, "ce013625030ba8dba906f756967f9e9ca394464b", 6).contains("git blob id"));
        assertTrue(BlobChecksum.mismatch(hello, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be04", 6).contains("SHA-256"));
        assertTrue(BlobChecksum.mismatch(hello, "ce013625030ba8dba906f756967f9e9ca394464a", 7).contains("6 bytes where the Hub announced 7"));
        assertNull(BlobChecksum.mismatch(hello, "opaque-etag", 6), "an ETag that is no digest: the size alone");
    }
}
