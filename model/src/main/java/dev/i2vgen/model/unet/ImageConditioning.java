package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.TransformerBlock;
import dev.i2vgen.model.blocks.AttentionLayer;
import dev.i2vgen.model.blocks.FeedForward;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * The two ways the first-frame image enters the UNet: as cross-attention context (text tokens, 64 tokens
 * from a conv chain over the first latent frame, inChannels tokens from the CLIP image embedding) and as
 * extra input channels (image latents refined per frame by convs and along time by a small transformer).
 */
final class ImageConditioning {
    static final int POOLED = 32;

    private ImageConditioning() {}

    /**
     * Cross-attention context per video: concat(text, image-latent tokens, CLIP tokens) → [B, L+64+in, D].
     * @param imageLatents [B, in, F, h, w]; @param imageEmbeddings [B, 1, D]
     */
    static Value context(TaskGraph g, Weights w, UNetConfig cfg, Value text, Value imageLatents, Value imageEmbeddings, ModuleRecorder rec) {
        int b = imageLatents.dim(0), c = imageLatents.dim(1), h = imageLatents.dim(3), wd = imageLatents.dim(4);
        int d = cfg.crossAttentionDim(), e = cfg.timeEmbedDim();
        Value first = g.reshape(g.slice(imageLatents, 2, 0, 1), b, c, h, wd);
        Value lat;
        try (var s = g.scope("image_latents_context_embedding")) {
            Weights cw = w.at("image_latents_context_embedding");
            int c1 = 8 * cfg.inChannels(), c2 = 16 * cfg.inChannels();
            lat = g.silu(g.conv2d(first, cw.get(g, "0.weight", c1, c, 3, 3), cw.get(g, "0.bias", c1), 1, 1));
            lat = AdaptiveAvgPool.build(g, cw.path("2"), lat, POOLED, POOLED);
            lat = g.silu(g.conv2d(lat, cw.get(g, "3.weight", c2, c1, 3, 3), cw.get(g, "3.bias", c2), 2, 1));
            lat = g.conv2d(lat, cw.get(g, "5.weight", d, c2, 3, 3), cw.get(g, "5.bias", d), 2, 1);
            rec.record("image_latents_context_embedding", lat);
        }
        int tokens = lat.dim(2) * lat.dim(3);
        Value latTokens = g.reshape(g.permute(lat, 0, 2, 3, 1), b, tokens, d);
        Value img;
        try (var s = g.scope("context_embedding")) {
            Weights cw = w.at("context_embedding");
            img = g.silu(g.linear(imageEmbeddings, cw.get(g, "0.weight", e, d), cw.get(g, "0.bias", e)));
            img = g.linear(img, cw.get(g, "2.weight", d * cfg.inChannels(), e), cw.get(g, "2.bias", d * cfg.inChannels()));
            rec.record("context_embedding", img);
        }
        Value imgTokens = g.reshape(img, b, cfg.inChannels(), d);
        return g.concat(1, text, latTokens, imgTokens);
    }

    /**
     * Image latents as extra input channels, already in the frames-in-batch layout: [N, in, h, w].
     * @param imageLatents [B, in, F, h, w]
     */
    static Value channels(TaskGraph g, Weights w, UNetConfig cfg, Video video, Value imageLatents, ModuleRecorder rec) {
        int b = video.batch(), f = video.frames(), c = imageLatents.dim(1), h = imageLatents.dim(3), wd = imageLatents.dim(4);
        int hidden = 4 * cfg.inChannels(), out = cfg.inChannels();
        Value x = g.reshape(g.permute(imageLatents, 0, 2, 1, 3, 4), video.n(), c, h, wd);
        try (var s = g.scope("image_latents_proj_in")) {
            Weights pw = w.at("image_latents_proj_in");
            x = g.silu(g.conv2d(x, pw.get(g, "0.weight", hidden, c, 3, 3), pw.get(g, "0.bias", hidden), 1, 1));
            x = g.silu(g.conv2d(x, pw.get(g, "2.weight", hidden, hidden, 3, 3), pw.get(g, "2.bias", hidden), 1, 1));
            x = g.conv2d(x, pw.get(g, "4.weight", out, hidden, 3, 3), pw.get(g, "4.bias", out), 1, 1);
            rec.record("image_latents_proj_in", x);
        }
        // One sequence of F frames per pixel: [B·h·w, F, in].
        Value seq = g.reshape(g.permute(g.reshape(x, b, f, out, h, wd), 0, 3, 4, 1, 2), b * h * wd, f, out);
        try (var s = g.scope("image_latents_temporal_encoder")) {
            Weights ew = w.at("image_latents_temporal_encoder");
            // 2 heads of width inChannels; the feed-forward has no norm before it.
            Value n = TransformerBlock.layerNorm(g, ew, "norm1", seq);
            seq = g.add(seq, AttentionLayer.build(g, ew.at("attn1"), n, n, 2 * out, out));
            seq = g.add(seq, FeedForward.gelu(g, ew.at("ff"), seq, 4 * out));
            rec.record("image_latents_temporal_encoder", seq);
        }
        Value y = g.permute(g.reshape(seq, b, h, wd, f, out), 0, 3, 4, 1, 2);   // [B, F, in, h, w]
        return g.reshape(y, video.n(), out, h, wd);
    }
}
