package dev.i2vgen.io.checkpoint;

import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Chooses the safetensors weights file of a component folder, following diffusers' naming
 * ({@code diffusers.utils.hub_utils._add_variant}, {@code models.model_loading_utils._fetch_index_file}), from the
 * folder's file names: those of a folder on disk, or those of a repository's file list when choosing what to download
 * ({@link PipelineFiles}), so a download holds exactly the file the loader then opens:
 * <ol>
 *   <li>with a variant V requested: the shard index {@code B.safetensors.index.V.json}, the legacy index
 *       {@code B.V.safetensors.index.json}, then the single file {@code B.V.safetensors};</li>
 *   <li>then (also when V was requested but this folder lacks it, as the pipeline loader does per
 *       component in {@code _identify_model_variants}) the plain {@code B.safetensors.index.json}, then
 *       {@code B.safetensors};</li>
 *   <li>with no variant requested and no plain file, the one variant present, if there is exactly one.
 *       <b>diffusers differs here</b>: it raises "no file named B.safetensors"; we accept the variant so
 *       that fp16-only downloads load without the caller knowing the tag. Several variants → error.</li>
 * </ol>
 * B is {@code diffusion_pytorch_model} for diffusers models and {@code model} for transformers models.
 * Index files are preferred to single files, as in diffusers. PyTorch pickles ({@code .bin}) are never loaded.
 */
final class WeightFiles {
    /** PyTorch's pickled weights: pytorch_model.bin, diffusion_pytorch_model.bin and their variants, .pt/.pth/.ckpt. */
    private static final Pattern PYTORCH_PICKLE = Pattern.compile(".*\\.(bin|pt|pth|ckpt)");
    /** How many entries {@link #describeContents} names before it only counts. */
    private static final int LISTED_ENTRIES = 8;

    private WeightFiles() {}

    static List<String> baseNames(String library) {
        if ("diffusers".equals(library)) return List.of("diffusion_pytorch_model");
        if ("transformers".equals(library)) return List.of("model");
        return List.of("diffusion_pytorch_model", "model");
    }

    /** File names tried, in order, for {@code variant} (plain names for {@link Variant#NONE}). */
    static List<String> candidates(List<String> bases, Variant variant) {
        List<String> out = new ArrayList<>();
        for (String b : bases) {
            if (variant.isNone()) {
                out.add(b + ".safetensors.index.json");
                out.add(b + ".safetensors");
            } else {
                String v = variant.tag();
                out.add(b + ".safetensors.index." + v + ".json");
                out.add(b + "." + v + ".safetensors.index.json");
                out.add(b + "." + v + ".safetensors");
            }
        }
        return out;
    }

    /**
     * What {@link #choose} found among a folder's file names: the weights file to load, or none, with the names it
     * looked for in order and the variant tags present (several of them and no plain file: ambiguous).
     */
    record Choice(String file, List<String> tried, SortedSet<String> variantsPresent) {
        boolean found() { return file != null; }

        /** Why nothing was chosen, for {@code requested}: ambiguous variants, or the names expected. */
        String problem(Variant requested) {
            if (requested.isNone() && variantsPresent.size() > 1) {
                return "no plain weights file and several variants " + variantsPresent + ": request one of them (looked for " + tried + ")";
            }
            return "no safetensors weights for variant " + requested + ": expected one of " + tried;
        }

        boolean ambiguous(Variant requested) { return !found() && requested.isNone() && variantsPresent.size() > 1; }
    }

    /**
     * The weights file (single or index) to load for {@code requested} among {@code names}, the files of one folder:
     * of a folder on disk ({@link #resolve}) or of a repository's file list before anything is downloaded
     * ({@link PipelineFiles}), so that both apply the same rules.
     */
    static Choice choose(Set<String> names, String library, Variant requested) {
        List<String> bases = baseNames(library);
        List<String> tried = new ArrayList<>();
        TreeSet<String> present = variantsPresent(names, bases);
        if (!requested.isNone()) {
            String f = firstPresent(names, candidates(bases, requested), tried);
            if (f != null) return new Choice(f, tried, present);
        }
        String plain = firstPresent(names, candidates(bases, Variant.NONE), tried);
        if (plain != null) return new Choice(plain, tried, present);
        if (requested.isNone() && present.size() == 1) {
            String f = firstPresent(names, candidates(bases, new Variant(present.first())), tried);
            if (f != null) return new Choice(f, tried, present);
        }
        return new Choice(null, tried, present);
    }

    /** The weights file (single or index) to load for {@code requested}; throws listing what was looked for. */
    static Path resolve(Path dir, String library, Variant requested) {
        Choice choice = choose(fileNames(dir), library, requested);
        if (choice.found()) return dir.resolve(choice.file());
        String problem = choice.problem(requested);
        throw new CheckpointException(dir, choice.ambiguous(requested) ? problem : problem + "; " + describeContents(dir));
    }

    /** The names of the regular files in {@code dir} (symbolic links followed, as in a Hugging Face cache snapshot). */
    static Set<String> fileNames(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        } catch (IOException e) {
            throw new CheckpointException(dir, "cannot list folder: " + MessageText.reason(e), e);
        }
    }

    /** Every safetensors file and shard index in {@code dir}, for validation. */
    static List<Path> allWeightFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> isWeightFile(p.getFileName().toString()))
                    .sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException(dir, "cannot list folder: " + MessageText.reason(e), e);
        }
    }

    /** A shard index ({@code *.safetensors.index*.json}) rather than a safetensors file. */
    static boolean isIndex(Path p) { return p.getFileName().toString().endsWith(".json"); }

    private static boolean isWeightFile(String name) {
        return name.endsWith(".safetensors") || (name.contains(".safetensors.") && name.endsWith(".json") && name.contains(".index."));
    }

    private static String firstPresent(Set<String> names, List<String> candidates, List<String> tried) {
        for (String n : candidates) {
            tried.add(n);
            if (names.contains(n)) return n;
        }
        return null;
    }

    private static TreeSet<String> variantsPresent(Set<String> names, List<String> bases) {
        TreeSet<String> tags = new TreeSet<>();
        List<Pattern> patterns = new ArrayList<>();
        for (String b : bases) {
            String q = Pattern.quote(b);
            patterns.add(Pattern.compile(q + "\\.([A-Za-z0-9_-]+)\\.safetensors(\\.index\\.json)?"));
            patterns.add(Pattern.compile(q + "\\.safetensors\\.index\\.([A-Za-z0-9_-]+)\\.json"));
        }
        for (String name : names) {
            for (Pattern pat : patterns) {
                Matcher m = pat.matcher(name);
                if (m.matches()) tags.add(m.group(1));
            }
        }
        return tags;
    }

    /**
     * What the folder holds instead of weights, for "no safetensors weights" messages: folders, broken links and
     * link loops, PyTorch pickles (with what to do about them), other files. The config file is left out.
     */
    static String describeContents(Path dir) {
        List<String> found = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                if (name.equals("config.json")) continue;
                found.add(describe(p, name));
            }
        } catch (IOException e) {
            return "the folder cannot be listed: " + MessageText.reason(e);
        }
        if (found.isEmpty()) return "the folder holds nothing else";
        String listed = String.join(", ", found.subList(0, Math.min(found.size(), LISTED_ENTRIES)));
        return "found " + listed + (found.size() > LISTED_ENTRIES ? " and " + (found.size() - LISTED_ENTRIES) + " more" : "");
    }

    private static String describe(Path p, String name) {
        String notAFile = FolderEntry.notAFile(p);
        if (notAFile != null) return name + (Files.isDirectory(p) ? "/" : "") + " (" + notAFile + ")";
        if (PYTORCH_PICKLE.matcher(name).matches()) return name + " (PyTorch pickle weights, not read: convert them to safetensors)";
        return name;
    }
}
