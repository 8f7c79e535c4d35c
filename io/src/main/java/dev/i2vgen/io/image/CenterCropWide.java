package dev.i2vgen.io.image;

/**
 * diffusers' {@code _center_crop_wide(image, (width, height))}: scale the image (Pillow BOX) so it
 * covers the target, with the scaled size computed by Python float floor division, then crop the
 * centred {@code width × height} box. Where the box leaves the scaled image (its offset can be −1
 * because of the floor division), pixels are black, like PIL's {@code crop}.
 */
public final class CenterCropWide {
    private CenterCropWide() {}

    public static RgbImage apply(RgbImage image, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("center-crop target must be positive, got " + width + "×" + height);
        }
        long[] size = scaledSize(image.width(), image.height(), width, height);
        int scaledW = Math.toIntExact(size[0]), scaledH = Math.toIntExact(size[1]);
        RgbImage scaled = PillowResample.resize(image, scaledW, scaledH, ResampleFilter.BOX);
        int x1 = Math.floorDiv(scaledW - width, 2);
        int y1 = Math.floorDiv(scaledH - height, 2);
        return crop(scaled, x1, y1, width, height);
    }

    /**
     * The size {@code {width, height}} the image is scaled to before the crop: it covers the target. Longs, because a
     * large target scales a wide image beyond what an int holds (callers check sizes before any pixels exist).
     */
    public static long[] scaledSize(int imageWidth, int imageHeight, int width, int height) {
        double scale = Math.min(imageWidth / (double) width, imageHeight / (double) height);
        // Python: round(W // scale); the quotient is integral-valued so round() only converts.
        return new long[]{(long) PythonFloorDivision.floorDiv(imageWidth, scale), (long) PythonFloorDivision.floorDiv(imageHeight, scale)};
    }

    /** PIL {@code crop((x0, y0, x0+width, y0+height))}: out-of-image pixels are black. */
    public static RgbImage crop(RgbImage image, int x0, int y0, int width, int height) {
        byte[] src = image.data();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        int xs = Math.max(x0, 0), xe = Math.min(x0 + width, image.width());
        if (xe > xs) {
            for (int y = 0; y < height; y++) {
                int sy = y0 + y;
                if (sy < 0 || sy >= image.height()) continue;
                System.arraycopy(src, (sy * image.width() + xs) * 3, out, (y * width + (xs - x0)) * 3, (xe - xs) * 3);
            }
        }
        return RgbImage.adopt(width, height, out);
    }
}
