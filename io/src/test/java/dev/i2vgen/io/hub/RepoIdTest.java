package dev.i2vgen.io.hub;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** huggingface_hub's repo id rules (validate_repo_id's examples), with the namespace required. */
class RepoIdTest {
    @ParameterizedTest
    @ValueSource(strings = {"ali-vilab/i2vgen-xl", "stabilityai/stable-video-diffusion-img2vid-xt", "foo/bar", "Foo-BAR_foo.bar123/x_1", "1/2"})
    void validIds(String id) {
        assertTrue(RepoId.isValid(id), id);
        assertEquals(id, RepoId.parse(id).id());
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "datasets/foo/bar", "org/.repo_id", "org/foo--bar", "org/other..repo", "org/foo.git", "org/-x",
            "org/x-", "/x", "x/", "org/has space", "org/ünïcode"})
    void invalidIds(String id) {
        assertFalse(RepoId.isValid(id), id);
        assertThrows(IllegalArgumentException.class, () -> RepoId.parse(id));
    }

    @Test
    void theNameIsAtMost96Characters() {
        assertTrue(RepoId.isValid("org/" + "a".repeat(96)));
        assertFalse(RepoId.isValid("org/" + "a".repeat(97)));
    }

    @Test
    void theCacheFolderIsHuggingfaceHubs() {
        assertEquals("models--ali-vilab--i2vgen-xl", RepoId.parse("ali-vilab/i2vgen-xl").folderName());
    }
}
