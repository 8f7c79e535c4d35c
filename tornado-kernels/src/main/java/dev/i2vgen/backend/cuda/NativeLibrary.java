package dev.i2vgen.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** A shared library opened through FFM, found by file name in the usual CUDA locations. */
final class NativeLibrary {
    private final Path path;
    private final SymbolLookup lookup;

    private NativeLibrary(Path path) {
        this.path = path;
        this.lookup = SymbolLookup.libraryLookup(path, Arena.global());
    }

    Path path() { return path; }

    /** Opens the first of {@code fileNames} found in {@link #searchDirectories()}, or empty. */
    static Optional<NativeLibrary> find(String... fileNames) { return findIn(searchDirectories(), fileNames); }

    /** Opens the first of {@code fileNames} found in {@code directories}, or empty. */
    static Optional<NativeLibrary> findIn(List<Path> directories, String... fileNames) {
        for (String name : fileNames) {
            for (Path dir : directories) {
                Path p = dir.resolve(name);
                if (Files.isReadable(p)) {
                    try {
                        return Optional.of(new NativeLibrary(p));
                    } catch (IllegalArgumentException e) {
                        // present but not loadable (wrong architecture, missing dependency): try the next one
                    }
                }
            }
        }
        return Optional.empty();
    }

    /** CUDA_HOME/CUDA_PATH, LD_LIBRARY_PATH, /usr/local/cuda*, the distribution and WSL driver folders. */
    static List<Path> searchDirectories() {
        Set<Path> dirs = new LinkedHashSet<>();
        for (String env : new String[]{"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v, "lib64"));
                dirs.add(Path.of(v, "lib"));
            }
        }
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String p : ld.split(":")) if (!p.isBlank()) dirs.add(Path.of(p));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        try (var s = Files.newDirectoryStream(Path.of("/usr/local"), "cuda*")) {
            List<Path> found = new ArrayList<>();
            s.forEach(d -> found.add(d.resolve("lib64")));
            found.sort(null);
            dirs.addAll(found.reversed());   // newest version first
        } catch (Exception ignored) {
            // no /usr/local: nothing to add
        }
        dirs.add(Path.of("/usr/local/nvidia/lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        dirs.add(Path.of("/usr/lib/wsl/lib"));
        return new ArrayList<>(dirs);
    }

    MethodHandle function(String name, FunctionDescriptor descriptor) {
        return lookup.find(name)
                .map(addr -> Linker.nativeLinker().downcallHandle(addr, descriptor))
                .orElseThrow(() -> new CudaException(path + " has no function " + name));
    }

    Optional<MethodHandle> optionalFunction(String name, FunctionDescriptor descriptor) {
        return lookup.find(name).map(addr -> Linker.nativeLinker().downcallHandle(addr, descriptor));
    }
}
