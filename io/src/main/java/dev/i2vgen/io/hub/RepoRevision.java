package dev.i2vgen.io.hub;

import java.util.List;

/** What {@code GET /api/models/{repo}/revision/{revision}} answers: the commit the revision is at, and its files ({@code siblings}). */
record RepoRevision(String commit, List<String> files) {}
