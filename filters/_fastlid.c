/* filters._fastlid: fastText supervised-model inference (lid.176.ftz) without fastText's C++.
 *
 * Model(path).predict(line, k=1, threshold=0.0, on_unicode_error="strict") returns what
 * fasttext-predict's native `model.f.predict(line, k, threshold, on_unicode_error)` returns:
 * [(probability, "__label__xx"), ...], best first. Same tokens, same input rows, same tree
 * search, the same float operations in the same order where it matters (the hidden vector is
 * summed row by row, a quantized row is norm x centroid, the output scores are products then
 * sums), so the answers are fastText's bit for bit on this machine (tests/test_fastlid.py
 * compares every lid-dev line and captions_dev.tsv row; a compiler that fuses multiply-adds may
 * move the last bit).
 *
 * Why it is faster (~5x per caption, benchmarks/bench_fastlid.py): fastText reads a line through
 * an std::istream, builds an std::string for every token and every character n-gram, hashes each
 * n-gram from scratch and looks the pruned buckets up in an std::unordered_map. Here the line is
 * the str's UTF-8 buffer (no copy for ASCII), the n-gram hash of "abc" extends the hash of "ab",
 * and the model is laid out to stay in the CPU's cache (1.2 MB for lid.176.ftz, see `info`):
 * a caption's few hundred n-gram look-ups and row reads are what a prediction is bound by.
 *
 * Cascade(model, word lists, constants)(text) is filters.language.identify_cascade in C, with
 * the same LanguageGuess bit for bit: the cascade's Python around the prediction cost more than
 * the prediction (see "the cascade" near the end).
 *
 * What a model file holds (fastText's format, version 11 or 12, little-endian):
 *   int32 magic 793712314, int32 version
 *   args: int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
 *         lrUpdateRate; double t
 *   dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size; `size` entries of
 *         (NUL-terminated bytes, int64 count, int8 type: 0 word, 1 label); pruneidx_size pairs
 *         of int32 (n-gram bucket -> row among the kept n-gram rows)
 *   bool quantized input; the input matrix; bool qout; the output matrix. A dense matrix is
 *         int64 rows, int64 cols, rows x cols float32. A quantized one is bool qnorm, int64 rows,
 *         int64 cols, int32 codesize, codesize uint8 codes, a product quantizer (int32 dim,
 *         nsubq, dsub, lastdsub; dim x 256 float32 centroids), then when qnorm: rows uint8 norm
 *         codes and a 1-dimensional quantizer for the norms.
 * Quantized input rows stay codes and are decoded as they are added (see Matrix); the few
 * output rows are decoded at load, each keeping its norm apart, because fastText multiplies the
 * dot product by it at the end. A pruned model's kept n-gram rows are reordered by bucket, so a
 * bitmap with ranks finds them (see BucketBlock).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FT_MAGIC 793712314
#define FT_VERSION 12
#define KSUB 256 /* centroids per sub-quantizer */
#define LOSS_HS 1
#define LOSS_NS 2
#define LOSS_SOFTMAX 3
#define LOSS_OVA 4
#define MODEL_SUPERVISED 3
#define SIGMOID_TABLE_SIZE 512
#define MAX_SIGMOID 8
#define MAX_DIM 100000 /* sanity bounds that reject corrupt headers before any allocation */

static const char EOS[] = "</s>";
static const char LABEL_PREFIX[] = "__label__";

typedef struct {
    float score; /* log-probability */
    int32_t label;
} Scored;

/* A matrix as fastText stores it. Dense: rows x dim float32. Product-quantized: per row a
 * record of [norm code when qnorm] + one code per sub-quantizer, decoded when a row is used; at
 * 9 bytes a row of lid.176.ftz (dim 16) against 64 as float32, the input rows stay in the CPU's
 * cache, which is what a caption's few hundred scattered row reads are bound by. */
typedef struct {
    int64_t rows;
    int32_t dim;
    float *dense;
    uint8_t *records;
    int32_t stride, qnorm, nsubq, dsub, lastdsub;
    float *centroids;       /* dim x 256: sub-quantizer q's centroid c starts at q*256*dsub + c*d(q) */
    float *norm_centroids;  /* 256, when qnorm */
} Matrix;

/* The pruned n-gram buckets that kept a row, as a rank bitmap: bucket b is kept when its bit is
 * set, and its row is nwords + (kept buckets before b), the input rows having been reordered by
 * bucket at load. A block is 32 bytes (never straddles a cache line) for 192 buckets: about
 * 330 KB for lid.176's 2M buckets where a hash table of its 43k kept buckets took 1 MB. */
#define BLOCK_BUCKETS 192
typedef struct {
    uint32_t base;       /* kept buckets before this block */
    uint8_t before[2];   /* kept buckets in bits[0], and in bits[0..1] */
    uint16_t unused;
    uint64_t bits[3];
} BucketBlock;

typedef struct {
    uint32_t hash;
    int32_t id;          /* -1: empty */
} WordSlot;

typedef struct {
    PyObject_HEAD
    /* args */
    int32_t dim, word_ngrams, loss, bucket, minn, maxn;
    /* dictionary: entry i is bytes[offsets[i] .. offsets[i + 1] - 1) (NUL excluded) */
    int32_t size, nwords, nlabels;
    char *bytes;
    int64_t *offsets;
    int8_t *types;
    int64_t *counts;
    WordSlot *words;     /* open-addressing table of the entries by FNV hash */
    uint32_t word_mask;
    int32_t *subwords;   /* per entry, the input rows fastText adds for it when it is in vocab */
    int64_t *subword_start;
    /* -1: not pruned (n-gram rows are nwords + bucket); 0: no n-gram rows; > 0: see BucketBlock */
    int64_t pruneidx_size;
    int32_t (*prune_pairs)[2];  /* the file's (bucket, row) pairs until the input matrix is read */
    BucketBlock *blocks;
    void *blocks_allocation;
    uint32_t nblocks;    /* up to the last kept bucket: the buckets after it are all dropped */
    Matrix input, output;
    float *output_rows;  /* the output matrix decoded: one float32 row per label */
    float *output_norm;  /* NULL when the output's dot products are not scaled */
    float *output_by_dim;  /* the same rows transposed: dim x nlabels, for all_dots */
    int quant_input, quant_output;
    /* hierarchical softmax tree: node i < nlabels is label i; the root is 2 * nlabels - 2 */
    int32_t *tree_left, *tree_right;
    int32_t tree_depth;
    float sigmoid_table[SIGMOID_TABLE_SIZE + 1];
    PyObject **labels;   /* str per label; NULL where the bytes are not valid UTF-8 */
    PyObject *path;
    /* scratch for one prediction (the GIL is held throughout predict) */
    float *hidden, *scores;
    Scored *heap;
    Scored *stack;       /* (node, score) pairs of the tree search: label holds the node */
    int32_t *hashes;     /* token hashes of a line, for word n-grams */
    Py_ssize_t hashes_cap;
    char *token;         /* "<token>" for the n-grams of an out-of-vocabulary token */
    Py_ssize_t token_cap;
    int loaded;
} Model;

/* ------------------------------------------------------------------ reading the file */

typedef struct {
    FILE *file;
    PyObject *path;
    int64_t left;  /* bytes not read yet, -1 when unknown: sizes are checked against it before
                    * anything is allocated, so a corrupt count is "truncated", not a huge alloc */
} Reader;

static int64_t file_size(FILE *file) {
#ifdef _WIN32
    if (_fseeki64(file, 0, SEEK_END) != 0) return -1;
    int64_t size = _ftelli64(file);
    return _fseeki64(file, 0, SEEK_SET) == 0 ? size : -1;
#else
    if (fseeko(file, 0, SEEK_END) != 0) return -1;
    int64_t size = (int64_t)ftello(file);
    return fseeko(file, 0, SEEK_SET) == 0 ? size : -1;
#endif
}

static int fail(Reader *r, const char *what) {
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError, "%S is not a fastText model file: %s", r->path, what);
    return -1;
}

static int read_exact(Reader *r, void *into, size_t n, const char *what) {
    if (n && fread(into, 1, n, r->file) != n) {
        if (ferror(r->file)) {
            errno = errno ? errno : EIO;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, r->path);
            return -1;
        }
        char message[160];
        snprintf(message, sizeof message, "truncated (ends inside the %s)", what);
        return fail(r, message);
    }
    if (r->left >= 0) r->left -= (int64_t)n;
    return 0;
}

/* Fails unless `count` items of `each` bytes can still follow in the file. */
static int ensure_left(Reader *r, int64_t count, int64_t each, const char *what) {
    if (r->left >= 0 && count > 0 && (count > r->left / (each ? each : 1))) {
        char message[160];
        snprintf(message, sizeof message, "truncated (the %s needs more bytes than the file holds)", what);
        return fail(r, message);
    }
    return 0;
}

/* The file is little-endian, like every machine fastText runs on; a big-endian build would need
 * byte swaps here, and is refused at import instead (see PyInit__fastlid). */
static int read_i32(Reader *r, int32_t *v, const char *what) { return read_exact(r, v, 4, what); }
static int read_i64(Reader *r, int64_t *v, const char *what) { return read_exact(r, v, 8, what); }
static int read_bool(Reader *r, int *v, const char *what) {
    uint8_t b;
    if (read_exact(r, &b, 1, what) < 0) return -1;
    *v = b != 0;
    return 0;
}

static void *alloc(size_t count, size_t each) {
    if (each && count > SIZE_MAX / each) {
        PyErr_NoMemory();
        return NULL;
    }
    void *p = PyMem_Calloc(count ? count : 1, each ? each : 1);
    if (!p) PyErr_NoMemory();
    return p;
}

static uint32_t fnv_extend(uint32_t h, unsigned char c) {
    /* fastText's FNV-1a XORs each byte as a *signed* char (sign-extended), which its released
     * models were trained with; bytes >= 0x80 differ from textbook FNV-1a. */
    return (h ^ (uint32_t)(int32_t)(int8_t)c) * 16777619u;
}
#define FNV_OFFSET 2166136261u

static uint32_t fnv(const char *s, Py_ssize_t n) {
    uint32_t h = FNV_OFFSET;
    for (Py_ssize_t i = 0; i < n; i++) h = fnv_extend(h, (unsigned char)s[i]);
    return h;
}

static uint32_t table_size_for(int64_t n) {
    uint32_t size = 16;
    while ((int64_t)size < 2 * n) size <<= 1;
    return size;
}

static uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* The entry id of a token, or -1: fastText's dictionary look-up (an exact byte match). */
static int32_t find_word(const Model *m, const char *s, Py_ssize_t n, uint32_t h) {
    uint32_t i = mix32(h) & m->word_mask;
    for (;;) {
        WordSlot slot = m->words[i];
        if (slot.id < 0) return -1;
        if (slot.hash == h) {
            int64_t start = m->offsets[slot.id];
            if (m->offsets[slot.id + 1] - start - 1 == n && memcmp(m->bytes + start, s, (size_t)n) == 0) return slot.id;
        }
        i = (i + 1) & m->word_mask;
    }
}

static inline int popcount64(uint64_t x) {
#if defined(__GNUC__) && defined(__POPCNT__)
    return __builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* The input row of n-gram bucket `bucket`, or -1 when the pruned model dropped it. */
static inline int32_t ngram_row(const Model *m, uint32_t bucket) {
    if (m->pruneidx_size < 0) return m->nwords + (int32_t)bucket;
    if (m->pruneidx_size == 0) return -1;
    uint32_t index = bucket / BLOCK_BUCKETS;
    if (index >= m->nblocks) return -1;
    const BucketBlock *block = &m->blocks[index];
    uint32_t offset = bucket % BLOCK_BUCKETS, word = offset >> 6, bit = offset & 63;
    uint64_t bits = block->bits[word];
    if (!((bits >> bit) & 1)) return -1;
    uint32_t rank = block->base + (word ? block->before[word - 1] : 0) + popcount64(bits & ((1ULL << bit) - 1));
    return m->nwords + (int32_t)rank;
}

/* Adds input row `row` to `hidden` as fastText does: hidden[d] += row[d], where a quantized row
 * is norm x centroid (fastText's addcode with alpha = the norm; the same float products). */
static inline void add_row(const Matrix *in, float *hidden, int64_t row) {
    if (in->dense) {
        const float *v = in->dense + (size_t)row * in->dim;
        for (int32_t d = 0; d < in->dim; d++) hidden[d] += v[d];
        return;
    }
    const uint8_t *record = in->records + (size_t)row * in->stride;
    float norm = 1.0f;
    if (in->qnorm) norm = in->norm_centroids[*record++];
    int32_t dsub = in->dsub, last = in->nsubq - 1;
    for (int32_t q = 0; q < last; q++) {
        const float *c = in->centroids + ((size_t)q * KSUB + record[q]) * dsub;
        float *h = hidden + q * dsub;
        for (int32_t k = 0; k < dsub; k++) h[k] += norm * c[k];
    }
    const float *c = in->centroids + (size_t)last * KSUB * dsub + (size_t)record[last] * in->lastdsub;
    float *h = hidden + last * dsub;
    for (int32_t k = 0; k < in->lastdsub; k++) h[k] += norm * c[k];
}

/* The row of a matrix as floats without its norm, and the norm (1 without norms). */
static float decode_row(const Matrix *mat, int64_t row, float *out) {
    if (mat->dense) {
        memcpy(out, mat->dense + (size_t)row * mat->dim, (size_t)mat->dim * sizeof(float));
        return 1.0f;
    }
    memset(out, 0, (size_t)mat->dim * sizeof(float));
    Matrix unscaled = *mat;
    unscaled.qnorm = 0;
    unscaled.records = mat->records + (mat->qnorm ? 1 : 0);
    add_row(&unscaled, out, row);  /* 0 + 1 x centroid: the centroid itself */
    return mat->qnorm ? mat->norm_centroids[mat->records[(size_t)row * mat->stride]] : 1.0f;
}

/* Calls add(context, row) for each character n-gram of `word` (already wrapped in '<' '>'):
 * n-grams of minn..maxn characters, a character being a UTF-8 lead byte and its continuation
 * bytes; single characters at either end ('<', '>') are not n-grams. The hash of an n-gram
 * extends the hash of the n-gram one character shorter. */
typedef void (*row_sink)(void *context, int32_t row);

static inline void for_each_ngram(const Model *m, const char *word, Py_ssize_t size, row_sink add, void *context) {
    for (Py_ssize_t i = 0; i < size; i++) {
        if (((unsigned char)word[i] & 0xC0) == 0x80) continue;
        uint32_t h = FNV_OFFSET;
        Py_ssize_t j = i;
        for (int32_t n = 1; j < size && n <= m->maxn; n++) {
            h = fnv_extend(h, (unsigned char)word[j++]);
            while (j < size && ((unsigned char)word[j] & 0xC0) == 0x80) h = fnv_extend(h, (unsigned char)word[j++]);
            if (n >= m->minn && !(n == 1 && (i == 0 || j == size))) {
                int32_t row = ngram_row(m, h % (uint32_t)m->bucket);
                if (row >= 0) add(context, row);
            }
        }
    }
}

typedef struct {
    int32_t *rows;
    int64_t count, cap;
    int failed;
} RowList;

static void collect_row(void *context, int32_t row) {
    RowList *list = context;
    if (list->failed) return;
    if (list->count == list->cap) {
        int64_t cap = list->cap ? 2 * list->cap : 1024;
        int32_t *grown = PyMem_Realloc(list->rows, (size_t)cap * sizeof(int32_t));
        if (!grown) {
            list->failed = 1;
            return;
        }
        list->rows = grown;
        list->cap = cap;
    }
    list->rows[list->count++] = row;
}

static int load_dictionary(Model *m, Reader *r) {
    int64_t ntokens;
    if (read_i32(r, &m->size, "dictionary") < 0 || read_i32(r, &m->nwords, "dictionary") < 0 ||
        read_i32(r, &m->nlabels, "dictionary") < 0 || read_i64(r, &ntokens, "dictionary") < 0 ||
        read_i64(r, &m->pruneidx_size, "dictionary") < 0)
        return -1;
    if (m->size < 0 || m->nwords < 0 || m->nlabels < 0 || (int64_t)m->nwords + m->nlabels != m->size)
        return fail(r, "inconsistent dictionary sizes");
    if (m->nlabels == 0) return fail(r, "the dictionary holds no labels");
    if (m->pruneidx_size < -1 || m->pruneidx_size > INT32_MAX) return fail(r, "bad pruned-index size");
    /* an entry takes at least 10 bytes (NUL, count, type) */
    if (ensure_left(r, m->size, 10, "dictionary") < 0) return -1;

    m->offsets = alloc((size_t)m->size + 1, sizeof(int64_t));
    m->types = alloc((size_t)m->size, 1);
    m->counts = alloc((size_t)m->size, sizeof(int64_t));
    if (!m->offsets || !m->types || !m->counts) return -1;
    size_t cap = 1 << 16, used = 0;
    m->bytes = PyMem_Malloc(cap);
    if (!m->bytes) return PyErr_NoMemory(), -1;
    int32_t words_seen = 0;
    for (int32_t i = 0; i < m->size; i++) {
        m->offsets[i] = (int64_t)used;
        for (;;) {
            int c = getc(r->file);
            if (c == EOF) {
                if (ferror(r->file)) return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, r->path), -1;
                return fail(r, "truncated (ends inside the dictionary words)");
            }
            if (r->left > 0) r->left--;
            if (used == cap) {
                char *grown = PyMem_Realloc(m->bytes, cap * 2);
                if (!grown) return PyErr_NoMemory(), -1;
                m->bytes = grown;
                cap *= 2;
            }
            m->bytes[used++] = (char)c;
            if (c == 0) break;
        }
        if (read_i64(r, &m->counts[i], "dictionary counts") < 0 || read_exact(r, &m->types[i], 1, "dictionary") < 0)
            return -1;
        if (m->types[i] != 0 && m->types[i] != 1) return fail(r, "bad dictionary entry type");
        /* label counts shape the tree; fastText's tree building assumes them below 1e15 */
        if (m->types[i] == 1 && (m->counts[i] < 0 || m->counts[i] >= (int64_t)1e15)) return fail(r, "bad label count");
        words_seen += m->types[i] == 0;
    }
    m->offsets[m->size] = (int64_t)used;
    /* fastText sorts words before labels; label i is entry nwords + i. */
    if (words_seen != m->nwords) return fail(r, "the dictionary's word count disagrees with its entries");
    for (int32_t i = 0; i < m->size; i++)
        if (m->types[i] != (i >= m->nwords)) return fail(r, "labels are not stored after the words");

    m->word_mask = table_size_for(m->size) - 1;
    m->words = alloc((size_t)m->word_mask + 1, sizeof(WordSlot));
    if (!m->words) return -1;
    for (uint32_t i = 0; i <= m->word_mask; i++) m->words[i].id = -1;
    for (int32_t i = 0; i < m->size; i++) {
        const char *s = m->bytes + m->offsets[i];
        Py_ssize_t n = (Py_ssize_t)(m->offsets[i + 1] - m->offsets[i] - 1);
        uint32_t h = fnv(s, n);
        uint32_t slot = mix32(h) & m->word_mask;
        /* a repeated entry replaces the earlier one, as in fastText's table */
        while (m->words[slot].id >= 0) {
            int32_t other = m->words[slot].id;
            if (m->words[slot].hash == h && m->offsets[other + 1] - m->offsets[other] - 1 == n &&
                memcmp(m->bytes + m->offsets[other], s, (size_t)n) == 0)
                break;
            slot = (slot + 1) & m->word_mask;
        }
        m->words[slot].hash = h;
        m->words[slot].id = i;
    }

    if (m->pruneidx_size > 0) {
        if (ensure_left(r, m->pruneidx_size, 8, "pruned index") < 0) return -1;
        m->prune_pairs = alloc((size_t)m->pruneidx_size, sizeof *m->prune_pairs);
        if (!m->prune_pairs) return -1;
        if (read_exact(r, m->prune_pairs, (size_t)m->pruneidx_size * sizeof *m->prune_pairs, "pruned index") < 0)
            return -1;
    }
    return 0;
}

/* Reads a dense or product-quantized matrix as stored. */
static int load_matrix(Reader *r, int quantized, const char *what, int32_t dim, Matrix *mat) {
    int64_t m, n;
    mat->dim = dim;
    if (!quantized) {
        if (read_i64(r, &m, what) < 0 || read_i64(r, &n, what) < 0) return -1;
        if (m < 0 || n != dim || m > INT32_MAX) return fail(r, "bad matrix shape");
        if (ensure_left(r, m, n * (int64_t)sizeof(float), what) < 0) return -1;
        mat->rows = m;
        mat->dense = alloc((size_t)m * (size_t)n, sizeof(float));
        if (!mat->dense) return -1;
        return read_exact(r, mat->dense, (size_t)m * (size_t)n * sizeof(float), what);
    }
    int32_t codesize, pq_dim;
    if (read_bool(r, &mat->qnorm, what) < 0 || read_i64(r, &m, what) < 0 || read_i64(r, &n, what) < 0 ||
        read_i32(r, &codesize, what) < 0)
        return -1;
    if (m < 0 || n != dim || m > INT32_MAX || codesize < 0) return fail(r, "bad matrix shape");
    if (ensure_left(r, codesize, 1, what) < 0) return -1;
    mat->rows = m;
    uint8_t *codes = alloc((size_t)codesize, 1);
    int status = -1;
    if (!codes || read_exact(r, codes, (size_t)codesize, what) < 0) goto done;
    if (read_i32(r, &pq_dim, what) < 0 || read_i32(r, &mat->nsubq, what) < 0 || read_i32(r, &mat->dsub, what) < 0 ||
        read_i32(r, &mat->lastdsub, what) < 0)
        goto done;
    if (pq_dim != dim || mat->nsubq <= 0 || mat->dsub <= 0 || mat->lastdsub <= 0 || mat->lastdsub > mat->dsub ||
        (int64_t)(mat->nsubq - 1) * mat->dsub + mat->lastdsub != dim || (int64_t)codesize != m * mat->nsubq) {
        fail(r, "bad product quantizer");
        goto done;
    }
    mat->centroids = alloc((size_t)dim * KSUB, sizeof(float));
    if (!mat->centroids || read_exact(r, mat->centroids, (size_t)dim * KSUB * sizeof(float), what) < 0) goto done;
    mat->stride = mat->nsubq + (mat->qnorm ? 1 : 0);
    mat->records = alloc((size_t)m, (size_t)mat->stride);
    if (!mat->records) goto done;
    for (int64_t row = 0; row < m; row++)
        memcpy(mat->records + (size_t)row * mat->stride + (mat->qnorm ? 1 : 0), codes + (size_t)row * mat->nsubq,
               (size_t)mat->nsubq);
    if (mat->qnorm) {
        int32_t header[4];
        for (int64_t row = 0; row < m; row++)
            if (read_exact(r, mat->records + (size_t)row * mat->stride, 1, what) < 0) goto done;
        if (read_exact(r, header, sizeof header, what) < 0) goto done;
        if (header[0] != 1 || header[1] != 1 || header[2] != 1 || header[3] != 1) {
            fail(r, "bad norm quantizer");
            goto done;
        }
        mat->norm_centroids = alloc(KSUB, sizeof(float));
        if (!mat->norm_centroids || read_exact(r, mat->norm_centroids, KSUB * sizeof(float), what) < 0) goto done;
    }
    status = 0;
done:
    PyMem_Free(codes);
    return status;
}

static void free_matrix(Matrix *mat) {
    PyMem_Free(mat->dense);
    PyMem_Free(mat->records);
    PyMem_Free(mat->centroids);
    PyMem_Free(mat->norm_centroids);
    memset(mat, 0, sizeof *mat);
}

static size_t matrix_bytes(const Matrix *mat) {
    if (mat->dense) return (size_t)mat->rows * mat->dim * sizeof(float);
    return (size_t)mat->rows * mat->stride + (size_t)mat->dim * KSUB * sizeof(float) + (mat->qnorm ? KSUB * 4 : 0);
}

static int compare_pairs64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Builds the bucket bitmap from the pruned index and reorders the n-gram rows of the input
 * matrix by bucket (the row of the k-th kept bucket becomes nwords + k). */
static int index_pruned_buckets(Model *m, Reader *r) {
    Matrix *in = &m->input;
    int64_t npairs = m->pruneidx_size;
    int32_t(*pairs)[2] = m->prune_pairs;
    for (int64_t i = 0; i < npairs; i++) {
        if (pairs[i][0] < 0 || pairs[i][1] < 0) return fail(r, "negative pruned-index entry");
        if ((int64_t)m->nwords + pairs[i][1] >= in->rows) return fail(r, "a pruned-index row beyond the input matrix");
    }
    /* by bucket, equal buckets in file order (the key holds the pair's index: qsort is not
     * stable), so that the later of equal buckets wins, as in fastText's std::map */
    int64_t(*keyed)[2] = alloc((size_t)npairs, sizeof *keyed);
    if (!keyed) return -1;
    for (int64_t i = 0; i < npairs; i++) {
        keyed[i][0] = ((int64_t)pairs[i][0] << 32) | (uint32_t)i;
        keyed[i][1] = pairs[i][1];
    }
    qsort(keyed, (size_t)npairs, sizeof *keyed, compare_pairs64);
    int64_t kept = 0;
    for (int64_t i = 0; i < npairs; i++) {
        int32_t bucket = (int32_t)(keyed[i][0] >> 32);
        if (bucket >= m->bucket) continue;  /* no n-gram hashes there */
        if (i + 1 < npairs && (int32_t)(keyed[i + 1][0] >> 32) == bucket) continue;  /* a later pair wins */
        keyed[kept][0] = bucket;
        keyed[kept][1] = keyed[i][1];
        kept++;
    }
    size_t nblocks = kept ? (size_t)keyed[kept - 1][0] / BLOCK_BUCKETS + 1 : 1;
    m->nblocks = (uint32_t)nblocks;
    m->blocks_allocation = alloc(nblocks * sizeof(BucketBlock) + 64, 1);
    size_t stride = in->dense ? (size_t)in->dim * sizeof(float) : (size_t)in->stride;
    uint8_t *rows = alloc((size_t)m->nwords + (size_t)kept, stride);
    if (!m->blocks_allocation || !rows) {
        PyMem_Free(keyed);
        PyMem_Free(rows);
        return -1;
    }
    m->blocks = (BucketBlock *)(((uintptr_t)m->blocks_allocation + 63) & ~(uintptr_t)63);
    uint8_t *old = in->dense ? (uint8_t *)in->dense : in->records;
    memcpy(rows, old, (size_t)m->nwords * stride);
    for (int64_t k = 0; k < kept; k++) {
        uint32_t bucket = (uint32_t)keyed[k][0];
        BucketBlock *block = &m->blocks[bucket / BLOCK_BUCKETS];
        uint32_t offset = bucket % BLOCK_BUCKETS;
        block->bits[offset >> 6] |= 1ULL << (offset & 63);
        memcpy(rows + ((size_t)m->nwords + (size_t)k) * stride, old + ((size_t)m->nwords + (size_t)keyed[k][1]) * stride,
               stride);
    }
    uint32_t base = 0;
    for (size_t b = 0; b < nblocks; b++) {
        BucketBlock *block = &m->blocks[b];
        int first = popcount64(block->bits[0]), second = popcount64(block->bits[1]);
        block->base = base;
        block->before[0] = (uint8_t)first;
        block->before[1] = (uint8_t)(first + second);
        base += (uint32_t)(first + second + popcount64(block->bits[2]));
    }
    PyMem_Free(keyed);
    PyMem_Free(old);
    if (in->dense) in->dense = (float *)rows;
    else in->records = rows;
    in->rows = m->nwords + kept;
    PyMem_Free(m->prune_pairs);
    m->prune_pairs = NULL;
    return 0;
}

/* What fastText adds for an in-vocabulary entry: its own row, then its n-grams' rows. */
static int compute_subwords(Model *m) {
    RowList list = {0};
    m->subword_start = alloc((size_t)m->size + 1, sizeof(int64_t));
    if (!m->subword_start) return -1;
    char *wrapped = NULL;
    size_t wrapped_cap = 0;
    for (int32_t i = 0; i < m->size; i++) {
        m->subword_start[i] = list.count;
        collect_row(&list, i);
        const char *s = m->bytes + m->offsets[i];
        size_t n = (size_t)(m->offsets[i + 1] - m->offsets[i] - 1);
        if (n == sizeof EOS - 1 && memcmp(s, EOS, n) == 0) continue;
        if (m->maxn > 0 && m->bucket > 0) {
            if (n + 2 > wrapped_cap) {
                PyMem_Free(wrapped);
                wrapped_cap = n + 64;
                wrapped = PyMem_Malloc(wrapped_cap);
                if (!wrapped) {
                    PyMem_Free(list.rows);
                    return PyErr_NoMemory(), -1;
                }
            }
            wrapped[0] = '<';
            memcpy(wrapped + 1, s, n);
            wrapped[n + 1] = '>';
            for_each_ngram(m, wrapped, (Py_ssize_t)n + 2, collect_row, &list);
        }
    }
    m->subword_start[m->size] = list.count;
    PyMem_Free(wrapped);
    if (list.failed) {
        PyMem_Free(list.rows);
        return PyErr_NoMemory(), -1;
    }
    m->subwords = list.rows ? list.rows : alloc(1, sizeof(int32_t));
    return m->subwords ? 0 : -1;
}

/* fastText's Huffman tree over the label counts (sorted most frequent first). */
static int build_tree(Model *m) {
    int32_t osz = m->nlabels, nodes = 2 * osz - 1;
    int64_t *count = alloc((size_t)nodes, sizeof(int64_t));
    int32_t *parent = alloc((size_t)nodes, sizeof(int32_t));
    m->tree_left = alloc((size_t)nodes, sizeof(int32_t));
    m->tree_right = alloc((size_t)nodes, sizeof(int32_t));
    if (!count || !parent || !m->tree_left || !m->tree_right) {
        PyMem_Free(count);
        PyMem_Free(parent);
        return -1;
    }
    for (int32_t i = 0; i < nodes; i++) {
        count[i] = i < osz ? m->counts[m->nwords + i] : (int64_t)1e15;
        parent[i] = m->tree_left[i] = m->tree_right[i] = -1;
    }
    int32_t leaf = osz - 1, node = osz;
    for (int32_t i = osz; i < nodes; i++) {
        int32_t pick[2];
        for (int j = 0; j < 2; j++) pick[j] = (leaf >= 0 && count[leaf] < count[node]) ? leaf-- : node++;
        if (pick[0] >= i || pick[1] >= i) {  /* cannot happen with counts below 1e15; guards the search */
            PyMem_Free(count);
            PyMem_Free(parent);
            PyErr_SetString(PyExc_ValueError, "the label counts do not form fastText's tree");
            return -1;
        }
        m->tree_left[i] = pick[0];
        m->tree_right[i] = pick[1];
        count[i] = count[pick[0]] + count[pick[1]];
        parent[pick[0]] = parent[pick[1]] = i;
    }
    int32_t depth = 0;
    for (int32_t i = 0; i < osz; i++) {
        int32_t d = 0;
        for (int32_t j = i; parent[j] != -1 && d <= nodes; j = parent[j]) d++;
        if (d > depth) depth = d;
    }
    m->tree_depth = depth;
    PyMem_Free(count);
    PyMem_Free(parent);
    return 0;
}

static int load_model(Model *m, PyObject *path) {
    PyObject *encoded = NULL;
    if (!PyUnicode_FSConverter(path, &encoded)) return -1;
    Reader r = {NULL, path, -1};
    r.file = fopen(PyBytes_AS_STRING(encoded), "rb");
    Py_DECREF(encoded);
    if (!r.file) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        return -1;
    }
    r.left = file_size(r.file);
    int status = -1;
    int32_t magic, version, args[12];
    double t;
    if (read_i32(&r, &magic, "header") < 0) goto done;
    if (magic != FT_MAGIC) {
        fail(&r, "wrong magic number");
        goto done;
    }
    if (read_i32(&r, &version, "header") < 0) goto done;
    if (version < 11 || version > FT_VERSION) {
        PyErr_Format(PyExc_ValueError, "%S: fastText format version %d is not supported (11 or 12)", path, version);
        goto done;
    }
    if (read_exact(&r, args, sizeof args, "arguments") < 0 || read_exact(&r, &t, sizeof t, "arguments") < 0) goto done;
    m->dim = args[0];
    m->word_ngrams = args[5];
    m->loss = args[6];
    m->bucket = args[8];
    m->minn = args[9];
    m->maxn = args[10];
    if (args[7] != MODEL_SUPERVISED) {
        PyErr_Format(PyExc_ValueError, "%S is a fastText word-vector model, not a classifier: it cannot predict labels",
                     path);
        goto done;
    }
    if (version == 11) m->maxn = 0;  /* as fastText: old supervised models have no character n-grams */
    if (m->dim <= 0 || m->dim > MAX_DIM || m->loss < LOSS_HS || m->loss > LOSS_OVA || m->bucket < 0 ||
        ((m->maxn > 0 || m->word_ngrams > 1) && m->bucket == 0)) {
        fail(&r, "bad arguments");
        goto done;
    }
    if (load_dictionary(m, &r) < 0) goto done;
    if (read_bool(&r, &m->quant_input, "input matrix") < 0) goto done;
    if (load_matrix(&r, m->quant_input, "input matrix", m->dim, &m->input) < 0) goto done;
    if (!m->quant_input && m->pruneidx_size >= 0) {
        fail(&r, "a pruned dictionary with a dense input matrix (an outdated .ftz; fastText refuses it too)");
        goto done;
    }
    if (read_bool(&r, &m->quant_output, "output matrix") < 0) goto done;
    m->quant_output = m->quant_output && m->quant_input;  /* fastText reads qout only for quantized models */
    if (load_matrix(&r, m->quant_output, "output matrix", m->dim, &m->output) < 0) goto done;
    /* Every row a prediction can reach must exist. */
    if (m->input.rows < m->nwords || (m->pruneidx_size < 0 && (m->maxn > 0 || m->word_ngrams > 1) &&
                                      m->input.rows < (int64_t)m->nwords + m->bucket)) {
        fail(&r, "the input matrix has fewer rows than the dictionary needs");
        goto done;
    }
    if (m->output.rows != m->nlabels) {
        fail(&r, "the output matrix does not have one row per label");
        goto done;
    }
    if (m->pruneidx_size > 0 && index_pruned_buckets(m, &r) < 0) goto done;
    /* The output rows are few (one per label) and every prediction reads many: decode them. An
     * output row keeps its norm apart, because fastText multiplies the dot product by it. */
    m->output_rows = alloc((size_t)m->nlabels * (size_t)m->dim, sizeof(float));
    if (!m->output_rows) goto done;
    if (m->output.qnorm) {
        m->output_norm = alloc((size_t)m->nlabels, sizeof(float));
        if (!m->output_norm) goto done;
    }
    m->output_by_dim = alloc((size_t)m->nlabels * (size_t)m->dim, sizeof(float));
    if (!m->output_by_dim) goto done;
    for (int32_t i = 0; i < m->nlabels; i++) {
        float norm = decode_row(&m->output, i, m->output_rows + (size_t)i * m->dim);
        if (m->output_norm) m->output_norm[i] = norm;
        for (int32_t d = 0; d < m->dim; d++)
            m->output_by_dim[(size_t)d * m->nlabels + i] = m->output_rows[(size_t)i * m->dim + d];
    }
    if (compute_subwords(m) < 0 || build_tree(m) < 0) goto done;
    for (int i = 0; i <= SIGMOID_TABLE_SIZE; i++) {
        float x = (float)(i * 2 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE - MAX_SIGMOID;
        m->sigmoid_table[i] = (float)(1.0 / (1.0 + expf(-x)));
    }
    m->labels = alloc((size_t)m->nlabels, sizeof(PyObject *));
    m->hidden = alloc((size_t)m->dim, sizeof(float));
    m->scores = alloc((size_t)m->nlabels, sizeof(float));
    m->heap = alloc((size_t)m->nlabels + 1, sizeof(Scored));
    m->stack = alloc((size_t)m->tree_depth + 2, sizeof(Scored));
    if (!m->labels || !m->hidden || !m->scores || !m->heap || !m->stack) goto done;
    for (int32_t i = 0; i < m->nlabels; i++) {
        int32_t e = m->nwords + i;
        m->labels[i] = PyUnicode_DecodeUTF8(m->bytes + m->offsets[e], m->offsets[e + 1] - m->offsets[e] - 1, "strict");
        if (!m->labels[i]) PyErr_Clear();  /* decoded per call with the caller's error handler */
    }
    m->loaded = 1;
    status = 0;
done:
    fclose(r.file);
    return status;
}

/* ------------------------------------------------------------------ prediction */

typedef struct {
    const Matrix *input;
    float *hidden;
    int64_t rows;
} Sum;

static void sum_row(void *context, int32_t row) {
    Sum *sum = context;
    add_row(sum->input, sum->hidden, row);
    sum->rows++;
}

static float std_log(float x) { return (float)log((double)x + 1e-5); }

static float dot_output(const Model *m, int64_t row) {
    const float *w = m->output_rows + (size_t)row * m->dim;
    float sum = 0.0f;
    for (int32_t d = 0; d < m->dim; d++) sum += m->hidden[d] * w[d];
    return m->output_norm ? sum * m->output_norm[row] : sum;
}

/* std::push_heap / pop_heap / sort_heap as libstdc++ does them, ordered by "a scores higher
 * than b", so the front holds the lowest score kept and ties come out in fastText's order. */
static inline int higher(Scored a, Scored b) { return a.score > b.score; }

static void sift_up(Scored *heap, Py_ssize_t hole, Py_ssize_t top, Scored value) {
    Py_ssize_t parent = (hole - 1) / 2;
    while (hole > top && higher(heap[parent], value)) {
        heap[hole] = heap[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    heap[hole] = value;
}

static void adjust(Scored *heap, Py_ssize_t len, Scored value) {
    Py_ssize_t hole = 0, child = 0;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (higher(heap[child], heap[child - 1])) child--;
        heap[hole] = heap[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        heap[hole] = heap[child - 1];
        hole = child - 1;
    }
    sift_up(heap, hole, 0, value);
}

static void heap_push(Scored *heap, Py_ssize_t *len, Scored value) {
    heap[*len] = value;
    (*len)++;
    sift_up(heap, *len - 1, 0, value);
}

static void heap_pop(Scored *heap, Py_ssize_t *len) {  /* moves the front to the end, drops it */
    if (*len > 1) {
        Scored last = heap[*len - 1];
        heap[*len - 1] = heap[0];
        adjust(heap, *len - 1, last);
    }
    (*len)--;
}

static void heap_sort(Scored *heap, Py_ssize_t len) {
    while (len > 1) {
        len--;
        Scored last = heap[len];
        heap[len] = heap[0];
        adjust(heap, len, last);
    }
}

static void keep_best(Scored *heap, Py_ssize_t *len, Py_ssize_t k, Scored value) {
    heap_push(heap, len, value);
    if (*len > k) heap_pop(heap, len);
}

/* Hierarchical softmax: fastText's depth-first search from the root, left child first, pruning
 * subtrees whose log-probability is already below the threshold or below the k-th best leaf. */
/* Every output row's dot product with the hidden vector, into m->scores. Each sum still runs
 * over d in order, as in dot_output (so the same floats), but the rows advance side by side,
 * which the compiler turns into vector instructions: cheaper than one dot_output per node once a
 * search visits a few dozen nodes, as k > 1 does (~37 of lid.176's 175 inner nodes for k=3). */
static void all_dots(Model *m) {
    int32_t n = m->nlabels;
    float *acc = m->scores;
    for (int32_t i = 0; i < n; i++) acc[i] = 0.0f;
    for (int32_t d = 0; d < m->dim; d++) {
        float h = m->hidden[d];
        const float *w = m->output_by_dim + (size_t)d * n;
        for (int32_t i = 0; i < n; i++) acc[i] += h * w[i];
    }
    if (m->output_norm)
        for (int32_t i = 0; i < n; i++) acc[i] *= m->output_norm[i];
}

static Py_ssize_t search_tree(Model *m, Py_ssize_t k, float threshold) {
    const float floor = std_log(threshold);
    int precomputed = k > 1;  /* k = 1 visits ~5 inner nodes: one dot product each is cheaper */
    if (precomputed) all_dots(m);
    Py_ssize_t len = 0, top = 0;
    m->stack[top++] = (Scored){0.0f, 2 * m->nlabels - 2};
    while (top) {
        Scored visit = m->stack[--top];
        int32_t node = visit.label;
        if (visit.score < floor) continue;
        if (len == k && visit.score < m->heap[0].score) continue;
        if (m->tree_left[node] == -1 && m->tree_right[node] == -1) {
            keep_best(m->heap, &len, k, visit);
            continue;
        }
        float f = precomputed ? m->scores[node - m->nlabels] : dot_output(m, node - m->nlabels);
        f = (float)(1. / (double)(1.0f + expf(-f)));
        /* pushed right first so that the left subtree is searched first */
        m->stack[top++] = (Scored){visit.score + std_log(f), m->tree_right[node]};
        m->stack[top++] = (Scored){visit.score + std_log((float)(1.0 - (double)f)), m->tree_left[node]};
    }
    return len;
}

static float table_sigmoid(const Model *m, float x) {
    if (x < -MAX_SIGMOID) return 0.0f;
    if (x > MAX_SIGMOID) return 1.0f;
    return m->sigmoid_table[(int64_t)((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE / MAX_SIGMOID / 2)];
}

/* softmax, one-vs-all and negative sampling: score every label, keep the k best. */
static Py_ssize_t score_all(Model *m, Py_ssize_t k, float threshold) {
    int32_t n = m->nlabels;
    float *out = m->scores;
    all_dots(m);
    if (m->loss == LOSS_SOFTMAX) {
        float max = out[0], z = 0.0f;
        for (int32_t i = 0; i < n; i++) max = out[i] > max ? out[i] : max;
        for (int32_t i = 0; i < n; i++) {
            out[i] = (float)exp((double)(out[i] - max));
            z += out[i];
        }
        for (int32_t i = 0; i < n; i++) out[i] /= z;
    } else {
        for (int32_t i = 0; i < n; i++) out[i] = table_sigmoid(m, out[i]);
    }
    Py_ssize_t len = 0;
    for (int32_t i = 0; i < n; i++) {
        if (out[i] < threshold) continue;
        float score = std_log(out[i]);
        if (len == k && score < m->heap[0].score) continue;
        keep_best(m->heap, &len, k, (Scored){score, i});
    }
    return len;
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

static int remember_hash(Model *m, Py_ssize_t at, uint32_t h) {
    if (at == m->hashes_cap) {
        Py_ssize_t cap = m->hashes_cap ? 2 * m->hashes_cap : 64;
        int32_t *grown = PyMem_Realloc(m->hashes, (size_t)cap * sizeof(int32_t));
        if (!grown) return PyErr_NoMemory(), -1;
        m->hashes = grown;
        m->hashes_cap = cap;
    }
    m->hashes[at] = (int32_t)h;
    return 0;
}

/* Sums the input rows of a line into m->hidden as fastText's Dictionary::getLine collects them:
 * tokens split on " \n\r\t\v\f\0"; a newline ends the line with the token "</s>" (so does a
 * literal "</s>"); tokens starting with "__label__" are labels, not words; a known word adds
 * its row and its n-grams' rows, an unknown one its n-grams' rows; word n-grams come last. */
static int64_t sum_rows(Model *m, const char *text, Py_ssize_t size) {
    Sum sum = {&m->input, m->hidden, 0};
    memset(m->hidden, 0, (size_t)m->dim * sizeof(float));
    Py_ssize_t pos = 0, ntokens = 0;
    int collect_hashes = m->word_ngrams > 1;
    while (pos < size) {
        const char *token;
        Py_ssize_t n;
        unsigned char c = (unsigned char)text[pos];
        if (is_space(c)) {
            pos++;
            if (c != '\n') continue;
            token = EOS;
            n = sizeof EOS - 1;
        } else {
            Py_ssize_t start = pos;
            while (pos < size && !is_space((unsigned char)text[pos])) pos++;
            token = text + start;
            n = pos - start;
        }
        uint32_t h = fnv(token, n);
        int32_t id = find_word(m, token, n, h);
        int is_eos = n == sizeof EOS - 1 && memcmp(token, EOS, (size_t)n) == 0;
        int is_label = id >= 0 ? m->types[id] == 1
                               : (n >= (Py_ssize_t)sizeof LABEL_PREFIX - 1 &&
                                  memcmp(token, LABEL_PREFIX, sizeof LABEL_PREFIX - 1) == 0);
        if (!is_label) {
            if (id >= 0) {
                if (m->maxn <= 0) {
                    sum_row(&sum, id);
                } else {
                    for (int64_t i = m->subword_start[id]; i < m->subword_start[id + 1]; i++) sum_row(&sum, m->subwords[i]);
                }
            } else if (!is_eos && m->maxn > 0) {
                if (n + 2 > m->token_cap) {
                    Py_ssize_t cap = n + 2 > 256 ? n + 2 : 256;
                    char *grown = PyMem_Realloc(m->token, (size_t)cap);
                    if (!grown) return PyErr_NoMemory(), -1;
                    m->token = grown;
                    m->token_cap = cap;
                }
                m->token[0] = '<';
                memcpy(m->token + 1, token, (size_t)n);
                m->token[n + 1] = '>';
                for_each_ngram(m, m->token, n + 2, sum_row, &sum);
            }
            if (collect_hashes && remember_hash(m, ntokens++, h) < 0) return -1;
        }
        if (is_eos) break;
    }
    for (Py_ssize_t i = 0; i < ntokens; i++) {
        uint64_t h = (uint64_t)(int64_t)m->hashes[i];  /* sign-extended, as fastText does */
        for (Py_ssize_t j = i + 1; j < ntokens && j < i + m->word_ngrams; j++) {
            h = h * 116049371u + (uint64_t)(int64_t)m->hashes[j];
            int32_t row = ngram_row(m, (uint32_t)(h % (uint64_t)m->bucket));
            if (row >= 0) sum_row(&sum, row);
        }
    }
    if (sum.rows) {
        float scale = (float)(1.0 / (double)sum.rows);
        for (int32_t d = 0; d < m->dim; d++) m->hidden[d] *= scale;
    }
    return sum.rows;
}

/* The k best labels of a UTF-8 line at or above threshold into m->heap[0 .. found), best first;
 * -1 with an exception set. k must be in 1 .. nlabels. */
static Py_ssize_t predict_into_heap(Model *m, const char *text, Py_ssize_t size, Py_ssize_t k, float threshold) {
    Py_ssize_t found = 0;
    if (size > 0) {
        int64_t rows = sum_rows(m, text, size);
        if (rows < 0) return -1;
        if (rows > 0) found = m->loss == LOSS_HS ? search_tree(m, k, threshold) : score_all(m, k, threshold);
    }
    heap_sort(m->heap, found);
    return found;
}

static PyObject *Model_predict(Model *m, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"line", "k", "threshold", "on_unicode_error", NULL};
    PyObject *line;
    Py_ssize_t k = 1;
    float threshold = 0.0f;
    const char *errors = "strict";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|nfs:predict", keywords, &line, &k, &threshold, &errors))
        return NULL;
    if (!m->loaded) {
        PyErr_SetString(PyExc_ValueError, "the model is not loaded");
        return NULL;
    }
    if (k == -1) k = m->nlabels;
    else if (k <= 0) {
        PyErr_SetString(PyExc_ValueError, "k needs to be 1 or higher!");
        return NULL;
    }
    if (k > m->nlabels) k = m->nlabels;  /* no more answers exist; bounds the scratch heap */
    Py_ssize_t size;
    const char *text = PyUnicode_AsUTF8AndSize(line, &size);  /* lone surrogates: UnicodeEncodeError */
    if (!text) return NULL;
    Py_ssize_t found = predict_into_heap(m, text, size, k, threshold);
    if (found < 0) return NULL;
    PyObject *result = PyList_New(found);
    if (!result) return NULL;
    for (Py_ssize_t i = 0; i < found; i++) {
        int32_t label = m->heap[i].label;
        PyObject *name = m->labels[label];
        if (name) {
            Py_INCREF(name);
        } else {
            int32_t e = m->nwords + label;
            name = PyUnicode_DecodeUTF8(m->bytes + m->offsets[e], m->offsets[e + 1] - m->offsets[e] - 1, errors);
        }
        PyObject *prob = name ? PyFloat_FromDouble((double)expf(m->heap[i].score)) : NULL;
        PyObject *pair = prob ? PyTuple_Pack(2, prob, name) : NULL;
        Py_XDECREF(prob);
        Py_XDECREF(name);
        if (!pair) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, i, pair);
    }
    return result;
}

/* ------------------------------------------------------------------ the type */

static void Model_free_buffers(Model *m) {
    if (m->labels)
        for (int32_t i = 0; i < m->nlabels; i++) Py_XDECREF(m->labels[i]);
    void *buffers[] = {m->bytes, m->offsets, m->types, m->counts, m->words, m->subwords, m->subword_start,
                       m->prune_pairs, m->blocks_allocation, m->output_rows, m->output_norm, m->output_by_dim, m->tree_left,
                       m->tree_right, m->labels, m->hidden, m->scores, m->heap, m->stack, m->hashes, m->token};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) PyMem_Free(buffers[i]);
    free_matrix(&m->input);
    free_matrix(&m->output);
    Py_CLEAR(m->path);
    memset((char *)m + sizeof(PyObject), 0, sizeof(Model) - sizeof(PyObject));
}

static int Model_init(Model *m, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"path", NULL};
    PyObject *path;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:Model", keywords, &path)) return -1;
    PyObject *fspath = PyOS_FSPath(path);
    if (!fspath) return -1;
    Model_free_buffers(m);
    m->path = fspath;
    if (load_model(m, fspath) < 0) {
        Model_free_buffers(m);
        return -1;
    }
    return 0;
}

static void Model_dealloc(Model *m) {
    Model_free_buffers(m);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static PyObject *Model_info(Model *m, void *closure) {
    (void)closure;
    if (!m->loaded) Py_RETURN_NONE;
    size_t nblocks = m->blocks ? m->nblocks : 0;
    size_t bytes = matrix_bytes(&m->input) + matrix_bytes(&m->output) +
                   (size_t)m->nlabels * (2 * m->dim + (m->output_norm ? 1 : 0)) * sizeof(float) +
                   (size_t)m->offsets[m->size] + (size_t)m->size * (2 * sizeof(int64_t) + 1) +
                   ((size_t)m->word_mask + 1) * sizeof(WordSlot) + (size_t)m->subword_start[m->size] * 4 +
                   nblocks * sizeof(BucketBlock);
    static const char *losses[] = {"", "hs", "ns", "softmax", "ova"};
    return Py_BuildValue("{s:O,s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:L,s:L,s:L,s:O,s:O,s:n}", "path", m->path, "dim", m->dim,
                         "minn", m->minn, "maxn", m->maxn, "bucket", m->bucket, "word_ngrams", m->word_ngrams,
                         "nlabels", m->nlabels, "loss", losses[m->loss], "nwords", (long long)m->nwords,
                         "input_rows", (long long)m->input.rows, "pruned_ngrams",
                         (long long)(m->pruneidx_size > 0 ? m->pruneidx_size : 0), "quantized_input",
                         m->quant_input ? Py_True : Py_False, "quantized_output", m->quant_output ? Py_True : Py_False,
                         "memory_bytes", (Py_ssize_t)bytes);
}

static PyMethodDef Model_methods[] = {
    {"predict", (PyCFunction)(void (*)(void))Model_predict, METH_VARARGS | METH_KEYWORDS,
     "predict(line, k=1, threshold=0.0, on_unicode_error='strict') -> [(probability, label), ...]\n\n"
     "fastText's predict for one line: the k most probable labels at or above threshold, best first\n"
     "(k=-1: all). A newline ends the line, as in fastText."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Model_getset[] = {
    {"info", (getter)Model_info, NULL, "the model's arguments, sizes and memory (bytes)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "filters._fastlid.Model",
    .tp_basicsize = sizeof(Model),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(path): a fastText classifier (.ftz or .bin) loaded for prediction",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Model_init,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
};

/* ------------------------------------------------------------------ the cascade */

/* Cascade(...)(text) is filters.language.identify_cascade, step for step, with the same answers
 * bit for bit (tests/test_cascade_c.py compares all three fields with == on every lid-dev line,
 * the real captions and seeded random text). The Python function stays the reference and says
 * why each step is there; the comments here only say how the C matches it. What moves to C is
 * the Python around the prediction, which cost more than the prediction itself: the lowercased
 * copy's regex findall, a str per word and its set look-ups, the line preparation, the list of
 * (probability, label) tuples. */

/* Python's re class [^\W\d_] (a letter of any script) for str patterns: sre's \w is
 * Py_UNICODE_ISALNUM or '_', its \d is Py_UNICODE_ISDECIMAL. One bit per code point, filled per
 * 256-code-point block on first use (four Unicode database look-ups per code point). */
static uint8_t letter_bits[0x110000 / 8];
static uint8_t letter_block_ready[0x110000 / 256];

static void fill_letter_block(uint32_t block) {
    for (uint32_t i = 0; i < 256; i++) {
        Py_UCS4 ch = (block << 8) | i;
        if (Py_UNICODE_ISALNUM(ch) && !Py_UNICODE_ISDECIMAL(ch) && ch != '_') letter_bits[ch >> 3] |= (uint8_t)(1u << (ch & 7));
    }
    letter_block_ready[block] = 1;
}

static inline int is_letter(Py_UCS4 ch) {
    if (ch < 128) return ((ch | 32) - 'a') < 26;  /* [a-zA-Z] */
    if (ch > 0x10FFFF) return 0;
    if (!letter_block_ready[ch >> 8]) fill_letter_block(ch >> 8);
    return (letter_bits[ch >> 3] >> (ch & 7)) & 1;
}

/* The word lists as one open-addressing table over code point sequences: a word's flags say
 * which lists hold it, so one look-up answers `in vocabulary`, `in known_words` and `in rare_words` (the same
 * answers as the frozensets: str equality is code point equality). A word of up to 8 Latin-1
 * characters (most of them) is stored in its slot, so a look-up reads one cache line: with the
 * words kept apart from their slots, the three scattered reads were most of a caption's word
 * scan. Longer words are in a pool of code points. */
#define IN_VOCABULARY 1
#define IN_KNOWN 2
#define INLINE_WORD 4   /* the code points are slot.word.chars */
#define IN_RARE 8
#define SLOT_FLAG_BITS 4
#define INLINE_CHARS 8

typedef struct {
    uint32_t hash;          /* the high half of the word's hash */
    uint32_t length_flags;  /* length << 4 | IN_RARE | INLINE_WORD | IN_KNOWN | IN_VOCABULARY; 0: empty */
    union {
        uint8_t chars[INLINE_CHARS];
        uint32_t start;     /* in the pool */
    } word;
} ListSlot;

static inline uint64_t word_hash(const Py_UCS4 *s, Py_ssize_t n) {
    uint64_t h = 14695981039346656037ULL;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    return h ^ (h >> 32);
}

typedef struct {
    PyObject *lang;  /* borrowed */
    int english;     /* lang == "en" */
    double score, p_english;
} Guess;

typedef struct {
    Py_ssize_t words, vocabulary_hits, known_hits, rare_hits, letters, non_latin;
    Py_ssize_t known_only_hits;  /* in known_words, not in vocabulary */
    Py_ssize_t neutral;  /* neutral_name_count: capitalised words after the first, in neither list */
    Py_ssize_t neutral_unseen;  /* those of them not in rare_words either */
    Py_ssize_t lowercase_unseen;  /* words starting with a lowercase letter, in no list */
} WordCounts;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Model *model;
    PyTypeObject *guess_type;
    PyObject **langs;        /* per label: the label without its first 9 characters ("__label__") */
    uint8_t *lang_is_en;
    int32_t english_label;   /* the label "__label__en", -1 when the model has none */
    PyObject *en, *empty;
    PyObject *restore;       /* restore() makes this process's cascade: how a pickled one comes back */
    double vocabulary_decides, unknown_word_penalty, unseen_word_penalty;
    double pair_known_word_weight, pair_unseen_word_penalty;  /* two-word text */
    double one_word_unseen_penalty;  /* at most one lowercase word, one of them never seen */
    double names_confident;  /* NAMES_CONFIDENT: below it, a caption without a lowercase word is English */
    Py_ssize_t long_title_words;  /* LONG_TITLE_WORDS: from it, most words unknown to English are evidence; 0: off */
    double long_title_unknown_share;  /* LONG_TITLE_UNKNOWN_SHARE: "most" is more than this share */
    PyObject *second_opinion;  /* second_opinion(text) -> truthy when another detector names another language; None: off */
    double second_opinion_low, second_opinion_high;  /* SECOND_OPINION_BAND: running text scored in it is asked */
    Py_ssize_t max_chars, foreign_script_max_chars;
    Py_UCS4 *pool;
    Py_ssize_t pool_len, pool_cap;
    ListSlot *slots;
    uint32_t slot_mask;
    /* scratch for one call (the GIL is held throughout) */
    Py_UCS4 *lower, *cut;
    Py_ssize_t lower_cap, cut_cap;
    char *line;
    Py_ssize_t line_cap;
} Cascade;

static PyObject *name_lower;  /* "lower" */

static int grow(void **buffer, Py_ssize_t *cap, Py_ssize_t need, size_t each) {
    if (need <= *cap) return 0;
    Py_ssize_t wanted = need > 256 ? need : 256;
    if ((size_t)wanted > PY_SSIZE_T_MAX / each) return PyErr_NoMemory(), -1;
    void *grown = PyMem_Realloc(*buffer, (size_t)wanted * each);
    if (!grown) return PyErr_NoMemory(), -1;
    *buffer = grown;
    *cap = wanted;
    return 0;
}

/* The slot that holds the word s[0 .. n), or the empty slot where it would go. */
static inline ListSlot *list_slot(const Cascade *c, const Py_UCS4 *s, Py_ssize_t n) {
    uint64_t h = word_hash(s, n);
    uint32_t tag = (uint32_t)(h >> 32), i = (uint32_t)h & c->slot_mask;
    for (;; i = (i + 1) & c->slot_mask) {
        ListSlot *slot = &c->slots[i];
        if (!slot->length_flags) return slot;
        if (slot->hash != tag || (uint64_t)(slot->length_flags >> SLOT_FLAG_BITS) != (uint64_t)n) continue;
        Py_ssize_t k = 0;  /* words are short: a loop beats a call to memcmp */
        if (slot->length_flags & INLINE_WORD) {
            while (k < n && s[k] == slot->word.chars[k]) k++;
        } else {
            const Py_UCS4 *stored = c->pool + slot->word.start;
            while (k < n && s[k] == stored[k]) k++;
        }
        if (k == n) return slot;
    }
}

static int list_add(Cascade *c, PyObject *word, uint32_t flag, Py_UCS4 **scratch, Py_ssize_t *scratch_cap) {
    if (!PyUnicode_Check(word)) {
        PyErr_Format(PyExc_TypeError, "the word lists must hold str, not %.100s", Py_TYPE(word)->tp_name);
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    if (n > (Py_ssize_t)(UINT32_MAX >> SLOT_FLAG_BITS)) return PyErr_NoMemory(), -1;
    if (grow((void **)scratch, scratch_cap, n + 1, sizeof(Py_UCS4)) < 0) return -1;
    if (!PyUnicode_AsUCS4(word, *scratch, n + 1, 0)) return -1;
    const Py_UCS4 *s = *scratch;
    ListSlot *slot = list_slot(c, s, n);
    if (slot->length_flags) {
        slot->length_flags |= flag;
        return 0;
    }
    int in_slot = n <= INLINE_CHARS && PyUnicode_KIND(word) == PyUnicode_1BYTE_KIND;
    ListSlot added = {(uint32_t)(word_hash(s, n) >> 32), (uint32_t)n << SLOT_FLAG_BITS | flag | (in_slot ? INLINE_WORD : 0), {{0}}};
    if (in_slot) {
        for (Py_ssize_t k = 0; k < n; k++) added.word.chars[k] = (uint8_t)s[k];
    } else {
        if (c->pool_len + n > (Py_ssize_t)UINT32_MAX) return PyErr_NoMemory(), -1;
        if (grow((void **)&c->pool, &c->pool_cap, c->pool_len + n, sizeof(Py_UCS4)) < 0) return -1;
        memcpy(c->pool + c->pool_len, s, (size_t)n * sizeof(Py_UCS4));
        added.word.start = (uint32_t)c->pool_len;
        c->pool_len += n;
    }
    *slot = added;
    return 0;
}

/* The lists into a table sized for all their words at a load of at most 0.7 (probes stay short
 * and mostly in one cache line). */
static int list_build(Cascade *c, PyObject *vocabulary, PyObject *known_words, PyObject *rare_words) {
    PyObject *lists[3] = {PySequence_Fast(vocabulary, "vocabulary must be iterable"), NULL, NULL};
    if (lists[0]) lists[1] = PySequence_Fast(known_words, "known_words must be iterable");
    if (lists[1]) lists[2] = PySequence_Fast(rare_words, "rare_words must be iterable");
    int status = -1;
    Py_UCS4 *scratch = NULL;
    Py_ssize_t scratch_cap = 0;
    if (!lists[2]) goto done;
    Py_ssize_t total = PySequence_Fast_GET_SIZE(lists[0]) + PySequence_Fast_GET_SIZE(lists[1]) +
                       PySequence_Fast_GET_SIZE(lists[2]);
    uint64_t size = 1024;
    while ((double)size * 0.7 < (double)total) size <<= 1;
    if (size > (1ULL << 31)) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(c->slots = alloc((size_t)size, sizeof(ListSlot)))) goto done;
    c->slot_mask = (uint32_t)(size - 1);
    for (int l = 0; l < 3; l++) {
        uint32_t flag = l == 0 ? IN_VOCABULARY : l == 1 ? IN_KNOWN : IN_RARE;
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(lists[l]); i++)
            if (list_add(c, PySequence_Fast_GET_ITEM(lists[l], i), flag, &scratch, &scratch_cap) < 0) goto done;
    }
    status = 0;
done:
    Py_XDECREF(lists[0]);
    Py_XDECREF(lists[1]);
    Py_XDECREF(lists[2]);
    PyMem_Free(scratch);
    return status;
}

/* words_of(text) over the lowered text's code points: each match of [^\W\d_]+(?:'[^\W\d_]+)?,
 * scanning as re.findall does (a word is a maximal run of letters, so the next search starts at
 * a non-letter). Counts the words, their hits in the two lists, and for non_latin_share the
 * characters of "".join(words) and those beyond U+024F. `out`, when given, receives the words. */
static int scan_words(const Cascade *c, const Py_UCS4 *s, Py_ssize_t n, WordCounts *counts, PyObject *out,
                      const void *original, int original_kind) {
    memset(counts, 0, sizeof *counts);
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_letter(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_letter(s[i])) i++;
        if (i + 1 < n && s[i] == '\'' && is_letter(s[i + 1])) {
            i++;
            while (i < n && is_letter(s[i])) i++;
        }
        Py_ssize_t length = i - start;
        counts->words++;
        counts->letters += length;
        for (Py_ssize_t j = start; j < i; j++) counts->non_latin += s[j] > 0x24F;
        uint32_t flags = list_slot(c, s + start, length)->length_flags;
        counts->vocabulary_hits += (flags & IN_VOCABULARY) != 0;
        counts->known_hits += (flags & IN_KNOWN) != 0;
        counts->rare_hits += (flags & IN_RARE) != 0;
        counts->known_only_hits += (flags & (IN_KNOWN | IN_VOCABULARY)) == IN_KNOWN;
        if (original && counts->words > 1 && !(flags & (IN_VOCABULARY | IN_KNOWN))) {
            Py_UCS4 first = PyUnicode_READ(original_kind, original, start);
            int name = first >= 'A' && first <= 'Z';
            counts->neutral += name;
            counts->neutral_unseen += name && !(flags & IN_RARE);
        }
        if (original && !(flags & (IN_VOCABULARY | IN_KNOWN | IN_RARE)) &&
            Py_UNICODE_ISLOWER(PyUnicode_READ(original_kind, original, start))) {
            /* is_brand_style: a capital inside the first run of letters ('iPhone', not "d'Orvalle")
             * makes it a name, not an unseen word */
            int brand = 0;
            for (Py_ssize_t j = start + 1; j < i && s[j] != '\'' && !brand; j++)
                brand = Py_UNICODE_ISUPPER(PyUnicode_READ(original_kind, original, j)) != 0;
            counts->lowercase_unseen += !brand;
        }
        if (out) {
            PyObject *word = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, s + start, length);
            if (!word || PyList_Append(out, word) < 0) {
                Py_XDECREF(word);
                return -1;
            }
            Py_DECREF(word);
        }
    }
    return 0;
}

/* Matches of _LOWERCASE_WORD, (?<![^\W\d_])[^\W\d_A-Z][^\W\d_]+, in the text as given (not
 * lowered), up to `most`: the look-behind starts a match only where a run of letters starts, and
 * the match takes the whole run, so these are the runs of two or more letters whose first letter
 * is not A-Z. */
static Py_ssize_t count_lowercase_runs(PyObject *text, Py_ssize_t most, Py_ssize_t min_letters) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), count = 0, i = 0;
    while (i < n && count < most) {
        Py_UCS4 first = PyUnicode_READ(kind, data, i);
        if (!is_letter(first)) {
            i++;
            continue;
        }
        Py_ssize_t start = i++;
        while (i < n && is_letter(PyUnicode_READ(kind, data, i))) i++;
        /* a run glued to a number ('16mm', '2nd', 'f2.8') is a unit or a code: the look-behind
         * (?<![^\W_]) rejects a letter or a digit before it (only a digit can precede a run's
         * start), the look-ahead (?!\d) a digit after it */
        if (start > 0 && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, start - 1))) continue;
        if (i < n && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i))) continue; /* (?!\d) after it */
        if (i - start >= min_letters && !(first >= 'A' && first <= 'Z')) count++;
    }
    return count;
}

static Py_ssize_t count_lowercase_words(PyObject *text, Py_ssize_t most) { return count_lowercase_runs(text, most, 2); }

/* _LOWERCASE_START.search(text): a run of letters, of any length ('w', 'i'), whose first letter
 * is not A-Z. */
static int has_lowercase_start(PyObject *text) { return count_lowercase_runs(text, 1, 1) > 0; }

/* non_latin_share(text, words): 0.0 unless some character of the text is beyond U+024F, else
 * the share of the words' characters beyond it (both counts int, divided as Python does). */
static double non_latin_share(PyObject *text, const WordCounts *counts) {
    int kind = PyUnicode_KIND(text);
    if (kind == PyUnicode_1BYTE_KIND) return 0.0;  /* every character <= U+00FF */
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_UCS4 highest = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        highest = ch > highest ? ch : highest;
    }
    if (highest <= 0x24F || counts->letters == 0) return 0.0;
    return (double)counts->non_latin / (double)counts->letters;
}

static inline int is_blank(Py_UCS4 ch) { return ch == ' ' || ch == '\n'; }  /* "\n" became " " */

/* identify_fasttext's line into c->line as UTF-8: text.replace("\n", " "), head_and_tail(line,
 * limit) when longer than limit, lowercased after the cut (str.lower, whose final-sigma rule
 * depends on the neighbours, so on the cut), then "\n". Returns its size in bytes, or -1 (a lone
 * surrogate gives UnicodeEncodeError, as the predictor does). */
static Py_ssize_t prepare_line(Cascade *c, PyObject *text, Py_ssize_t limit, int lowercase) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* line = text[:head_stop] + (" " + text[tail_from:] when cut) */
    Py_ssize_t head_stop = n, tail_from = n;
    int cut = n > limit;
    if (cut) {  /* head_and_tail, index for index */
        Py_ssize_t half = limit / 2, head_end = -1, tail_start = -1;
        for (Py_ssize_t i = half - 1; i >= 0; i--)
            if (is_blank(PyUnicode_READ(kind, data, i))) {
                head_end = i;
                break;
            }
        for (Py_ssize_t i = n - half; i < n; i++)
            if (is_blank(PyUnicode_READ(kind, data, i))) {
                tail_start = i;
                break;
            }
        head_stop = head_end > half / 2 ? head_end : half;
        tail_from = 0 <= tail_start && tail_start < n - half / 2 ? tail_start + 1 : (half > 0 ? n - half : 0);  /* text[-0:] is all */
    }
    Py_ssize_t length = head_stop + (cut ? 1 + n - tail_from : 0);
    if (PyUnicode_IS_ASCII(text)) {  /* str.lower of ASCII is A-Z -> a-z */
        if (grow((void **)&c->line, &c->line_cap, length + 1, 1) < 0) return -1;
        const Py_UCS1 *bytes = PyUnicode_1BYTE_DATA(text);
        char *out = c->line;
        for (int part = 0; part < (cut ? 2 : 1); part++) {
            Py_ssize_t from = part ? tail_from : 0, to = part ? n : head_stop;
            if (part) *out++ = ' ';
            for (Py_ssize_t i = from; i < to; i++) {
                unsigned char ch = bytes[i] == '\n' ? ' ' : bytes[i];
                *out++ = (char)(lowercase && ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            }
        }
        *out++ = '\n';
        return out - c->line;
    }
    if (grow((void **)&c->cut, &c->cut_cap, length, sizeof(Py_UCS4)) < 0) return -1;
    Py_UCS4 *out = c->cut;
    for (Py_ssize_t i = 0; i < head_stop; i++) *out++ = PyUnicode_READ(kind, data, i);
    if (cut) {
        *out++ = ' ';
        for (Py_ssize_t i = tail_from; i < n; i++) *out++ = PyUnicode_READ(kind, data, i);
    }
    for (Py_ssize_t i = 0; i < length; i++)
        if (c->cut[i] == '\n') c->cut[i] = ' ';
    PyObject *line = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, c->cut, length);
    if (line && lowercase) {
        PyObject *lowered = PyObject_CallMethodNoArgs(line, name_lower);
        Py_DECREF(line);
        line = lowered;
    }
    if (!line) return -1;
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(line, &size);
    if (!utf8 || grow((void **)&c->line, &c->line_cap, size + 1, 1) < 0) {
        Py_DECREF(line);
        return -1;
    }
    memcpy(c->line, utf8, (size_t)size);
    c->line[size] = '\n';
    Py_DECREF(line);
    return size + 1;
}

/* identify_fasttext(text, lowercase, k, limit) without the LanguageGuess: no prediction is
 * UNKNOWN ("", 0.0, 0.0); else the best label, min(1.0, its probability) and min(1.0, P(en))
 * when English is among the k best, else 0.0. Probabilities are what predict returns. */
static int fasttext_guess(Cascade *c, PyObject *text, Py_ssize_t limit, int lowercase, Py_ssize_t k, Guess *guess) {
    Py_ssize_t size = prepare_line(c, text, limit, lowercase);
    if (size < 0) return -1;
    Model *m = c->model;
    if (k > m->nlabels) k = m->nlabels;
    Py_ssize_t found = predict_into_heap(m, c->line, size, k, 0.0f);
    if (found < 0) return -1;
    if (found == 0) {
        *guess = (Guess){c->empty, 0, 0.0, 0.0};
        return 0;
    }
    double english = 0.0;
    for (Py_ssize_t i = 0; i < found; i++)
        if (m->heap[i].label == c->english_label) english = (double)expf(m->heap[i].score);
    double best = (double)expf(m->heap[0].score);
    int32_t label = m->heap[0].label;
    /* min(1.0, x) in Python is 1.0 unless x < 1.0 */
    *guess = (Guess){c->langs[label], c->lang_is_en[label], best < 1.0 ? best : 1.0, english < 1.0 ? english : 1.0};
    return 0;
}

/* A LanguageGuess: the tuple subclass allocated and filled as tuple.__new__ does it, without
 * calling the namedtuple's Python __new__ (which costs more than the rest of a short caption).
 * Python 3.14 tuples cache their hash in a field that only tuple's own code may reset, so there
 * the instance is made by tuple.__new__(LanguageGuess, (lang, score, english)). */
static PyObject *make_guess(Cascade *c, PyObject *lang, double score, double english) {
    PyObject *items = PyTuple_New(3);
    if (!items) return NULL;
    Py_INCREF(lang);
    PyTuple_SET_ITEM(items, 0, lang);
    PyObject *s = PyFloat_FromDouble(score), *e = s ? PyFloat_FromDouble(english) : NULL;
    if (!e) {
        Py_XDECREF(s);
        Py_DECREF(items);
        return NULL;
    }
    PyTuple_SET_ITEM(items, 1, s);
    PyTuple_SET_ITEM(items, 2, e);
#if PY_VERSION_HEX < 0x030E0000
    PyObject *guess = c->guess_type->tp_alloc(c->guess_type, 3);
    if (!guess) {
        Py_DECREF(items);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < 3; i++) {
        PyObject *item = PyTuple_GET_ITEM(items, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(guess, i, item);
    }
    PyObject_GC_UnTrack(guess);  /* a str and two floats cannot be part of a cycle */
#else
    PyObject *args = PyTuple_Pack(1, items);
    PyObject *guess = args ? PyTuple_Type.tp_new(c->guess_type, args, NULL) : NULL;
    Py_XDECREF(args);
#endif
    Py_DECREF(items);
    return guess;
}

/* 0 when `text` is a str and the cascade is ready; -1 with an exception naming `caller`. */
static int cascade_check_call(Cascade *c, PyObject *text, const char *caller) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s needs a str, not %.100s", caller, Py_TYPE(text)->tp_name);
        return -1;
    }
    if (!c->model) {
        PyErr_SetString(PyExc_ValueError, "the cascade is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *cascade_identify(Cascade *c, PyObject *text) {
    if (cascade_check_call(c, text, "identify_cascade") < 0) return NULL;
    /* words_of: the words of text.lower() */
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    WordCounts counts;
    if (PyUnicode_IS_ASCII(text) && PyUnicode_CheckExact(text)) {
        if (grow((void **)&c->lower, &c->lower_cap, n, sizeof(Py_UCS4)) < 0) return NULL;
        const Py_UCS1 *bytes = PyUnicode_1BYTE_DATA(text);
        for (Py_ssize_t i = 0; i < n; i++) c->lower[i] = bytes[i] >= 'A' && bytes[i] <= 'Z' ? bytes[i] + 32 : bytes[i];
        scan_words(c, c->lower, n, &counts, NULL, bytes, PyUnicode_1BYTE_KIND);
    } else {
        PyObject *lowered = PyObject_CallMethodNoArgs(text, name_lower);  /* full case mapping: 'İ' -> 'i̇' */
        if (!lowered) return NULL;
        if (!PyUnicode_Check(lowered)) {
            PyErr_SetString(PyExc_TypeError, "text.lower() did not return a str");
            Py_DECREF(lowered);
            return NULL;
        }
        Py_ssize_t lower_n = PyUnicode_GET_LENGTH(lowered);
        if (grow((void **)&c->lower, &c->lower_cap, lower_n + 1, sizeof(Py_UCS4)) < 0 ||
            !PyUnicode_AsUCS4(lowered, c->lower, c->lower_cap, 0)) {
            Py_DECREF(lowered);
            return NULL;
        }
        Py_DECREF(lowered);
        /* the original letters line up with the lowered ones only where lowering kept the length */
        int aligned = lower_n == PyUnicode_GET_LENGTH(text);
        scan_words(c, c->lower, lower_n, &counts, NULL, aligned ? PyUnicode_DATA(text) : NULL, PyUnicode_KIND(text));
    }
    if (c->lower_cap > (1 << 16)) {  /* keep no megabytes from one long text */
        PyMem_Free(c->lower);
        c->lower = NULL;
        c->lower_cap = 0;
    }
    if (counts.words == 0) return make_guess(c, c->empty, 0.0, 0.0);
    double words = (double)counts.words;
    double share = (double)counts.vocabulary_hits / words;
    if (share >= c->vocabulary_decides && (counts.words >= 3 || (counts.words == 2 && share == 1.0)))
        return make_guess(c, c->en, share, share);
    double foreign_script = PyUnicode_IS_ASCII(text) ? 0.0 : non_latin_share(text, &counts);
    Guess guess;
    if (foreign_script > 0.5) {
        if (fasttext_guess(c, text, c->foreign_script_max_chars, 0, 3, &guess) < 0) return NULL;
        double most = 1.0 - foreign_script;
        return make_guess(c, guess.lang, guess.score, guess.p_english < most ? guess.p_english : most);
    }
    Py_ssize_t lowercase_words = count_lowercase_words(text, 2);
    if (lowercase_words == 2) {
        if (fasttext_guess(c, text, c->max_chars, 1, 3, &guess) < 0) return NULL;
        /* names are neutral: the shares are over the other words */
        double evidence = (double)(counts.words - counts.neutral);
        double evidence_share, unseen_weight;
        if (counts.words == 2) {
            volatile double weighted = c->pair_known_word_weight * (double)counts.known_only_hits;
            evidence_share = ((double)counts.vocabulary_hits + weighted) / evidence;
            unseen_weight = c->pair_unseen_word_penalty;
        } else {
            evidence_share = (double)counts.vocabulary_hits / evidence;
            unseen_weight = c->unseen_word_penalty;
        }
        double unknown = 1.0 - (double)counts.known_hits / evidence;
        /* words in none of the lists, names apart */
        Py_ssize_t unseen_words = counts.words - counts.known_hits - counts.rare_hits - counts.neutral_unseen;
        double unseen = (double)unseen_words / evidence;
        /* volatile: the products are rounded on their own, as in Python, never fused into a
         * multiply-add (GCC contracts across statements by default where FMA exists) */
        volatile double penalty = c->unknown_word_penalty * unknown;
        volatile double unseen_penalty = unseen_weight * unseen;
        double english = guess.p_english + evidence_share - penalty - unseen_penalty;
        english = english > 0.0 ? english : 0.0;  /* max(0.0, x): 0.0 unless x > 0.0 */
        english = english < 1.0 ? english : 1.0;
        /* uncertain running text (three or more words): a second detector's opinion */
        if (c->second_opinion && c->second_opinion != Py_None && counts.words >= 3 && c->second_opinion_low <= english &&
            english < c->second_opinion_high) {
            PyObject *answer = PyObject_CallOneArg(c->second_opinion, text);
            if (!answer) return NULL;
            int another = PyObject_IsTrue(answer);
            Py_DECREF(answer);
            if (another < 0) return NULL;
            if (another) {
                double lowered = english - (c->second_opinion_high - c->second_opinion_low);  /* below the band */
                english = lowered > 0.0 ? lowered : 0.0;
            }
        }
        return make_guess(c, guess.lang, guess.score, english);
    }
    if (fasttext_guess(c, text, c->max_chars, 0, 1, &guess) < 0) return NULL;
    if (guess.english) return make_guess(c, c->en, guess.score, 1.0);
    /* a long line most of whose words English does not know: its words are evidence */
    int long_title = c->long_title_words > 0 && counts.words >= c->long_title_words &&
                     (double)counts.known_hits < (1.0 - c->long_title_unknown_share) * (double)counts.words;
    if (!long_title && lowercase_words == 0 && guess.score < c->names_confident && !has_lowercase_start(text))
        return make_guess(c, guess.lang, guess.score, 1.0);
    volatile double foreign = guess.score * (1.0 - share);
    if (long_title || counts.lowercase_unseen) {
        double english = 1.0 - foreign - c->one_word_unseen_penalty;
        return make_guess(c, guess.lang, guess.score, english > 0.0 ? english : 0.0);
    }
    return make_guess(c, guess.lang, guess.score, 1.0 - foreign);
}

static PyObject *Cascade_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "Cascade takes exactly one argument, the text");
        return NULL;
    }
    return cascade_identify((Cascade *)self, args[0]);
}

static void Cascade_free_buffers(Cascade *c) {
    if (c->langs && c->model)
        for (int32_t i = 0; i < c->model->nlabels; i++) Py_XDECREF(c->langs[i]);
    void *buffers[] = {c->langs, c->lang_is_en, c->pool, c->slots, c->lower, c->cut, c->line};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) PyMem_Free(buffers[i]);
    Py_CLEAR(c->model);
    Py_CLEAR(c->guess_type);
    Py_CLEAR(c->en);
    Py_CLEAR(c->empty);
    Py_CLEAR(c->restore);
    Py_CLEAR(c->second_opinion);
    vectorcallfunc vectorcall = c->vectorcall;
    memset((char *)c + sizeof(PyObject), 0, sizeof(Cascade) - sizeof(PyObject));
    c->vectorcall = vectorcall;
}

static PyObject *Cascade_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    (void)args;
    (void)kwargs;
    Cascade *c = (Cascade *)type->tp_alloc(type, 0);
    if (c) c->vectorcall = Cascade_vectorcall;
    return (PyObject *)c;
}

static int Cascade_init(Cascade *c, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"model", "vocabulary", "known_words", "guess_type", "vocabulary_decides",
                               "unknown_word_penalty", "max_chars", "foreign_script_max_chars", "restore",
                               "names_confident", "rare_words", "unseen_word_penalty",
                               "pair_known_word_weight", "pair_unseen_word_penalty", "one_word_unseen_penalty",
                               "long_title_words", "long_title_unknown_share", "second_opinion",
                               "second_opinion_low", "second_opinion_high", NULL};
    Model *model;
    PyObject *vocabulary, *known_words, *restore = Py_None, *rare_words = NULL, *second_opinion = Py_None;
    PyTypeObject *guess_type;
    double vocabulary_decides, unknown_word_penalty, names_confident = 0.0, unseen_word_penalty = 0.0;
    double pair_known_word_weight = 0.0, pair_unseen_word_penalty = 0.0, one_word_unseen_penalty = 0.0;
    double long_title_unknown_share = 0.5, second_opinion_low = 0.0, second_opinion_high = 0.0;
    Py_ssize_t max_chars, foreign_script_max_chars, long_title_words = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO!ddnn|$OdOddddndOdd:Cascade", keywords, &ModelType, &model, &vocabulary,
                                     &known_words, &PyType_Type, &guess_type, &vocabulary_decides,
                                     &unknown_word_penalty, &max_chars, &foreign_script_max_chars, &restore,
                                     &names_confident, &rare_words, &unseen_word_penalty, &pair_known_word_weight,
                                     &pair_unseen_word_penalty, &one_word_unseen_penalty, &long_title_words,
                                     &long_title_unknown_share, &second_opinion, &second_opinion_low,
                                     &second_opinion_high))
        return -1;
    if (!model->loaded) {
        PyErr_SetString(PyExc_ValueError, "the model is not loaded");
        return -1;
    }
    /* allocated like a tuple: a tuple subclass that adds no fields (a NamedTuple) */
    if (!PyType_IsSubtype(guess_type, &PyTuple_Type) || guess_type->tp_basicsize != PyTuple_Type.tp_basicsize ||
        guess_type->tp_itemsize != PyTuple_Type.tp_itemsize || guess_type->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "guess_type must be a NamedTuple (a tuple subclass without fields of its own)");
        return -1;
    }
    if (restore != Py_None && !PyCallable_Check(restore)) {
        PyErr_SetString(PyExc_TypeError, "restore must be callable or None");
        return -1;
    }
    if (second_opinion != Py_None && !PyCallable_Check(second_opinion)) {
        PyErr_SetString(PyExc_TypeError, "second_opinion must be callable or None");
        return -1;
    }
    if (max_chars < 1 || foreign_script_max_chars < 1) {
        PyErr_SetString(PyExc_ValueError, "max_chars and foreign_script_max_chars must be 1 or more");
        return -1;
    }
    if (long_title_words < 0) {
        PyErr_SetString(PyExc_ValueError, "long_title_words must be 0 (off) or more");
        return -1;
    }
    Cascade_free_buffers(c);
    Py_INCREF(model);
    c->model = model;
    Py_INCREF(guess_type);
    c->guess_type = guess_type;
    Py_INCREF(restore);
    c->restore = restore;
    c->vocabulary_decides = vocabulary_decides;
    c->unknown_word_penalty = unknown_word_penalty;
    c->unseen_word_penalty = unseen_word_penalty;
    c->pair_known_word_weight = pair_known_word_weight;
    c->pair_unseen_word_penalty = pair_unseen_word_penalty;
    c->one_word_unseen_penalty = one_word_unseen_penalty;
    c->names_confident = names_confident;
    c->long_title_words = long_title_words;
    c->long_title_unknown_share = long_title_unknown_share;
    Py_INCREF(second_opinion);
    c->second_opinion = second_opinion;
    c->second_opinion_low = second_opinion_low;
    c->second_opinion_high = second_opinion_high;
    c->max_chars = max_chars;
    c->foreign_script_max_chars = foreign_script_max_chars;
    c->en = PyUnicode_InternFromString("en");
    c->empty = PyUnicode_FromStringAndSize(NULL, 0);
    c->langs = alloc((size_t)model->nlabels, sizeof(PyObject *));
    c->lang_is_en = alloc((size_t)model->nlabels, 1);
    if (!c->en || !c->empty || !c->langs || !c->lang_is_en) goto error;
    c->english_label = -1;
    for (int32_t i = 0; i < model->nlabels; i++) {
        PyObject *label = model->labels[i];
        if (!label) {
            PyErr_SetString(PyExc_ValueError, "a label of the model is not valid UTF-8");
            goto error;
        }
        c->langs[i] = PyUnicode_Substring(label, 9, PyUnicode_GET_LENGTH(label));  /* label[9:] */
        if (!c->langs[i]) goto error;
        c->lang_is_en[i] = PyUnicode_CompareWithASCIIString(c->langs[i], "en") == 0;
        if (PyUnicode_CompareWithASCIIString(label, "__label__en") == 0) c->english_label = i;
    }
    PyObject *no_words = rare_words ? NULL : PyTuple_New(0);
    if (!rare_words && !no_words) goto error;
    int built = list_build(c, vocabulary, known_words, rare_words ? rare_words : no_words);
    Py_XDECREF(no_words);
    if (built < 0) goto error;
    return 0;
error:
    Cascade_free_buffers(c);
    return -1;
}

static void Cascade_dealloc(Cascade *c) {
    PyObject_GC_UnTrack(c);
    Cascade_free_buffers(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

/* restore is a Python function, whose module can hold this cascade: a cycle for the collector */
static int Cascade_traverse(Cascade *c, visitproc visit, void *arg) {
    Py_VISIT(c->restore);
    Py_VISIT(c->second_opinion);
    Py_VISIT(c->guess_type);
    return 0;
}

static int Cascade_clear(Cascade *c) {
    Py_CLEAR(c->restore);
    Py_CLEAR(c->second_opinion);
    return 0;
}

/* Pickled by reference, as the Python function it replaces is: a Beam worker unpickling a
 * FilterChain calls restore() and gets its own process's cascade, models loaded there. */
static PyObject *Cascade_reduce(Cascade *c, PyObject *unused) {
    (void)unused;
    if (!c->restore || c->restore == Py_None) {
        PyErr_SetString(PyExc_TypeError, "cannot pickle a Cascade made without restore=");
        return NULL;
    }
    return Py_BuildValue("(O())", c->restore);
}

static PyObject *Cascade_words(Cascade *c, PyObject *text) {
    if (cascade_check_call(c, text, "words") < 0) return NULL;
    PyObject *lowered = PyObject_CallMethodNoArgs(text, name_lower);
    if (!lowered) return NULL;
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(lowered);
    Py_ssize_t n = PyUnicode_GET_LENGTH(lowered);
    Py_DECREF(lowered);
    if (!s) return NULL;
    PyObject *out = PyList_New(0);
    WordCounts counts;
    if (out && scan_words(c, s, n, &counts, out, NULL, 0) < 0) Py_CLEAR(out);
    PyMem_Free(s);
    return out;
}

static PyObject *Cascade_lowercase_words(Cascade *c, PyObject *text) {
    (void)c;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "lowercase_words needs a str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    return PyLong_FromSsize_t(count_lowercase_words(text, PY_SSIZE_T_MAX));
}

static PyMethodDef Cascade_methods[] = {
    {"__reduce__", (PyCFunction)Cascade_reduce, METH_NOARGS, "pickled as restore()"},
    {"words", (PyCFunction)Cascade_words, METH_O, "words(text) -> list[str]: filters.language.words_of(text), for tests"},
    {"lowercase_words", (PyCFunction)Cascade_lowercase_words, METH_O,
     "lowercase_words(text) -> int: the matches of filters.language._LOWERCASE_WORD, for tests"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CascadeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "filters._fastlid.Cascade",
    .tp_basicsize = sizeof(Cascade),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Cascade(model, vocabulary, known_words, guess_type, vocabulary_decides, unknown_word_penalty, max_chars,\n"
              "        foreign_script_max_chars, *, restore=None, names_confident=0.0, rare_words=(),\n"
              "        unseen_word_penalty=0.0, pair_known_word_weight=0.0, pair_unseen_word_penalty=0.0,\n"
              "        one_word_unseen_penalty=0.0, long_title_words=0, long_title_unknown_share=0.5,\n"
              "        second_opinion=None, second_opinion_low=0.0, second_opinion_high=0.0)(text)\n"
              "    -> guess_type(lang, score, english)\n\n"
              "filters.language.identify_cascade in C, with the same answers bit for bit.",
    .tp_new = Cascade_new,
    .tp_init = (initproc)Cascade_init,
    .tp_dealloc = (destructor)Cascade_dealloc,
    .tp_traverse = (traverseproc)Cascade_traverse,
    .tp_clear = (inquiry)Cascade_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Cascade, vectorcall),
    .tp_methods = Cascade_methods,
};

static PyObject *letter_class(PyObject *module, PyObject *unused) {
    (void)module;
    (void)unused;
    for (uint32_t block = 0; block < 0x110000 / 256; block++)
        if (!letter_block_ready[block]) fill_letter_block(block);
    uint8_t ascii[16] = {0};
    for (Py_UCS4 ch = 0; ch < 128; ch++)
        if (is_letter(ch)) ascii[ch >> 3] |= (uint8_t)(1u << (ch & 7));
    PyObject *bits = PyBytes_FromStringAndSize((const char *)letter_bits, sizeof letter_bits);
    if (bits) memcpy(PyBytes_AS_STRING(bits), ascii, sizeof ascii);  /* the ASCII rule the scan uses */
    return bits;
}

static PyMethodDef module_methods[] = {
    {"letter_class", letter_class, METH_NOARGS,
     "letter_class() -> bytes: bit c (byte c // 8, bit c % 8) is set when the cascade counts code point c as a\n"
     "letter (re's [^\\W\\d_]), for tests"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastlid", "fastText classifier inference and the language cascade in C", -1, module_methods};

PyMODINIT_FUNC PyInit__fastlid(void) {
    const uint32_t probe = 1;
    if (*(const uint8_t *)&probe != 1) {
        PyErr_SetString(PyExc_ImportError, "filters._fastlid reads fastText files as little-endian only");
        return NULL;
    }
    if (PyType_Ready(&ModelType) < 0 || PyType_Ready(&CascadeType) < 0) return NULL;
    if (!name_lower && !(name_lower = PyUnicode_InternFromString("lower"))) return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (!mod) return NULL;
    Py_INCREF(&ModelType);
    if (PyModule_AddObject(mod, "Model", (PyObject *)&ModelType) < 0) {
        Py_DECREF(&ModelType);
        Py_DECREF(mod);
        return NULL;
    }
    Py_INCREF(&CascadeType);
    if (PyModule_AddObject(mod, "Cascade", (PyObject *)&CascadeType) < 0) {
        Py_DECREF(&CascadeType);
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
