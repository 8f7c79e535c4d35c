package dev.i2vgen.cli.serve;

/**
 * What one job may ask for on this server, checked before it is queued: the uploaded image's size (413 beyond it), the
 * video's pixels per frame, its frames and its denoising steps (400 beyond them).
 */
record JobLimits(long maxUploadBytes, long maxPixels, int maxFrames, int maxSteps) {
    JobLimits {
        if (maxUploadBytes < 1 || maxPixels < 1 || maxFrames < 1 || maxSteps < 1) {
            throw new IllegalArgumentException("every limit must be at least 1, got " + maxUploadBytes + " bytes, " + maxPixels
                    + " pixels, " + maxFrames + " frames, " + maxSteps + " steps");
        }
    }
}
