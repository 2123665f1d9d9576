/* queries._ngramcount: the word and word-pair counter behind queries.dump_counts.
 *
 * Same counts as wikipedia.PythonNgramCounter (tests check they agree): the prose is cut into
 * segments at wikipedia._SEGMENT_BREAK's characters; each segment is folded (NFKC + casefold, by
 * the Python callable given at construction, except that an ASCII segment is lower-cased here:
 * ASCII casefold == ASCII lower) and its tokens are the maximal runs of characters for which
 * str.isalnum() is true (match_keys.TOKEN_RE); every token counts once, every two consecutive
 * tokens of a segment count once as the pair 'a b'.
 *
 * Why C: in Python, a token costs a str object, a dict probe and, for a pair, a joined str, so
 * tokenising and counting took most of a dump's CPU time. Here a word is interned once in an
 * open-addressing table (UTF-8 bytes in an arena, a 64-bit hash to probe, the bytes compared on a
 * hit), its count lives in an array by word id, and a pair is counted under (id, id) in a second
 * table: no object per token at all. drain() makes one Python string per distinct word and pair;
 * drain_runs(), what a spill uses, writes the run lines straight from the tables.
 *
 * sum_run_lines: the merge's sum of spilled runs (spill.sum_partition), in a table that points
 * into the runs' bytes; the same totals as spill.sum_run_lines, its Python twin.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t hash;  /* 0: empty (hashes are forced non-zero) */
    uint32_t id;
} WordSlot;

typedef struct {
    uint64_t key;  /* (first id + 1) << 32 | (second id + 1); 0: empty */
    uint64_t count;
} PairSlot;

typedef struct {
    PyObject_HEAD
    PyObject *fold;
    /* words */
    WordSlot *word_slots;
    uint64_t word_mask;
    char *arena;
    size_t arena_used, arena_size;
    size_t *word_offsets; /* word id -> offset in arena; word_offsets[n] is the end of word n-1 */
    uint64_t *word_counts;
    uint32_t words, words_capacity;
    /* pairs */
    PairSlot *pair_slots;
    uint64_t pair_mask;
    uint64_t pairs;
    /* scratch for a token's UTF-8 bytes */
    char *token;
    size_t token_size;
} Counter;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_bytes(const char *bytes, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t chunk;
        memcpy(&chunk, bytes + i, 8);
        h = mix64(h ^ chunk) * 0x9E3779B97F4A7C15ULL;
    }
    uint64_t tail = 0;
    memcpy(&tail, bytes + i, n - i);
    h = mix64(h ^ tail ^ ((uint64_t)(n - i) << 56));
    return h ? h : 1;
}

static int grow_words(Counter *c) {
    uint64_t size = (c->word_mask + 1) * 2;
    WordSlot *slots = PyMem_Calloc(size, sizeof(WordSlot));
    if (!slots) return -1;
    for (uint64_t i = 0; i <= c->word_mask; i++) {
        WordSlot s = c->word_slots[i];
        if (!s.hash) continue;
        uint64_t j = s.hash & (size - 1);
        while (slots[j].hash) j = (j + 1) & (size - 1);
        slots[j] = s;
    }
    PyMem_Free(c->word_slots);
    c->word_slots = slots;
    c->word_mask = size - 1;
    return 0;
}

static int grow_pairs(Counter *c) {
    uint64_t size = (c->pair_mask + 1) * 2;
    PairSlot *slots = PyMem_Calloc(size, sizeof(PairSlot));
    if (!slots) return -1;
    for (uint64_t i = 0; i <= c->pair_mask; i++) {
        PairSlot s = c->pair_slots[i];
        if (!s.key) continue;
        uint64_t j = mix64(s.key) & (size - 1);
        while (slots[j].key) j = (j + 1) & (size - 1);
        slots[j] = s;
    }
    PyMem_Free(c->pair_slots);
    c->pair_slots = slots;
    c->pair_mask = size - 1;
    return 0;
}

/* The id of the word `bytes` (interned on first sight), or -1 with an exception set. */
static int64_t word_id(Counter *c, const char *bytes, size_t n) {
    uint64_t h = hash_bytes(bytes, n);
    uint64_t i = h & c->word_mask;
    for (;;) {
        WordSlot *s = &c->word_slots[i];
        if (!s->hash) break;
        if (s->hash == h) {
            size_t start = c->word_offsets[s->id];
            if (c->word_offsets[s->id + 1] - start == n && memcmp(c->arena + start, bytes, n) == 0) return s->id;
        }
        i = (i + 1) & c->word_mask;
    }
    if (c->words == UINT32_MAX - 1) {
        PyErr_SetString(PyExc_OverflowError, "more than 2**32 distinct words: drain() more often");
        return -1;
    }
    if (c->arena_used + n > c->arena_size) {
        size_t size = c->arena_size * 2 + n;
        char *arena = PyMem_Realloc(c->arena, size);
        if (!arena) { PyErr_NoMemory(); return -1; }
        c->arena = arena;
        c->arena_size = size;
    }
    if (c->words + 1 >= c->words_capacity) {
        uint32_t capacity = c->words_capacity * 2;
        size_t *offsets = PyMem_Realloc(c->word_offsets, (capacity + 1) * sizeof(size_t));
        if (!offsets) { PyErr_NoMemory(); return -1; }
        c->word_offsets = offsets;
        uint64_t *counts = PyMem_Realloc(c->word_counts, capacity * sizeof(uint64_t));
        if (!counts) { PyErr_NoMemory(); return -1; }
        c->word_counts = counts;
        c->words_capacity = capacity;
    }
    uint32_t id = c->words++;
    memcpy(c->arena + c->arena_used, bytes, n);
    c->arena_used += n;
    c->word_offsets[id + 1] = c->arena_used;
    c->word_counts[id] = 0;
    c->word_slots[i].hash = h;
    c->word_slots[i].id = id;
    if ((uint64_t)c->words * 2 > c->word_mask && grow_words(c) < 0) { PyErr_NoMemory(); return -1; }
    return id;
}

static int count_pair(Counter *c, uint32_t first, uint32_t second) {
    uint64_t key = ((uint64_t)first + 1) << 32 | ((uint64_t)second + 1);
    uint64_t i = mix64(key) & c->pair_mask;
    for (;;) {
        PairSlot *s = &c->pair_slots[i];
        if (s->key == key) { s->count++; return 0; }
        if (!s->key) {
            s->key = key;
            s->count = 1;
            c->pairs++;
            if (c->pairs * 2 > c->pair_mask && grow_pairs(c) < 0) { PyErr_NoMemory(); return -1; }
            return 0;
        }
        i = (i + 1) & c->pair_mask;
    }
}

/* Counts one token of `n` UTF-8 bytes in c->token; *previous is the segment's last word id or -1. */
static int count_token(Counter *c, size_t n, int64_t *previous) {
    int64_t id = word_id(c, c->token, n);
    if (id < 0) return -1;
    c->word_counts[id]++;
    if (*previous >= 0 && count_pair(c, (uint32_t)*previous, (uint32_t)id) < 0) return -1;
    *previous = id;
    return 0;
}

static int reserve_token(Counter *c, size_t n) {
    if (n <= c->token_size) return 0;
    char *token = PyMem_Realloc(c->token, n * 2);
    if (!token) { PyErr_NoMemory(); return -1; }
    c->token = token;
    c->token_size = n * 2;
    return 0;
}

static inline int is_break(Py_UCS4 ch) {
    switch (ch) {
    case '\n': case '.': case '!': case '?': case ';': case ':': case ',': case '(': case ')':
    case '[': case ']': case '{': case '}': case '"': case '|': case 0x2013: case 0x2014:
        return 1;
    default:
        return 0;
    }
}

static inline int is_ascii_alnum(Py_UCS4 ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* Tokens of an ASCII segment text[start:end], lower-cased as they are read. */
static int64_t count_ascii_segment(Counter *c, int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    int64_t previous = -1, tokens = 0;
    Py_ssize_t i = start;
    if (reserve_token(c, (size_t)(end - start)) < 0) return -1;
    while (i < end) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!is_ascii_alnum(ch)) { i++; continue; }
        size_t n = 0;
        while (i < end && is_ascii_alnum(ch = PyUnicode_READ(kind, data, i))) {
            c->token[n++] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
            i++;
        }
        if (count_token(c, n, &previous) < 0) return -1;
        tokens++;
    }
    return tokens;
}

static size_t put_utf8(char *out, Py_UCS4 ch) {
    if (ch < 0x80) { out[0] = (char)ch; return 1; }
    if (ch < 0x800) { out[0] = (char)(0xC0 | (ch >> 6)); out[1] = (char)(0x80 | (ch & 0x3F)); return 2; }
    if (ch < 0x10000) {
        out[0] = (char)(0xE0 | (ch >> 12)); out[1] = (char)(0x80 | ((ch >> 6) & 0x3F)); out[2] = (char)(0x80 | (ch & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (ch >> 18)); out[1] = (char)(0x80 | ((ch >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((ch >> 6) & 0x3F)); out[3] = (char)(0x80 | (ch & 0x3F));
    return 4;
}

/* Tokens of a folded segment: runs of str.isalnum() characters (never a surrogate, so valid UTF-8). */
static int64_t count_folded_segment(Counter *c, PyObject *folded) {
    int kind = PyUnicode_KIND(folded);
    const void *data = PyUnicode_DATA(folded);
    Py_ssize_t end = PyUnicode_GET_LENGTH(folded), i = 0;
    int64_t previous = -1, tokens = 0;
    if (reserve_token(c, (size_t)end * 4) < 0) return -1;
    while (i < end) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (!Py_UNICODE_ISALNUM(ch)) { i++; continue; }
        size_t n = 0;
        while (i < end && Py_UNICODE_ISALNUM(ch = PyUnicode_READ(kind, data, i))) {
            n += put_utf8(c->token + n, ch);
            i++;
        }
        if (count_token(c, n, &previous) < 0) return -1;
        tokens++;
    }
    return tokens;
}

static int64_t count_segment(Counter *c, PyObject *text, int kind, const void *data, Py_ssize_t start, Py_ssize_t end, int ascii) {
    if (ascii) return count_ascii_segment(c, kind, data, start, end);
    PyObject *segment = PyUnicode_Substring(text, start, end);
    if (!segment) return -1;
    PyObject *folded = PyObject_CallOneArg(c->fold, segment);
    Py_DECREF(segment);
    if (!folded) return -1;
    if (!PyUnicode_Check(folded)) {
        PyErr_Format(PyExc_TypeError, "fold() returned %.100s, not str", Py_TYPE(folded)->tp_name);
        Py_DECREF(folded);
        return -1;
    }
    int64_t tokens = count_folded_segment(c, folded);
    Py_DECREF(folded);
    return tokens;
}

static PyObject *Counter_add(Counter *c, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "add() needs str, not %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (!c->word_slots) {
        PyErr_SetString(PyExc_RuntimeError, "NgramCounter.__init__ was not called");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), start = 0;
    int all_ascii = PyUnicode_IS_ASCII(text), ascii = 1;
    int64_t total = 0;
    for (Py_ssize_t i = 0; i <= length; i++) {
        Py_UCS4 ch = i < length ? PyUnicode_READ(kind, data, i) : '\n';
        if (is_break(ch)) {
            if (i > start) {
                int64_t tokens = count_segment(c, text, kind, data, start, i, all_ascii || ascii);
                if (tokens < 0) return NULL;
                total += tokens;
            }
            start = i + 1;
            ascii = 1;
        } else if (ch >= 0x80) {
            ascii = 0;
        }
    }
    return PyLong_FromLongLong(total);
}

static int reset(Counter *c) {
    PyMem_Free(c->word_slots);
    PyMem_Free(c->pair_slots);
    c->word_mask = (1u << 14) - 1;
    c->pair_mask = (1u << 16) - 1;
    c->word_slots = PyMem_Calloc(c->word_mask + 1, sizeof(WordSlot));
    c->pair_slots = PyMem_Calloc(c->pair_mask + 1, sizeof(PairSlot));
    c->words = 0;
    c->pairs = 0;
    c->arena_used = 0;
    if (!c->word_slots || !c->pair_slots) { PyErr_NoMemory(); return -1; }
    return 0;
}

static PyObject *word_str(Counter *c, uint32_t id) {
    size_t start = c->word_offsets[id];
    return PyUnicode_DecodeUTF8(c->arena + start, (Py_ssize_t)(c->word_offsets[id + 1] - start), "strict");
}

static int set_count(PyObject *dict, PyObject *key, uint64_t count) {
    if (!key) return -1;
    PyObject *value = PyLong_FromUnsignedLongLong(count);
    int failed = !value || PyDict_SetItem(dict, key, value) < 0;
    Py_DECREF(key);
    Py_XDECREF(value);
    return failed ? -1 : 0;
}

/* drain() -> ({word: count}, {"a b": count}), and the counter starts empty again. */
static PyObject *Counter_drain(Counter *c, PyObject *Py_UNUSED(ignored)) {
    if (!c->word_slots) {
        PyErr_SetString(PyExc_RuntimeError, "NgramCounter.__init__ was not called");
        return NULL;
    }
    PyObject *words = PyDict_New(), *pairs = PyDict_New();
    if (!words || !pairs) goto fail;
    for (uint32_t id = 0; id < c->words; id++)
        if (set_count(words, word_str(c, id), c->word_counts[id]) < 0) goto fail;
    for (uint64_t i = 0; i <= c->pair_mask; i++) {
        PairSlot s = c->pair_slots[i];
        if (!s.key) continue;
        uint32_t first = (uint32_t)(s.key >> 32) - 1, second = (uint32_t)(s.key & 0xFFFFFFFFu) - 1;
        size_t a = c->word_offsets[first], a_n = c->word_offsets[first + 1] - a;
        size_t b = c->word_offsets[second], b_n = c->word_offsets[second + 1] - b;
        if (reserve_token(c, a_n + b_n + 1) < 0) goto fail;
        memcpy(c->token, c->arena + a, a_n);
        c->token[a_n] = ' ';
        memcpy(c->token + a_n + 1, c->arena + b, b_n);
        if (set_count(pairs, PyUnicode_DecodeUTF8(c->token, (Py_ssize_t)(a_n + b_n + 1), "strict"), s.count) < 0) goto fail;
    }
    if (reset(c) < 0) goto fail;
    return Py_BuildValue("(NN)", words, pairs);
fail:
    Py_XDECREF(words);
    Py_XDECREF(pairs);
    return NULL;
}

/* CRC-32 as zlib.crc32 computes it (spill.partition_of), so C and Python spills agree on partitions. */
static uint32_t crc_table[256];

static void init_crc_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* Continues a CRC over more bytes; start from crc_update(0, ...) as zlib.crc32(data) does. */
static uint32_t crc_update(uint32_t crc, const char *bytes, size_t n) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ (unsigned char)bytes[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static size_t put_count(char *out, uint64_t count) {
    char digits[20];
    size_t n = 0;
    do { digits[n++] = (char)('0' + count % 10); count /= 10; } while (count);
    for (size_t i = 0; i < n; i++) out[i] = digits[n - 1 - i];
    return n;
}

static size_t count_digits(uint64_t count) {
    size_t n = 1;
    while (count >= 10) { count /= 10; n++; }
    return n;
}

/* A list of `partitions` bytes objects of the given sizes, or NULL. */
static PyObject *new_buckets(Py_ssize_t partitions, const size_t *sizes) {
    PyObject *list = PyList_New(partitions);
    if (!list) return NULL;
    for (Py_ssize_t p = 0; p < partitions; p++) {
        PyObject *bucket = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizes[p]);
        if (!bucket) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, p, bucket);
    }
    return list;
}

/* drain_runs(partitions) -> (word buckets, pair buckets): what spill.write_run writes for drain()'s
 * two dicts, made here without a Python object per key: bucket p holds the 'key\tcount\n' lines of
 * the keys whose crc32 % partitions == p. The counter is empty after. */
static PyObject *Counter_drain_runs(Counter *c, PyObject *arg) {
    Py_ssize_t partitions = PyLong_AsSsize_t(arg);
    if (partitions == -1 && PyErr_Occurred()) return NULL;
    if (partitions < 1) {
        PyErr_SetString(PyExc_ValueError, "partitions must be >= 1");
        return NULL;
    }
    if (!c->word_slots) {
        PyErr_SetString(PyExc_RuntimeError, "NgramCounter.__init__ was not called");
        return NULL;
    }
    PyObject *result = NULL, *words = NULL, *pairs = NULL;
    size_t *sizes = PyMem_Calloc((size_t)partitions, sizeof(size_t));
    size_t *filled = PyMem_Calloc((size_t)partitions, sizeof(size_t));
    uint32_t *word_crc = PyMem_Malloc(((size_t)c->words + 1) * sizeof(uint32_t));
    if (!sizes || !filled || !word_crc) { PyErr_NoMemory(); goto done; }

    /* words: sizes, then lines */
    for (uint32_t id = 0; id < c->words; id++) {
        size_t start = c->word_offsets[id], n = c->word_offsets[id + 1] - start;
        word_crc[id] = crc_update(0, c->arena + start, n);
        sizes[word_crc[id] % partitions] += n + 2 + count_digits(c->word_counts[id]);
    }
    if (!(words = new_buckets(partitions, sizes))) goto done;
    for (uint32_t id = 0; id < c->words; id++) {
        size_t start = c->word_offsets[id], n = c->word_offsets[id + 1] - start;
        Py_ssize_t p = word_crc[id] % partitions;
        char *out = PyBytes_AS_STRING(PyList_GET_ITEM(words, p)) + filled[p];
        memcpy(out, c->arena + start, n);
        out[n] = '\t';
        size_t digits = put_count(out + n + 1, c->word_counts[id]);
        out[n + 1 + digits] = '\n';
        filled[p] += n + 2 + digits;
    }

    /* pairs: the crc of 'a b' continues a's over ' b'. It is computed in both passes (sizes, then
     * lines) rather than kept, which would take an array the size of the table. */
    memset(sizes, 0, (size_t)partitions * sizeof(size_t));
    memset(filled, 0, (size_t)partitions * sizeof(size_t));
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i <= c->pair_mask; i++) {
            PairSlot s = c->pair_slots[i];
            if (!s.key) continue;
            uint32_t first = (uint32_t)(s.key >> 32) - 1, second = (uint32_t)(s.key & 0xFFFFFFFFu) - 1;
            size_t a = c->word_offsets[first], a_n = c->word_offsets[first + 1] - a;
            size_t b = c->word_offsets[second], b_n = c->word_offsets[second + 1] - b;
            uint32_t crc = crc_update(crc_update(word_crc[first], " ", 1), c->arena + b, b_n);
            Py_ssize_t p = crc % partitions;
            if (pass == 0) {
                sizes[p] += a_n + b_n + 3 + count_digits(s.count);
                continue;
            }
            char *out = PyBytes_AS_STRING(PyList_GET_ITEM(pairs, p)) + filled[p];
            memcpy(out, c->arena + a, a_n);
            out[a_n] = ' ';
            memcpy(out + a_n + 1, c->arena + b, b_n);
            out[a_n + 1 + b_n] = '\t';
            size_t digits = put_count(out + a_n + b_n + 2, s.count);
            out[a_n + b_n + 2 + digits] = '\n';
            filled[p] += a_n + b_n + 3 + digits;
        }
        if (pass == 0 && !(pairs = new_buckets(partitions, sizes))) goto done;
    }
    if (reset(c) < 0) goto done;
    result = PyTuple_Pack(2, words, pairs);
done:
    Py_XDECREF(words);
    Py_XDECREF(pairs);
    PyMem_Free(sizes);
    PyMem_Free(filled);
    PyMem_Free(word_crc);
    return result;
}

static Py_ssize_t Counter_len(Counter *c) { return (Py_ssize_t)(c->words + c->pairs); }

static int Counter_init(Counter *c, PyObject *args, PyObject *kwds) {
    static char *names[] = {"fold", NULL};
    PyObject *fold;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:NgramCounter", names, &fold)) return -1;
    if (!PyCallable_Check(fold)) {
        PyErr_SetString(PyExc_TypeError, "fold must be callable");
        return -1;
    }
    Py_INCREF(fold);
    Py_XSETREF(c->fold, fold);
    if (!c->arena) {
        c->arena_size = 1 << 16;
        c->arena = PyMem_Malloc(c->arena_size);
        c->words_capacity = 1 << 12;
        c->word_offsets = PyMem_Malloc((c->words_capacity + 1) * sizeof(size_t));
        c->word_counts = PyMem_Malloc(c->words_capacity * sizeof(uint64_t));
        c->token_size = 256;
        c->token = PyMem_Malloc(c->token_size);
        if (!c->arena || !c->word_offsets || !c->word_counts || !c->token) { PyErr_NoMemory(); return -1; }
        c->word_offsets[0] = 0;
    }
    return reset(c);
}

static int Counter_traverse(Counter *c, visitproc visit, void *arg) {
    Py_VISIT(c->fold);
    return 0;
}

static int Counter_clear(Counter *c) {
    Py_CLEAR(c->fold);
    return 0;
}

static void Counter_dealloc(Counter *c) {
    PyObject_GC_UnTrack(c);
    Counter_clear(c);
    PyMem_Free(c->word_slots);
    PyMem_Free(c->pair_slots);
    PyMem_Free(c->arena);
    PyMem_Free(c->word_offsets);
    PyMem_Free(c->word_counts);
    PyMem_Free(c->token);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Counter_methods[] = {
    {"add", (PyCFunction)Counter_add, METH_O, "add(prose) -> tokens counted: adds the prose's words and within-segment pairs"},
    {"drain", (PyCFunction)Counter_drain, METH_NOARGS, "drain() -> ({word: count}, {'a b': count}); the counter is empty after"},
    {"drain_runs", (PyCFunction)Counter_drain_runs, METH_O,
     "drain_runs(partitions) -> (word buckets, pair buckets): spill.write_run's partitions of drain()'s dicts"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods Counter_sequence = {.sq_length = (lenfunc)Counter_len};

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "queries._ngramcount.NgramCounter",
    .tp_basicsize = sizeof(Counter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "NgramCounter(fold): counts of words and within-segment word pairs; len() is distinct words + pairs",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Counter_init,
    .tp_dealloc = (destructor)Counter_dealloc,
    .tp_traverse = (traverseproc)Counter_traverse,
    .tp_clear = (inquiry)Counter_clear,
    .tp_methods = Counter_methods,
    .tp_as_sequence = &Counter_sequence,
};

/* sum_run_lines(chunks, min_count) -> [(key, total)]: spill.sum_partition's sum in C. `chunks`
 * are partitions of runs ('key\tcount' lines, split as bytes.splitlines splits: at \n, \r or
 * \r\n; the key is what precedes a line's last tab); the totals of the keys reaching min_count
 * come back, keys decoded from UTF-8. The table points into the chunks, so no key is copied. */
typedef struct {
    uint64_t hash;  /* 0: empty */
    const char *key;
    Py_ssize_t length;
    uint64_t count;
} SumSlot;

static int parse_count(const char *digits, Py_ssize_t n, uint64_t *count) {
    if (n < 1 || n > 19) return -1;
    uint64_t value = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (digits[i] < '0' || digits[i] > '9') return -1;
        value = value * 10 + (uint64_t)(digits[i] - '0');
    }
    *count = value;
    return 0;
}

static int grow_sums(SumSlot **slots, uint64_t *mask) {
    uint64_t size = (*mask + 1) * 2;
    SumSlot *grown = PyMem_Calloc(size, sizeof(SumSlot));
    if (!grown) return -1;
    for (uint64_t i = 0; i <= *mask; i++) {
        SumSlot s = (*slots)[i];
        if (!s.hash) continue;
        uint64_t j = s.hash & (size - 1);
        while (grown[j].hash) j = (j + 1) & (size - 1);
        grown[j] = s;
    }
    PyMem_Free(*slots);
    *slots = grown;
    *mask = size - 1;
    return 0;
}

static PyObject *sum_run_lines(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *chunks, *result = NULL;
    unsigned long long min_count;
    if (!PyArg_ParseTuple(args, "OK:sum_run_lines", &chunks, &min_count)) return NULL;
    PyObject *sequence = PySequence_Fast(chunks, "sum_run_lines() needs a list of bytes");
    if (!sequence) return NULL;
    uint64_t mask = (1u << 12) - 1, used = 0;
    SumSlot *slots = PyMem_Calloc(mask + 1, sizeof(SumSlot));
    if (!slots) { PyErr_NoMemory(); goto done; }
    Py_ssize_t chunk_count = PySequence_Fast_GET_SIZE(sequence);
    for (Py_ssize_t c = 0; c < chunk_count; c++) {
        PyObject *chunk = PySequence_Fast_GET_ITEM(sequence, c);
        if (!PyBytes_Check(chunk)) {
            PyErr_Format(PyExc_TypeError, "sum_run_lines() needs bytes, not %.100s", Py_TYPE(chunk)->tp_name);
            goto done;
        }
        const char *data = PyBytes_AS_STRING(chunk);
        Py_ssize_t size = PyBytes_GET_SIZE(chunk), start = 0;
        while (start < size) {
            Py_ssize_t end = start;
            while (end < size && data[end] != '\n' && data[end] != '\r') end++;
            Py_ssize_t tab = end - 1;
            while (tab >= start && data[tab] != '\t') tab--;
            uint64_t count;
            if (tab < start || parse_count(data + tab + 1, end - tab - 1, &count) < 0) {
                PyObject *line = PyBytes_FromStringAndSize(data + start, end - start > 200 ? 200 : end - start);
                if (line) {
                    PyErr_Format(PyExc_ValueError, "run line %R is not 'key\\tcount'", line);
                    Py_DECREF(line);
                }
                goto done;
            }
            Py_ssize_t length = tab - start;
            uint64_t h = hash_bytes(data + start, (size_t)length);
            uint64_t i = h & mask;
            for (;;) {
                SumSlot *s = &slots[i];
                if (!s->hash) {
                    s->hash = h;
                    s->key = data + start;
                    s->length = length;
                    s->count = count;
                    if (++used * 2 > mask && grow_sums(&slots, &mask) < 0) { PyErr_NoMemory(); goto done; }
                    break;
                }
                if (s->hash == h && s->length == length && memcmp(s->key, data + start, (size_t)length) == 0) {
                    s->count += count;
                    break;
                }
                i = (i + 1) & mask;
            }
            /* the next line: \r\n is one break, as bytes.splitlines reads it */
            start = (end + 1 < size && data[end] == '\r' && data[end + 1] == '\n') ? end + 2 : end + 1;
        }
    }
    result = PyList_New(0);
    if (!result) goto done;
    for (uint64_t i = 0; i <= mask; i++) {
        SumSlot s = slots[i];
        if (!s.hash || s.count < min_count) continue;
        PyObject *item = Py_BuildValue("(NK)", PyUnicode_DecodeUTF8(s.key, s.length, "strict"), (unsigned long long)s.count);
        if (!item || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(item);
    }
done:
    PyMem_Free(slots);
    Py_DECREF(sequence);
    return result;
}

static PyMethodDef module_methods[] = {
    {"sum_run_lines", (PyCFunction)sum_run_lines, METH_VARARGS,
     "sum_run_lines(chunks, min_count) -> [(key, total)] of the keys reaching min_count (spill.sum_partition's sum)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ngramcount", "C word and pair counter for queries.dump_counts, and the sum of spilled runs", -1, module_methods};

PyMODINIT_FUNC PyInit__ngramcount(void) {
    init_crc_table();
    if (PyType_Ready(&CounterType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&CounterType);
    if (PyModule_AddObject(m, "NgramCounter", (PyObject *)&CounterType) < 0) {
        Py_DECREF(&CounterType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
