package dev.i2vgen.io.hub;

import java.net.URI;

/**
 * What the Hub's {@code HEAD /{repo}/resolve/{commit}/{path}} tells about one file: where to download it (the CDN
 * location of a redirect, else the resolve URL), whether the token goes there (only to the Hub's own host, as
 * huggingface_hub does), its blob name ({@code X-Linked-Etag}, else {@code ETag}, without quotes) and its size
 * ({@code X-Linked-Size}, else {@code Content-Length}).
 */
record RemoteFile(String path, URI location, boolean sendToken, String etag, long size) {}
