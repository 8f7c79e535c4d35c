package dev.i2vgen.io.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The CLIP byte-level BPE tokenizer as transformers' {@code CLIPTokenizer} runs it inside diffusers'
 * I2VGen-XL pipeline (spec clip-vae-tokenizer.md §1): {@code <bos> tokens… <eos>}, truncated to
 * {@link #maxLength()} and right-padded with the pad token. Immutable and thread-safe.
 *
 * <p>By default it reproduces the Rust-backed ("fast") tokenizer of transformers 5, which the conformance
 * references were made with; {@link TokenizerFlavor#SLOW} gives the pure-Python one.
 */
public final class ClipTokenizer {
    private final TokenizerFlavor flavor;
    private final ClipPreTokenizer preTokenizer;
    private final BytePairEncoder bpe;
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    /** Literal tokens split off the raw text first, longest first so that the longest match wins. */
    private final List<String> literalTokens;
    private final boolean[] isLiteralId;
    private final int bosId, eosId, padId, unkId, maxLength;
    /** The folder read, for messages that name its files; null when built from a definition. */
    private final Path folder;

    private ClipTokenizer(TokenizerDefinition definition, TokenizerFlavor flavor, Path folder) {
        this.flavor = flavor;
        this.folder = folder;
        this.preTokenizer = new ClipPreTokenizer(flavor);
        this.vocab = Map.copyOf(definition.vocab());
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        this.idToToken = new String[maxId + 1];
        vocab.forEach((token, id) -> idToToken[id] = token);
        this.bosId = vocab.get(definition.bosToken());
        this.eosId = vocab.get(definition.eosToken());
        this.padId = vocab.get(definition.padToken());
        this.unkId = vocab.get(definition.unkToken());
        this.maxLength = definition.maxLength();
        this.bpe = new BytePairEncoder(vocab, definition.merges(), unkId);
        this.literalTokens = definition.addedTokens().stream()
                .filter(t -> !t.isEmpty())
                .sorted(Comparator.comparingInt(String::length).reversed()).toList();
        this.isLiteralId = new boolean[idToToken.length];
        for (String t : literalTokens) isLiteralId[vocab.get(t)] = true;
    }

    /** Loads a tokenizer folder (either layout, see {@link TokenizerFolderReader}) with the fast behaviour. */
    public static ClipTokenizer fromFolder(Path folder) {
        return fromFolder(folder, TokenizerFlavor.FAST);
    }

    public static ClipTokenizer fromFolder(Path folder, TokenizerFlavor flavor) {
        return new ClipTokenizer(TokenizerFolderReader.read(folder), flavor, folder);
    }

    public static ClipTokenizer of(TokenizerDefinition definition, TokenizerFlavor flavor) {
        return new ClipTokenizer(definition, flavor, null);
    }

    /**
     * Tokenises like {@code tokenizer(text, padding="max_length", max_length=maxLength, truncation=True)}:
     * at most {@code maxLength − 2} content tokens between bos and eos, then pad ids (mask 0) up to {@code maxLength}.
     */
    public TokenizedText encode(String text) {
        int[] content = contentIds(text);
        int kept = Math.min(content.length, maxLength - 2);
        int[] ids = new int[maxLength];
        int[] mask = new int[maxLength];
        Arrays.fill(ids, padId);
        ids[0] = bosId;
        System.arraycopy(content, 0, ids, 1, kept);
        ids[kept + 1] = eosId;
        Arrays.fill(mask, 0, kept + 2, 1);
        return new TokenizedText(ids, mask);
    }

    /**
     * Tokenises without padding or truncation ({@code bos … eos}, all mask 1), like diffusers' call that checks
     * whether the prompt was truncated.
     */
    public TokenizedText encodeUnpadded(String text) {
        int[] content = contentIds(text);
        int[] ids = new int[content.length + 2];
        ids[0] = bosId;
        System.arraycopy(content, 0, ids, 1, content.length);
        ids[ids.length - 1] = eosId;
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        return new TokenizedText(ids, mask);
    }

    /** The ids of the text alone, without bos/eos. */
    public int[] contentIds(String text) {
        if (text == null) throw new IllegalArgumentException("text must not be null");
        List<int[]> parts = new ArrayList<>();
        int total = 0;
        int start = 0;
        // Step A: literal (special/added) tokens are matched in the raw text, leftmost-longest, before normalising.
        for (int i = 0; i < text.length(); ) {
            String literal = literalAt(text, i);
            if (literal == null) {
                i++;
                continue;
            }
            total += addPlain(text.substring(start, i), parts);
            parts.add(new int[] {vocab.get(literal)});
            total++;
            i += literal.length();
            start = i;
        }
        total += addPlain(text.substring(start), parts);
        int[] ids = new int[total];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, ids, at, p.length);
            at += p.length;
        }
        return ids;
    }

    private String literalAt(String text, int index) {
        for (String t : literalTokens) if (text.startsWith(t, index)) return t;
        return null;
    }

    private int addPlain(String piece, List<int[]> parts) {
        if (piece.isEmpty()) return 0;
        int n = 0;
        for (ClipPreTokenizer.Word word : preTokenizer.words(piece)) {
            int[] ids = word.literal() ? new int[] {vocab.getOrDefault(word.symbols(), unkId)} : bpe.encodeWord(word.symbols());
            parts.add(ids);
            n += ids.length;
        }
        return n;
    }

    /**
     * Text of token ids, as transformers decodes them for the truncation warning: tokens concatenated, byte symbols
     * mapped back to UTF-8 (invalid sequences replaced), {@code </w>} → space, trimmed. Special tokens are kept as text.
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String token = tokenOf(id);
            if (isLiteralId[id]) {
                bytes.writeBytes(token.getBytes(StandardCharsets.UTF_8));
            } else {
                ByteSymbolTable.decodeInto(token, bytes);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8).replace(BytePairEncoder.END_OF_WORD, " ").strip();
    }

    /** The vocabulary token of an id. */
    public String tokenOf(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (0.." + (idToToken.length - 1) + ")"
                    + (folder == null ? "" : " of " + vocabularyFile()));
        }
        return idToToken[id];
    }

    /** One past the largest id: a text encoder's token embedding needs at least this many rows. */
    public int idBound() { return idToToken.length; }

    /** The file the vocabulary was read from ({@code tokenizer.json} or {@code vocab.json}); null if not read from a folder. */
    public Path vocabularyFile() { return folder == null ? null : TokenizerFolderReader.vocabularyFile(folder); }

    /** The file {@code model_max_length} was read from; null if not read from a folder. */
    public Path configFile() { return folder == null ? null : folder.resolve(TokenizerFolderReader.CONFIG_JSON); }

    /** BPE token strings of a text (byte symbols, {@code </w>} marking word ends), without bos/eos; for diagnostics. */
    public List<String> tokens(String text) {
        return Arrays.stream(contentIds(text)).mapToObj(this::tokenOf).toList();
    }

    public int maxLength() { return maxLength; }

    public int bosId() { return bosId; }

    public int eosId() { return eosId; }

    public int padId() { return padId; }

    public int unkId() { return unkId; }

    public int vocabSize() { return vocab.size(); }

    public TokenizerFlavor flavor() { return flavor; }
}
